"""Tests of the configuration and its messages."""
