"""Runtimes that deliver messages to the engines.

- `bus`: the `Bus` and `Handler` protocols;
- `deterministic_runtime`: one thread, one FIFO queue, a simulated clock (replay, tests);
- `kernel_wiring`: builds the engines and registers them with a runtime;
- `journal_encoding`: canonical bytes of journal records and the journal's sha256.

(Nothing is imported here: the engines import `bus`, and `kernel_wiring` imports the engines.)
"""
