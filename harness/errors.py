"""The one exception type users see: a message that names what is wrong and how to fix it."""


class HarnessError(Exception):
    """A user-facing error (bad input, missing data). The CLI prints it without a traceback."""
