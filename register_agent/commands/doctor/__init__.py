"""``register-agent doctor``: what an installer runs at the till to find what is wrong. One
line per check, PASS or FAIL with the fix (or SKIP with what it could not look at); the
exit status is 1 when anything failed. Read-only: it changes nothing a running agent uses,
and it never prints a secret (the key and the token secret are only said to be set).

``diagnosis`` runs the checks in order: the Register API and the clock (``api_checks``), the
state directory, journal and outbox (``till_checks``), the readers and the printer
(``device_checks``); each says its verdict as a ``check.Check``.
"""
