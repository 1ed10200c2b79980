"""Tests of the outbox and its handlers, on real journals against the sandbox."""
