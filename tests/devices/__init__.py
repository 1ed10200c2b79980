"""Tests of the scan pipeline and the readers' and printer's settings and wiring."""
