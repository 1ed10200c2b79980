"""Tests of the running agent's parts: systemd's notify protocol and the unit files."""
