"""Diagnosis: naming the mistake or the convention behind a value disagreement."""
