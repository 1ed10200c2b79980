"""The receipt pass-through: the agent between a till nobody can change and its printer.

The till prints to the agent; the agent reads each job (``escpos_reader.py``), finds the
sale's total on the customer's receipt (``template.py``), and relays the job to the printer
with a loyalty block before the cut, or untouched whenever anything is uncertain.
"""
