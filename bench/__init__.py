"""Benchmarks of register-agent; ``python -m bench`` runs them and prints the table that
``bench/README.md`` keeps. Every figure is a ratio against a baseline measured in the same
run, because these machines are noisy."""
