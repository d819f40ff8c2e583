"""Cairn benchmarks against wandb, DVC and MLflow (issue 9). Not part of the tests.

Run ``python -m bench --quick`` (under 3 minutes) or ``python -m bench`` (every job);
``bench/README.md`` holds the results and where the time goes.
"""
