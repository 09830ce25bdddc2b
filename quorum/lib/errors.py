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

    def __init__(self, *, file: str, line: int | None, reason: str, column: int | None = None, unit: str = "line"):
        # ``unit``: what ``line`` counts ("record" for the entries of a JSON array file)
        where = f"{file}, {unit} {line}" if line is not None else file
        where += f", column {column}" if column is not None else ""
        super().__init__(f"{where}: {reason}")
        self.file, self.line, self.reason, self.column = file, line, reason, column


MAX_SHOWN = 20


def problem_list(nothing_was: str, lines, count: int) -> str:
    """"Nothing was <nothing_was>: 3 problems found." then the first MAX_SHOWN of ``lines`` (an iterable of
    ``count`` messages, read no further) and how many more there are."""
    shown = "\n".join(line for _, line in zip(range(MAX_SHOWN), lines, strict=False))
    more = f"\n… and {count - MAX_SHOWN} more" if count > MAX_SHOWN else ""
    return f"Nothing was {nothing_was}: {count} problem{'' if count == 1 else 's'} found.\n{shown}{more}"


class ImportErrors(QuorumError):
    """Every problem found while validating one import; nothing was written."""

    code = "import_invalid"

    def __init__(self, errors: list[ImportRowError]):
        super().__init__(problem_list("imported", (e.message for e in errors), len(errors)))
        self.errors = errors


class Conflict(QuorumError):
    status = 409
    code = "conflict"


class NotAllowed(QuorumError):
    status = 403
    code = "permission_denied"
