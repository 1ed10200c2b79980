"""The operator's commands beside ``run``: doctor, review, export/import, status,
scan-test, and the demo.
"""
