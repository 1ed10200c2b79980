"""register-agent: the till's connection to the Piggy / Leat loyalty platform.

The core package: it knows the domain (scans, sales, receipts, operations) and the
Register API; hardware lives in the sibling package ``drivers``.
"""

__version__ = "0.1.0"
