"""Tests of the hardware drivers on pseudo-terminals and the TCP virtual printer."""
