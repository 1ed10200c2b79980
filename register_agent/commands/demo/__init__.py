"""``register-agent demo``: one morning at a till on the embedded default, each step told
in plain words and checked against the sandbox's ledger.
"""
