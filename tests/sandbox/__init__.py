"""Tests of the sandbox Register API over real loopback HTTP."""
