"""The text ``GET /_sandbox/`` answers: the routes and the decisions the sandbox takes
where Piggy's documentation is silent (docs/register-api.md, "Decisions where the
documentation is silent", and the sandbox's own).
"""

HELP_TEXT = """\
register-agent sandbox: a simulator of Piggy's Register API v1 and v3
=====================================================================

API (every seeded key works on both; Authorization: Bearer <key>)
  v1  /api/v1/register                               GET  register info
      /api/v1/register/members/find-one-by?email=    GET  member + credit_balance
      /api/v1/register/members/{id}                  GET  member + credit_balance
      /api/v1/register/members                       POST email (55017 exists)
      /api/v1/register/members?page=&limit=          GET  list, by id; meta {page, limit,
                                                          last_page, total} (paging decided)
      /api/v1/register/link-loyalty-card             POST member_id, loyalty_card_id (55016)
      /api/v1/register/loyalty-cards/find-one-by?hash=  GET
      /api/v1/register/credit-receptions             POST loyalty_card_id|member_id,
                                                          purchase_amount|credits
      /api/v1/register/credit-receptions/{id}        GET
      /api/v1/register/staged-credit-receptions      POST purchase_amount|credits
      /api/v1/register/staged-credit-receptions/{id} GET
      /api/v1/register/rewards[?loyalty_card_id=|member_id=]  GET
      /api/v1/register/rewards/{physical|digital|external}/reward-reception  POST
      /api/v1/register/marketing-recipients          POST marketing_program_id, email
                                                          (55004 program, 55005 exists)
      /api/v1/register/marketing-recipients?marketing_program_id=&email=&page=&limit=  GET
      /api/v1/register/marketing-recipients/{id}     GET, PUT is_subscribed (55020)
      /api/v1/register/giftcards/find-one-by?hash=   GET  (5001); the balance is sent as
                                                          amount_in_cents, like v3 (the
                                                          2021 SDK parsed none: our choice)
      /api/v1/register/giftcards                     POST giftcard_program_id, type=1 (55021)
      /api/v1/register/giftcard-transactions         POST giftcard_id, amount (signed cents)
      /api/v1/register/giftcard-transactions/correct/{id}  POST (55025 if not the last)
  v3  /api/v3/register  GET /, /loyalty-program, /units,
      /contact-identifiers/find?contact_identifier_value=, /contacts/find-one-by?email=,
      /contacts/{uuid}, /contacts/{uuid}/credit-balance, /contacts/find-or-create?email=,
      /contacts/{uuid}/loyalty-transactions?page=&limit=&type=,
      /credit-receptions/calculate?unit_value=, /rewards?contact_uuid=, /rewards/{uuid},
      /loyalty-transaction-attributes/ (the seed's loyalty_transaction_attributes)
      POST /credit-receptions, /pos-transactions, /reward-receptions, /loyalty-tokens,
           /contacts (60005), /contacts/anonymous = /contact/anonymous (7),
           /contact-identifiers (60006)
      PUT  /contact-identifiers/link (60014), /contact-identifiers/unlink (60011),
           /contacts/{uuid}/claim email (60016 not anonymous, 60005 e-mail taken)
      DELETE /contact-identifiers?contact_identifier_value= (60003)
      PUT  /contacts/{uuid} attributes (names the account defines, else 1003)
      GET  /subscription-types, /contact-subscriptions/{uuid}
      PUT  /contact-subscriptions/{uuid}/subscribe, /unsubscribe subscription_type_uuid
           (55030 unknown or inactive type, 55031 contact)
      GET or POST /credit-receptions/{uuid}/reverse, /reward-receptions/{uuid}/reverse
      giftcards: GET /giftcards/find-one-by?hash= (5001), POST /giftcards (type=1,
           giftcard_program_uuid; 55021, 1100), POST /giftcard-transactions (giftcard_uuid,
           amount_in_cents), GET /giftcard-transactions/{uuid} (5010),
           POST /giftcard-transactions/{uuid}/correct (55025 if not the card's last),
           GET or POST /giftcard-transactions/{uuid}/reverse (once)
      prepaid: GET /contacts/{uuid}/prepaid-balance = /contacts/{uuid}/prepaid/balance,
           POST /prepaid-transactions (contact_uuid | contact_identifier_value,
           amount_in_cents; a balance below zero is a 1003: our choice, the docs are silent)
  client /api/v3/oauth/clients  (the personal access token only; a register key is 401)
      POST /orders/create-and-process (JSON: external_identifier, status, payment_status,
           total_order_amount, contact{uuid}, business_profile{uuid}, line_items[...]; an
           external_identifier taken is 1003), GET /orders/find?external_identifier= (404),
      POST /orders/simulate (the same fields; the points alone, nothing booked),
      POST /order-returns/create-and-process (order{uuid|external_identifier},
           external_identifier, status, line_items / sub_line_items [{external_identifier,
           quantity, total_amount?}]); points: the lines less the seed's
           loyalty_excluded_products; a return's, its lines' share (total_amount if given)

Control (loopback only, no key; faults never apply here)
  GET  /_sandbox/          this text
  GET  /_sandbox/ledger    every reception, claim, reverse, POS transaction and enrolment,
                           in order: {seq, at, api, kind, register, shop_id, id, uuid,
                           member, card, credits, balance_after, amount (v1 purchase_amount
                           or v3 unit_value, a decimal string), pos_transaction, attributes,
                           reward, reverses}; kinds: credit_reception, reward_reception,
                           staged_credit_reception, staged_claim, token_claim,
                           reverse_credit_reception, reverse_reward_reception,
                           pos_transaction, member_created, card_linked, contact_created,
                           contact_claimed, identifier_created, identifier_linked,
                           identifier_unlinked, identifier_deleted,
                           marketing_recipient_created, marketing_recipient_updated
                           {id, marketing_program_id, email, is_subscribed},
                           contact_updated {contact, attributes},
                           subscription_changed {contact, subscription_type, action, status}
                           giftcard_created, giftcard_transaction, giftcard_correction,
                           giftcard_reversal ({giftcard, amount_in_cents,
                           balance_after_cents}), prepaid_transaction
  GET  /_sandbox/faults    the active faults
  POST /_sandbox/faults    {"mode": M, "rate": 0..1, "count": N, "seed": S,
                            "paths": [prefix or regex], "methods": ["POST"],
                            "retry_after": s, "latency_ms": ms, "hold_s": s}
       modes: error_503 (HTML body), error_429 (Retry-After), error_500,
              in_progress_60001, error_1003 (refused, nothing applied), latency,
              timeout (held hold_s, default 30, then closed unanswered and NOT applied),
              drop_after_commit (applied, then the connection is closed without a
              response), error_500_after_commit (applied, then a 500),
              pos_transaction_gone (the POS transaction the request names is forgotten
              first, so a credit reception on it answers 1027), off (clears every fault
              and lets the requests a latency fault holds go on at once)
       Several faults may be active; a request meets the first that matches and fires.
  GET  /_sandbox/requests  the last 20,000 API requests as they arrived: {at (Unix time),
                           method, path, fault (the fault mode met, or null), user_agent,
                           unknown_fields (names the call does not know)}, oldest first
  POST /_sandbox/reset     state, faults, options and the request log back to the seed
  POST /_sandbox/options   {"list_transaction_attributes": true|false}: custom attributes
                           on loyalty-transaction list entries (the docs show none; seed
                           default list_transaction_attributes = false)
  POST /_sandbox/claim     {"url": staged or loyalty-token URL, "member": id|uuid|email}
                           plays a customer scanning a receipt's QR code
  GET  /s/{hash}, /l?...   what a phone shows after scanning such a QR code (no claim)

Decisions (numbered as in the agent's docs/register-api.md, and the sandbox's own)
  - Bodies: application/x-www-form-urlencoded (PHP bracket keys), multipart/form-data or
    JSON; GET parameters in the query string. Empty strings and nulls count as absent.
  - Lenient, as the real API: a field a call does not know is ignored (and listed in the
    request log's unknown_fields); on v3 credit receptions the loyalty-transaction
    attributes that exist in the account (the seed's loyalty_transaction_attributes, e.g.
    agent_operation_id) are known fields.
  - Both loyalty_card_id and member_id, or both pos_transaction_uuid and
    pos_transaction_id, in one call: 1003. v1 credits and purchase_amount must be >= 0.
  - Errors: 400 {status_code, code, message[, errors]}; a missing or unknown key 401 with
    that shape and code 401; unknown route 404 (code 404); wrong method 405 (code 405).
    error_429 and error_500 answer Laravel's {"message": ...}; error_503 answers HTML.
  - v1 credit receptions carry credit_balance {balance} next to member (3); so do v1
    reward receptions. v1 staged receptions answer url = {sandbox base}/s/{hash} (4).
  - Credits = floor(amount x shop credits_per_unit) unless credits is sent.
  - v1 cards: unknown 55007, not ACTIVE 1010, no member 1013; member 55012.
    v3 identifiers: unknown 60003, not ACTIVE 60004, unlinked 60011, another contact's
    1003; contact 55031; unit other than purchase_amount 60007; shop_uuid of another
    shop 1008. contact_uuid is required on v3 credit/reward receptions and rewards (8).
  - POS transactions link once: a second credit reception on one is 6001, unknown 1027.
  - 60001 comes naturally when a credit reception for the same customer arrives while
    one is being written (stretch that window with the latency fault).
  - Reverses (GET or POST, 5) book a counter-entry with negated credits (a reversed
    reward goes back in stock); reversing twice is 1003; the balance may go negative.
  - v3 lists v1 "external" rewards as DIGITAL with their external_property.
  - v1 rewards?member_id= lists only what that customer can claim now.
  - Loyalty tokens: hash = sha1("version=v3&shop_uuid=S&unique_id=U&timestamp=T&
    unit_name=purchase_amount&unit_value=12.5&secret=SECRET"), or credits=N instead of
    unit_name/unit_value, over the values exactly as sent; a wrong hash is 1003, a second
    claim of the same unique_id 1034; version v1 needs credits (60018), v2 units (60019).
  - Staged receptions are claimed once (1034 after that); unknown hash 1041.
  - Integers above 2147483647 and amounts of a billion or more are 1003.
  - Ids, uuids and hashes are never handed out twice, not even across a reset.
  - Custom attributes: extra keys of a v1 member (members/{id}, find-one-by; not the
    {id, email} inside other answers) and of a v1 loyalty card; a v3 contact's
    current_values / current_display_values, next to platform fields (uuid, balances, a
    custom_app_login_url) that a till must not show. PUT /contacts/{uuid} sets only the
    seed's contact_attributes; an empty value clears one.
  - Marketing recipients: a new one is subscribed; the list filters by
    marketing_program_id and email (undocumented); e-mails are kept in lower case.
  - Subscriptions: OPT_IN subscribes at once, DOUBLE_OPT_IN answers
    PENDING_CONFIRMATION (is_subscribed false) until confirmed (no confirmation is ever
    simulated), OPT_OUT types start subscribed; unsubscribe always UNSUBSCRIBED.
  - Giftcards (amounts in signed cents): inactive 7010, no program 5007, a program
    limited to other shops 7015, past expiration_date 5002, balance below zero 5003, a
    top-up of a card not upgradeable or of a DIGITAL card already loaded once 5006,
    above the card's or the program's maximum 5008, amount 0 1003. Only a card's last
    transaction can be corrected (55025); a correction books the negated amount.
"""
