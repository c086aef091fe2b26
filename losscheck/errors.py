"""UsageError: the target or the arguments cannot be used. The CLI prints its one line and exits 2."""


class UsageError(Exception):
    pass
