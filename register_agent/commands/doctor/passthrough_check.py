"""The doctor's check of the receipt pass-through: a setting the relay cannot work with, and
what the running agent counted (jobs relayed, with a block, untouched by reason), read from
the figures it keeps in the state directory.
"""

from __future__ import annotations

from register_agent.commands.doctor.check import Check, failed, passed
from register_agent.config import AgentConfig
from register_agent.passthrough.figures import figures_line, saved_figures


def passthrough_check(config: AgentConfig) -> Check | None:
    """None when the pass-through is off (nothing to say)."""
    settings = config.passthrough
    if not settings.enabled:
        return None
    name = "passthrough"
    if config.printer is None or config.printer.kind not in ("network", "virtual", "serial"):
        kind = config.printer.kind if config.printer else "none"
        return failed(
            name,
            f"the till's jobs are relayed to a network or serial printer only; [printer] kind "
            f"is {kind}",
            'set [printer] kind = "network" with the printer\'s host and port (9100), or '
            'kind = "serial" with its port',
        )
    if settings.serial_device is not None and not settings.serial_device.exists():
        return failed(
            name,
            f"the till's serial line {settings.serial_device} does not exist",
            "plug the USB-serial adapter in, or correct [passthrough] serial_device",
        )
    figures = saved_figures(config.state.directory)
    counted = figures_line(figures) if figures else "no job relayed yet"
    untouched = sum(figures.passed.values()) if figures else 0
    if figures and figures.relayed and untouched == figures.relayed:
        return failed(
            name,
            f"the till prints to {settings.listen}: {counted}: no receipt got a block",
            "record a job with register-agent passthrough-learn and check the template with "
            "register-agent passthrough-test FILE",
        )
    return passed(name, f"the till prints to {settings.listen}: {counted}")
