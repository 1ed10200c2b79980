"""Helpers the tests share: the real agent process, the fault proxy, scripted answers,
readers and printers, and the figures table.
"""
