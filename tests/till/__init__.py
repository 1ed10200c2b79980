"""Tests of the sale at the till, against the real sandbox and a real journal."""
