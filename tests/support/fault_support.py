"""Small helpers of the fault suite: tuning the end-to-end harness's config before a start."""

from __future__ import annotations

import re

from tests.support.agent_harness import AgentProcess


def tune(agent: AgentProcess, section: str = "", **settings: float) -> None:
    """Change ``key = value`` lines of the harness's config before the agent starts; a key
    the config lacks is added at the top of ``[section]``."""
    text = agent.config_path.read_text(encoding="utf-8")
    for key, value in settings.items():
        text, found = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
        if not found:
            assert section, f"{key} is not in the config: name its section"
            text, found = re.subn(rf"(?m)^\[{section}\]$", f"[{section}]\n{key} = {value}", text)
        assert found == 1, key
    agent.config_path.write_text(text, encoding="utf-8")
