"""What the POS developer reads at ``/docs``: the local API's description, each endpoint's
explanation and the error codes. Kept apart from the routes so both stay readable.
"""

from typing import Any

DESCRIPTION = """
The till's loyalty agent, for the POS software on the same machine (or the address the
installer opened). It credits customers for paid sales, claims rewards and prints
receipts; the POS tells it what was sold and reads what to show.

**Authentication.** Every endpoint needs the till's token:
`Authorization: Bearer <token>`. The installer gives it (systemd credential
`local-api-token`, or the file `local-api-token` in the agent's state directory, made on
first start). A missing or wrong token is a `401` with `WWW-Authenticate: Bearer`. This
documentation (`/docs`, `/openapi.json`) is readable without the token; use "Authorize"
to try the endpoints.

**Money** is a decimal string of ASCII digits with an optional dot and at most two
decimals: `"12.50"`, `"12.5"`, `"12"`. A JSON number (`12.5`, or `12`), an exponent
(`"1e3"`), a sign (`"+5"`; `"-2.00"` only on a receipt line), separators (`"1_000"`,
`"12,50"`) or spaces are refused with `422 invalid_request`. Amounts are compared in
cents: `"12.5"` and `"12.50"` are the same amount. None is above 21474836.47 (what the
Register API holds), and a sale none above the till's `[till] max_sale_amount`
(100000.00 unless the installer set another): `422 amount_too_large`.

**Idempotency.** The POS's `sale_id`, `refund_id`, `claim_id`, giftcard `payment_id` and
`top_up_id` are idempotency keys: sending the same request again (after a timeout, say)
returns the first answer and does nothing twice; the same id with a different body is a
`409` (`sale_conflict`, `refund_conflict`, `claim_conflict`, `giftcard_conflict`). A
request that was refused did nothing and is not kept: the same id may be sent again.

**Errors** are always JSON: `{"code": "...", "message": "..."}`. The `code` is stable, so
the POS may switch on it; the `message` is a sentence for the cashier. Codes:

| status | code | meaning |
|---|---|---|
| 401 | `unauthorized` | no token, or the wrong one |
| 404 | `unknown_sale` | no sale with this id on this till |
| 404 | `unknown_reward` | the reward does not exist |
| 404 | `not_found` | not an address of this API |
| 409 | `sale_conflict` | this sale id was used for a different sale |
| 409 | `refund_conflict` | this refund id was used for another sale or amount |
| 409 | `claim_conflict` | this claim id was used for a different claim |
| 409 | `sale_closed` | the sale was already refunded or voided |
| 409 | `refund_unsupported` | the Register API (v1) cannot take credits back |
| 409 | `printing_off` | the POS prints this till's receipts, so no reprint |
| 409 | `no_customer` | no card was scanned (claim, newsletter, attributes) |
| 409 | `card_unknown`, `card_unregistered`, `card_inactive` | the card cannot collect |
| 409 | `insufficient_credits`, `reward_out_of_stock` | the loyalty service refused the claim |
| 409 | `claim_limit_reached`, `reward_inactive`, `claim_refused` | the same |
| 409 | `claim_not_confirmed` | answer lost; the till finds out: send the same claim id later |
| 409 | `newsletter_not_configured` | the till's `[newsletter]` config names no newsletter |
| 409 | `newsletter_unknown` | the loyalty account lacks the configured newsletter |
| 409 | `profile_unsupported` | v1 cannot change a customer's attributes |
| 409 | `profile_refused` | the loyalty service refused the profile change |
| 409 | `profile_unavailable` | this till cannot change customer profiles |
| 404 | `unknown_customer` | the loyalty account has no such customer (`customer_key`) |
| 422 | `profile_refused` | an attribute the account does not define |
| 404 | `giftcard_unknown` | not a giftcard of this shop |
| 404 | `giftcard_payment_unknown` | no giftcard payment with this id on this till |
| 409 | `giftcard_insufficient` | the card holds less: the message names its balance |
| 409 | `giftcard_expired`, `giftcard_invalid` | the card cannot pay |
| 409 | `giftcard_no_program`, `giftcard_no_access` | the card cannot be used in this shop |
| 409 | `giftcard_no_top_up`, `giftcard_max_exceeded` | the card cannot take this top-up |
| 409 | `giftcard_not_last` | only the card's last transaction can be corrected |
| 409 | `giftcard_conflict` | this payment id was used with another card or amount |
| 409 | `giftcard_not_confirmed` | send the same payment again in a few seconds |
| 409 | `giftcard_check_card` | not confirmed: a person checks the card (`register-agent review`) |
| 409 | `giftcard_payment_not_done`, `giftcard_correct_unavailable` | cannot be corrected |
| 409 | `giftcard_refused` | the loyalty service refused it; the message says why |
| 404 | `customer_not_found` | no customer has this e-mail address |
| 409 | `card_taken` | the card to hand out belongs to another customer |
| 409 | `customer_list_unsupported` | Register API v3 cannot list customers: find them by e-mail |
| 409 | `enrolment_refused` | the loyalty service refused the hand-out or search (see the message) |
| 422 | `invalid_request` | a field is missing or wrong; `fields` names each one |
| 422 | `no_card` | a hand-out without `card`, and no blank card was scanned just before |
| 422 | `invalid_email` | the loyalty service did not accept the e-mail address |
| 422 | `refund_too_large` | the refund is larger than the sale |
| 422 | `refund_id_required` | a part refund without `refund_id`: send one |
| 422 | `amount_too_large` | the sale is above the till's `[till] max_sale_amount` |
| 422 | `amount_needs_confirmation` | above `[till] confirm_above`: ask, send `"confirmed": true` |
| 400 | `bad_request` | the request could not be read at all |
| 503 | `offline`, `key_refused` | the loyalty service is out of reach (claims, cards, profiles) |
| 503 | `giftcard_offline` | giftcards work online only: ask for another payment |
| 503 | `not_confirmed` | a hand-out or profile change was not confirmed: send it again |
| 503 | `stopping` | the agent is stopping (a restart): try again in a moment |
| 503 | `disk_full` | the till's disk is full: send the same request again later |
| 503 | `journal_damaged` | the till's journal is damaged: support must recover it |
| 500 | `internal_error` | the agent failed; the details are in its log |

Sales are never refused for being offline: the credits are queued and delivered later.
A sale is refused (`503 disk_full`, `journal_damaged`) only when the till cannot record it:
nothing of it was kept, the cashier finishes the sale without loyalty points, and the same
sale (same `sale_id`) sent again after `Retry-After`, once the disk has space, is credited
once.
"""

