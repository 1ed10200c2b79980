"""The running agent: its parts started in order and stopped in reverse (``agent``), its
background workers as one group (``tasks``), the readers and printer built from ``drivers/``
by their ``kind`` (``devices``), systemd's notify protocol and watchdog (``sdnotify``), the
hourly housekeeping (``housekeeping``), the Prometheus metrics, and the embedded default of
``run --sandbox``.
"""
