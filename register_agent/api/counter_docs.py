"""What the POS developer reads at ``/docs`` about the counter's actions beside the sale:
giftcards (look-up, payment, top-up, correction), handing out a card and finding or choosing
a customer, and the newsletter and attributes of a customer's profile. Their error codes are
in the page's description (``docs.py``), with the sale's.
"""

from typing import Any

GIFTCARD_LOOK_UP = """
The giftcard with this value (its QR code or barcode) and its balance, for the POS
screen. The answer shows the card's last 4 characters only: the value is a bearer secret,
so the POS should not keep or print it either.
"""

GIFTCARD_PAY = """
The customer pays `amount` (of the sale `sale_id`) with a giftcard: a negative giftcard
transaction. **Online only**: when the loyalty service cannot be reached the payment is
refused (`503 giftcard_offline`: ask for another payment), never queued. More than the
card holds is refused before anything is sent (`409 giftcard_insufficient`, naming the
balance). The answer carries the remaining `balance`; the sale's receipt shows every
giftcard payment made for its `sale_id` before it was printed (a payment posted after
that is on any reprint).

`payment_id` is the idempotency key: the same payment again returns the first answer and
moves money once, also when the first answer was lost on the way (the agent then settles
it from the card's balance). `409 giftcard_not_confirmed` means: send the very same
payment again in a few seconds. The same id with another card or amount is
`409 giftcard_conflict`.
"""

GIFTCARD_PAY_EXAMPLES: dict[str, Any] = {
    "part": {
        "summary": "EUR 10 of sale 0042 on a giftcard",
        "value": {"payment_id": "p-0042-1", "card": "GC7F3A9B21", "amount": "10.00",
                  "sale_id": "0042"},
    },
}  # fmt: skip

GIFTCARD_TOP_UP = """
Loads `amount` onto a giftcard (a positive transaction), once per `top_up_id`, online
only. Some cards cannot be topped up (`giftcard_no_top_up`: digital cards load once) or
would exceed their maximum (`giftcard_max_exceeded`).
"""

GIFTCARD_CORRECT = """
Undoes a giftcard payment or top-up (by its `payment_id` / `top_up_id`) the cashier got
wrong. The loyalty service corrects only a card's **last** transaction: after another
payment on the same card this is `409 giftcard_not_last`; book a payment or top-up for
the difference instead. Correcting twice corrects once.
"""

HAND_OUT = """
Hands out a new loyalty card: the customer of `email` is found, or enrolled when the program
does not know them yet (a member on Register API v1, a contact on v3), and the card is
linked to them. Leave `card` out to hand out the unregistered card scanned just before
(a scan of such a card sends `customer_refused` with `"offer": "hand_out_card"`). Online
only: offline the answer is `503 offline`, and nothing is queued.

The customer becomes the next sale's customer (as after a scan), and a welcome slip with the
shop's name, the card's last characters and the starting balance is printed (`slip:
"printing"`; with `prints = "pos"` the POS prints `slip_lines`). Repeating the same card and
e-mail changes nothing, prints no second slip, and answers the same. A card of another
customer is `409 card_taken`; on v1 the card must be one of the program's (v3 adds a new
card number). `customer_key` names the customer in a reward claim.
"""

HAND_OUT_EXAMPLES: dict[str, Any] = {
    "typed": {
        "summary": "a card number and the customer's e-mail",
        "value": {"card": "D4E5F6A7", "email": "new.customer@example.org"},
    },
    "scanned": {
        "summary": "the blank card just scanned",
        "value": {"email": "new.customer@example.org"},
    },
}

CUSTOMERS = """
With `email`: the customer with that e-mail address, as a list of one (`404
customer_not_found` when there is none). Without it: one page of the program's customers
(`page` from 1, `limit` up to 100), v1 List Members; the balance is not part of a list.
Register API v3 offers no list of contacts: `409 customer_list_unsupported` (search by
e-mail instead). Finding a customer does not choose them: see `POST /v1/customer`.
"""

CHOOSE_CUSTOMER = """
Makes the customer of `email`, or of the card number `card` (a card typed in), the next
sale's customer, exactly like a scan of their card: the same answer as `GET /v1/customer`,
the same `customer` event, consumed by the next sale or cleared with `DELETE
/v1/customer`. A card not registered yet is `409 card_unregistered` (hand it out first).
"""

CHOOSE_EXAMPLES: dict[str, Any] = {
    "email": {"summary": "by e-mail", "value": {"email": "jan@example.org"}},
    "card": {"summary": "by a card number typed in", "value": {"card": "A1B2C3D4"}},
}

NEWSLETTER = """
Opts the scanned customer (or the one named by `customer_key`: member id on v1, contact
uuid on v3) in or out of the newsletter this till's config names (`[newsletter]`: a v1
marketing program, a v3 subscription type). Online only (`503 offline` otherwise), never
queued. Idempotent by nature: the same request twice leaves one subscription, so after a
timeout simply send it again. A double opt-in newsletter answers `pending_confirmation`
("a confirmation e-mail was sent"): the customer is subscribed once they confirm it.
An opt-out of someone who never subscribed is `unsubscribed` and changes nothing.
"""

NEWSLETTER_EXAMPLES: dict[str, Any] = {
    "in": {"summary": "opt the scanned customer in", "value": {"subscribed": True}},
    "out": {
        "summary": "opt a named customer out",
        "value": {"subscribed": False, "customer_key": "7731"},
    },
}

ATTRIBUTES = """
Sets custom attributes the loyalty account defines (a first name typed at the counter,
say) on the scanned customer or the one named by `customer_key`; the others stay. Answers
all the customer's attributes afterwards; the `customer` event shows them on the POS
screen and the next receipt prints the configured ones. Register API v3 only (v1 has no
such call: `409 profile_unsupported`); an attribute the account does not define is
`422 profile_refused`. Online only and idempotent by nature, like the newsletter.
"""

ATTRIBUTES_EXAMPLES: dict[str, Any] = {
    "name": {"summary": "the first name", "value": {"attributes": {"firstname": "Jan"}}},
}

COLLECTABLES = """
The rewards the customer pre-redeemed and has not picked up yet (Leat's collectable
rewards: their credits are spent already), for the scanned customer or the one named by
`customer_card` or `customer_key` (the contact uuid). A reward whose `pre_redeemable` is
true in the customer's reward list becomes one when it is claimed (`POST
/v1/rewards/claims` answers its `collectable_id`); the customer may also have claimed one
in the app. Hand it out with a sale: put its `uuid` in the sale's `collect`; the agent
collects it once the sale is recorded (delivered like the credits, exactly once) and makes
it collectable again if the sale is voided (the credits stay spent: the customer picks it
up another time). Needs the account's personal access token (`409 collect_unavailable`
without it); online only (`503 offline`).
"""