SELL = """
The POS says a sale is paid. The agent records it durably **before** answering, then
credits the customer (the card scanned before this sale, or `customer_card`), or, without
a customer, puts a QR code on the receipt that the customer scans to collect.

The answer's `loyalty` block says what the receipt shows: `credited` (credits and balance
known), `pending` ("points will be added": the loyalty service did not answer in time;
the credits are queued), `qr` (`qr_url` to print), or `none`. A POS that prints its own
receipts prints `loyalty.customer_lines` (the customer's attributes the till's config
names, e.g. "Name: Jan"), `loyalty.lines` and the QR. The answer's `customer` carries
only those attributes (it is kept with the sale); `GET /v1/customer` has them all.

Sending the same `sale_id` and body again returns the first answer and credits nothing
more, also while the first request is still being answered (the repeat waits for it);
the same `sale_id` with another body is `409 sale_conflict`. The same amount spelt
otherwise (`"12.5"` for `"12.50"`) is the same body.

`amount` is at most the till's `[till] max_sale_amount` (100000.00 by default): a larger
sale is refused with `422 amount_too_large` and nothing is recorded, rather than being
promised credits the loyalty service would refuse. Above `[till] confirm_above` (off unless
set) it is refused with `422 amount_needs_confirmation` until the POS asks the cashier
("1250.00, not 12.50?") and sends the same sale with `"confirmed": true`. With `[till]
card_lock_s` set, a card that earned within that time earns nothing on its next sale: the
sale is recorded and printed all the same, `loyalty.state` is `none` and `loyalty.notice`
says why (`card_locked`).

A `customer_card` that cannot collect (not registered yet, unknown, inactive) is looked up
while the sale is recorded: the sale then goes as one without a card (`qr`) and
`loyalty.notice` says why (`card_unregistered`: offer to hand the card out, `POST /v1/cards`).
Offline the card is checked later, when the credits are delivered.
"""

