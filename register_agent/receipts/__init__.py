"""Receipts: what a slip says, laid out to the paper width in the receipt's language
(``layout``), the giftcard lines and the welcome and status slips, and the printer worker that
prints the journal's pending receipts.
"""
