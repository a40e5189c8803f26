"""Benchmarks of the seizure registry (not tests): `python -m bench`, see bench/README.md."""
