"""One module per `losscheck` command, named as the command; each has `run(args) -> exit code`."""
