"""Tests of the log lines and the POS screen's events."""
