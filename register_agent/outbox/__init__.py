"""Delivery of the journal's operations to the Register API, exactly once: the worker
(backoff, ``Retry-After``, the pause on a refused key, reconciliation before a resend) and one
handler per operation kind.
"""
