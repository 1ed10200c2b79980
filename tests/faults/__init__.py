"""The fault-injection suite (``pytest -m faults``): the real agent under crashes, lost
answers, outages and a failing printer.
"""
