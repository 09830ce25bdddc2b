"""Logging filters (no Django imports: logging is configured before the apps load)."""
import logging


class NoTracebackFor403(logging.Filter):
    """A 403 is an expected answer (a role too low), not a fault: keep its one warning line, drop the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
