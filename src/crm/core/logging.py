"""Logging set-up: one line per record, with the request id of the request being served."""

from __future__ import annotations

import logging

from crm.core.middleware import request_id_var


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
    )
    root = logging.getLogger("crm")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
