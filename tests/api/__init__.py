"""Tests of the local API over real loopback HTTP."""
