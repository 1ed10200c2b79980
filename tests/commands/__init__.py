"""Tests of the operator's commands: doctor, review, export/import, status, print-test,
and the demo.
"""
