"""Development tooling, not shipped in the wheel: benchmarks, the load and fault test, the
test-server and throwaway-database plumbing, localstripe and the `make run` dev server.

Run from the project's root (e.g. `python -m bench.rules`): `bench` is not installed.
"""
