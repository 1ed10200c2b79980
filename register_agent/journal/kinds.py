"""The kinds of outbox operation: the one vocabulary the till writes, the handlers
(``outbox/handlers.py``) deliver and the printer worker reads."""

from __future__ import annotations

#: a sale's credits for a known (or scanned, still unresolved) customer
CREDIT_RECEPTION = "credit_reception"
#: v1: credits for a sale without a customer, claimed later through the receipt's QR
STAGED_CREDIT_RECEPTION = "staged_credit_reception"
#: credits taken back for a refunded sale: whole (a reverse) or in part (negative credits)
REFUND = "refund"
#: a voided sale's reward claim undone (v3)
REVERSE_CLAIM = "reverse_claim"
#: a reward claim whose answer was lost: its outcome found out (never sent again by the
#: outbox; claims are online only, and the POS may claim again once it did not land)
REWARD_CLAIM = "reward_claim"
#: a voucher locked for a sale: redeemed once the sale is recorded, released when it is
#: voided or never recorded in time (``outbox/vouchers.py``)
VOUCHER = "voucher"
#: a pre-redeemed (collectable) reward collected with the sale that names it
COLLECT_REWARD = "collect_reward"
#: a voided sale's collection undone: the reward waits to be collected again
REVERSE_COLLECTION = "reverse_collection"