REFUND = """
Takes back the credits of a sale: the whole sale without a body (or `{}`), part of it with
`{"refund_id": "R-0042-1", "amount": "5.00"}` (credits taken back in proportion). The
refund is queued and delivered after the sale's own credits. Sale ids with `/` work as
they are (`/v1/sales/2026/11/7/refund`).

`refund_id` is the refund's idempotency key, chosen by the POS like a `sale_id` (a new one
for every refund, the same one when a refund is sent again): the same `refund_id` again
returns the first answer and takes nothing back twice; with another sale or amount it is
`409 refund_conflict`. **A part refund needs a `refund_id`** (`422 refund_id_required`
without one): the sale stays open after a part refund, so nothing else could tell a
resend from a second refund. A whole refund may go without one: the sale is then closed,
and sending it again is `409 sale_closed`; with a `refund_id`, sending it again returns
the first answer instead.
"""

VOID = """
Cancels a sale: its credits are taken back and its reward claims reversed (queued, in order).
"""

REPRINT = """
Prints the sale's receipt again, marked COPY with the time of the copy. Also the way to
print a receipt that waited too long (the printer was off) and is no longer printed by
itself: a receipt that never printed comes out as the original, not as a copy.
"""

DRAWER = """
Opens the cash drawer on the receipt printer's kick port (`[printer] drawer_pin`, the pulse
`drawer_on_ms`), at once, even while a receipt waits for its credits. A sale can ask for it
too (`open_drawer: true`, answered in the sale's `drawer`). A printer that is away, out of
paper or open is not sent the pulse (it would open the drawer later, by itself): 503
`drawer_not_opened`, whose message tells the cashier to use the drawer's key.
"""

CUSTOMER = """
The customer whose card was scanned (or who was chosen with `POST /v1/customer`, or just
got a new card) and who the next sale will be credited to: a display name, the balance,
the last characters of the card (none when chosen by e-mail), the rewards they can claim
and their custom `attributes` (first name, tier, birthday: whatever the loyalty account
defines).
`204 No Content` when nobody scanned a card (or the scan expired, or a sale used it).
"""

CLEAR_CUSTOMER = """
Forgets the scanned customer, so the next sale is not credited to them (a wrong card,
or the customer walked away). `204` whether or not there was one.
"""

CLAIM = """
Claims a reward for the scanned customer, or for the one named by `customer_card` or
`customer_key` (member id on Register API v1, contact uuid on v3). Online only: when the
loyalty service cannot be reached the claim is refused (`503 offline`), never queued.
The `claim_id` is the idempotency key: the same claim twice claims once. With `sale_id`,
voiding that sale reverses the claim.
"""

STATUS = """
For the POS's service screen: whether the loyalty service is reachable, the queue of
undelivered operations (how many, the oldest's age, how many need review or failed), alerts,
the printer and the card readers. Receipts that waited too long for the printer and were
not printed are an alert naming their sales, for a reprint.
"""

RESUME = "the last event id the POS received; the `Last-Event-ID` header wins when both are sent"

EVENTS = """
A `text/event-stream` that stays open: each event has an `id:`, an `event:` (its kind) and
one `data:` line of JSON. Kinds: `scan`, `customer_identified` (the scanned card's customer,
as soon as the loyalty service names them: the shape of `GET /v1/customer` with `balance`
null and `rewards` empty), `customer` (the same customer with the balance and rewards,
read after it, and now bound to the next sale, as before; or an offline scan, `"offline":
true`, which has no `customer_identified`), `customer_cleared`, `customer_refused`
(unknown, unregistered or inactive card, with a reason; an unregistered card adds `"offer":
"hand_out_card"`: ask the customer's e-mail and `POST /v1/cards`), `plain_scan` (a barcode
that is not a loyalty card: the POS handles it), `giftcard` (a scanned giftcard: the same
shape as `GET /v1/giftcards/{card}`, when `[scans] giftcard_patterns` says which values are
giftcards), `giftcard_refused`, `printer`, `operation` (an operation settled: delivered, or
needs attention).

Without `Last-Event-ID` the stream starts with the next event. After a dropped connection,
send the last id received (the `Last-Event-ID` header, which EventSource does by itself,
or `?last_event_id=`): the events missed since are sent first. When some are lost (the
agent restarted, or the connection was away too long) a `gap` event comes first: read
`GET /v1/customer` and `GET /v1/status` again. A comment line (`: keep-alive`) arrives every
15 s on a quiet stream. Browsers' EventSource cannot send the `Authorization` header:
use a fetch-based event-stream client.
"""

