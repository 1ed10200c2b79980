"""The running agent: its parts started in order and stopped in reverse (``agent``), the
readers and printer built from ``drivers/`` by their ``kind`` (``devices``), systemd's notify
protocol and watchdog (``sdnotify``), the Prometheus metrics, and the embedded default of
``run --sandbox``.
"""
