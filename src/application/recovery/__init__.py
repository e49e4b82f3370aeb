"""Crash-anywhere restart: the kernel's state folded from its journal, snapshots and projections.

Start-up rebuilds the state from the latest snapshot plus the journal's tail (`recover`), hands it
to the engines (`wire_kernel(..., recovered=state)`), and reconciles with the venue.
"""

from application.recovery.kernel_state import (
    FillTotal,
    InconsistentJournalError,
    JournalSequenceError,
    KernelState,
    SnapshotError,
    StateChange,
    fold,
    recover,
)
from application.recovery.projector import KernelProjector

__all__ = [
    "FillTotal",
    "InconsistentJournalError",
    "JournalSequenceError",
    "KernelProjector",
    "KernelState",
    "SnapshotError",
    "StateChange",
    "fold",
    "recover",
]
