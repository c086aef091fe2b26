"""UsageError: the target or the arguments cannot be used. The CLI prints its one line and exits 2."""


class UsageError(Exception):
    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))  # always one line, whatever the candidate raised
