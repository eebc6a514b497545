"""The server's side of monitoring: its tables (queries, SDV marks, locks) and the state a push acts
on (`state.ServerMonitoring`, reached as `BatchApplier.monitoring()`). No router: queries, SDV and
locks travel as events through push and pull like any data."""
