"""Hardware drivers: one module per device kind, each with a fake or virtual twin.

Drivers depend on the core (their config models live in ``register_agent.config``);
the core never imports them. Only ``register_agent.runtime.devices`` wires them in.
"""
