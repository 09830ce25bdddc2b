"""The application's error types: services raise them, views and the API turn them into messages."""


class QuorumError(Exception):
    """Base class: ``message`` is shown to the user as it is, so it says what, where and how to fix."""

    status = 400
    code = "invalid"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ImportRowError(QuorumError):
    code = "import_invalid"

    def __init__(self, *, file: str, line: int | None, reason: str, column: int | None = None):
        where = f"{file}, line {line}" if line is not None else file
        where += f", column {column}" if column is not None else ""
        super().__init__(f"{where}: {reason}")
        self.file, self.line, self.reason, self.column = file, line, reason, column


class ImportErrors(QuorumError):
    """Every problem found while validating one import; nothing was written."""

    code = "import_invalid"
    MAX_SHOWN = 20

    def __init__(self, errors: list[ImportRowError]):
        shown = "\n".join(e.message for e in errors[: self.MAX_SHOWN])
        more = f"\n… and {len(errors) - self.MAX_SHOWN} more" if len(errors) > self.MAX_SHOWN else ""
        super().__init__(f"Nothing was imported: {len(errors)} problem(s) found.\n{shown}{more}")
        self.errors = errors


class Conflict(QuorumError):
    status = 409
    code = "conflict"


class NotAllowed(QuorumError):
    status = 403
    code = "permission_denied"
