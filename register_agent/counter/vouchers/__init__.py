"""Vouchers at the counter: the desk (``desk.py``) and its messages (``messages.py``)."""
