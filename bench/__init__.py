"""Benchmarks of the build and of deployments: `python3 tasks.py bench` (or `python -m bench` in .venv)."""
