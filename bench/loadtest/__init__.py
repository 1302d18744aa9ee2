"""Load and fault test: many members at once, things breaking, and nothing lost.

`python -m bench.loadtest --minutes 5` starts a private PostgreSQL cluster, seeds it,
serves the app with gunicorn (4 workers), drives a mix of traffic from this process while
injecting faults (worker kills, a database restart, a webhook burst, disconnecting
clients), then checks every registered invariant and prints a report.
"""
