"""What ``register-agent review`` shows of a reward claim whose answer was lost and that
nothing could settle (v1 always; v3 when several claims could be it): enough to find it
in the dashboard, and what each decision does to the POS's claim id."""

from __future__ import annotations

from datetime import UTC, datetime

from register_agent.common.masking import safe_tail
from register_agent.journal import Operation
from register_agent.journal.payloads import RewardClaimPayload

HOW_TO_DECIDE = (
    "A reward claim: register-agent review --applied OP_ID  (the reward reception is in the\n"
    "                 dashboard: the claim id then answers the claim's success)\n"
    "                 register-agent review --resend OP_ID   (it is not: nothing is sent; the\n"
    "                 claim id may be claimed again by the POS, with the customer there)"
)


def describe_claim(operation: Operation, payload: RewardClaimPayload) -> str:
    """One lost claim for the person checking it; the customer's key cut to its last 4."""
    when = datetime.fromtimestamp(payload.started_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    key = payload.customer.key
    return (
        f"{operation.id}  reward_claim  claim {payload.claim_id}  reward {payload.reward_key}  "
        f"customer ...{safe_tail(key) if len(key) > 4 else ''}  at {when}\n"
        f"    check: a reward reception of this reward for the customer at about {when}?\n"
        f"    last error: {operation.last_error or '-'}"
    )
