"""The configuration's sections, grouped by what they configure (``devices``, ``agent``);
``register_agent.config`` gathers them under ``AgentConfig`` and re-exports every name.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A config section: unknown keys are errors, values are frozen once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)