ERRORS = {
    401: "no token, or the wrong one (`unauthorized`)",
    404: "no such sale, reward, customer, giftcard or payment (`unknown_sale`, "
    "`unknown_reward`, `customer_not_found`, `giftcard_unknown`, `giftcard_payment_unknown`)",
    400: "the request could not be read at all (`bad_request`)",
    409: "refused by the till: see the codes in the description",
    422: "a field is missing or wrong (`invalid_request`, naming each field and what is "
    "wrong, e.g. an amount that is not a plain decimal string), or refused "
    "(`amount_too_large`, `amount_needs_confirmation`, `refund_id_required`, "
    "`refund_too_large`)",
    500: "the agent failed (`internal_error`); the details are in its log",
    503: "the loyalty service cannot be used now (`offline`, `giftcard_offline`, `key_refused`), "
    "the till cannot record it (`disk_full`, `journal_damaged`: see `Retry-After`), "
    "or the agent is stopping (`stopping`)",
}

SALE_EXAMPLES: dict[str, Any] = {
    "receipt": {
        "summary": "the agent prints the receipt",
        "value": {
            "sale_id": "2026-11-26/0042",
            "amount": "12.50",
            "lines": [
                {"text": "Cappuccino", "amount": "3.50"},
                {"text": "Croissant", "amount": "9.00"},
            ],
        },
    },
    "named": {
        "summary": "a customer named by the POS, the POS prints",
        "value": {
            "sale_id": "0043",
            "amount": "4.20",
            "customer_card": "A1B2C3D4",
            "print_receipt": False,
        },
    },
}

REFUND_EXAMPLES: dict[str, Any] = {
    "whole": {"summary": "the whole sale", "value": {}},
    "whole_once": {"summary": "the whole sale, once per refund id", "value": {"refund_id": "R-1"}},
    "part": {"summary": "part of it", "value": {"refund_id": "R-0042-1", "amount": "5.00"}},
}

CLAIM_EXAMPLES: dict[str, Any] = {
    "scanned": {
        "summary": "for the scanned customer",
        "value": {"claim_id": "c-0042-1", "reward_key": "free-coffee", "sale_id": "0042"},
    },
    "by_card": {
        "summary": "for a card typed at the POS",
        "value": {"claim_id": "c-0043-1", "reward_key": "free-coffee", "customer_card": "A1B2C3D4"},
    },
}

#: money the agent answers with: pydantic describes a Decimal as "number or string", but
#: the agent always writes a decimal string (what the POS sends: ``counter.messages.Amount``)
MONEY: dict[str, Any] = {
    "type": "string",
    "pattern": r"^-?[0-9]+(\.[0-9]{1,2})?$",
    "examples": ["12.50"],
    "description": 'money as a decimal string, e.g. "12.50"',
}


def money_as_strings(document: dict[str, Any]) -> None:
    """Rewrites every "number or string" property of the schemas as :data:`MONEY`."""
    for schema in document.get("components", {}).get("schemas", {}).values():
        for prop in schema.get("properties", {}).values():
            options = prop.get("anyOf", [])
            kinds = {option.get("type") for option in options}
            if {"number", "string"} <= kinds:
                rest = [
                    option for option in options if option.get("type") not in ("number", "string")
                ]
                prop.pop("anyOf")
                if rest:
                    prop["anyOf"] = [MONEY, *rest]
                else:
                    prop.update(MONEY)
