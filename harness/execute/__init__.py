"""Execution: where the planned units run and who writes their results.

`base` (the unit, its outcome and events, the execution options, the Executor protocol), `executors` (the
registered executor kinds: serial, local, ray; one module each), `driver` (run_grid: skips finished units, hands the
rest to an executor and writes every outcome), `unit` (one unit in a worker, with out-of-memory back-off), `probe`
(what every node of a cluster must see) and `search` (running hyperparameter searches' trials).
"""
