"""The judge: never runs candidate code. It draws inputs, runs the references and compares."""
