"""Crash-anywhere restart: the kernel's state folded from its journal, snapshots and projections.

Start-up rebuilds the state from the newest usable snapshot plus the journal's tail (`recover_latest`;
an unusable snapshot is skipped with a warning, the journal being the truth), hands it
to the engines (`wire_kernel(..., recovered=state)`), and reconciles with the venue.
"""

from application.recovery.kernel_state import (
    FillTotal,
    InconsistentJournalError,
    JournalSequenceError,
    KernelState,
    RecoveryInterruptedError,
    SnapshotError,
    StateChange,
    fold,
    recover,
)
from application.recovery.projector import KernelProjector
from application.recovery.snapshot_choice import Recovered, SkippedSnapshot, SnapshotCandidate, recover_latest

__all__ = [
    "FillTotal",
    "InconsistentJournalError",
    "JournalSequenceError",
    "KernelProjector",
    "KernelState",
    "Recovered",
    "RecoveryInterruptedError",
    "SkippedSnapshot",
    "SnapshotCandidate",
    "SnapshotError",
    "StateChange",
    "fold",
    "recover",
    "recover_latest",
]
