"""The sub-commands of ``register-agent``, each with its arguments and its handler (``cli.py``
gathers them into one parser): run and sandbox, config-check and print-test, doctor, review,
export/import, status, scan-test, and the demo.
"""
