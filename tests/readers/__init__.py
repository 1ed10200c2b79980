"""Tests of the card readers as the core knows them: the scan pipeline, the reader loop
and their settings."""
