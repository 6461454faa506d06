"""The launcher's one error type."""


class DevStackError(RuntimeError):
    """Something the launcher needs is missing or failed; the message says what to do."""
