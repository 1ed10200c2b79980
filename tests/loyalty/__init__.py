"""Tests of the Register API client, scripted and against the sandbox over loopback."""
