"""``python -m register_agent``: the same entry point as the ``register-agent`` command."""

from register_agent.cli import main

raise SystemExit(main())
