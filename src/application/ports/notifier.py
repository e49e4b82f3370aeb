"""The notifier port: how the kernel tells a human that something needs attention."""

from __future__ import annotations

import enum
from typing import Protocol


class Severity(enum.Enum):
    """How urgent a notification is."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"  # trading halted, orders canceled, a discrepancy found


class Notifier(Protocol):
    """Delivers notifications (a log, a chat message, a pager)."""

    def notify(self, severity: Severity, message: str) -> None:
        """Deliver one notification; must not raise."""
        ...
