"""The journal's schema and its migrations, applied in order, each in its own transaction.

``PRAGMA user_version`` counts the migrations applied. A migration is only ever added,
never edited once released: an existing till's journal is upgraded by the ones it lacks.
"""

from __future__ import annotations

import sqlite3

from register_agent.errors import JournalError

MIGRATIONS: tuple[str, ...] = (
    # 1: sales, the outbox's operations, print jobs, reward claims, and the decisions
    #    people took on operations (review, export to a replacement till)
    """
    CREATE TABLE sales (
        sale_id        TEXT PRIMARY KEY,          -- the POS software's own sale id
        request_digest TEXT NOT NULL,             -- same id with another body is a conflict
        amount_cents   INTEGER NOT NULL,
        currency       TEXT NOT NULL,
        customer_key   TEXT,                      -- NULL: sold without a customer
        request        TEXT NOT NULL,             -- JSON: the POS's request (receipt lines)
        answer         TEXT NOT NULL,             -- JSON answer given to the POS
        state          TEXT NOT NULL DEFAULT 'paid'
                       CHECK (state IN ('paid', 'refunded', 'voided')),
        created_at     REAL NOT NULL
    );
    CREATE INDEX sales_created ON sales (created_at);

    CREATE TABLE operations (
        seq             INTEGER PRIMARY KEY AUTOINCREMENT,  -- delivery order
        id              TEXT NOT NULL UNIQUE,   -- made by the agent, reused on every attempt
        sale_id         TEXT REFERENCES sales (sale_id),
        kind            TEXT NOT NULL,
        customer_key    TEXT,                   -- operations of one customer go in order
        payload         TEXT NOT NULL,          -- JSON: what to send
        state           TEXT NOT NULL
                        CHECK (state IN ('pending', 'in_flight', 'unknown',
                                         'done', 'review', 'dead', 'exported')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL,
        last_error      TEXT,
        server_ref      TEXT,                   -- the server's id of what was created
        result          TEXT,                   -- JSON: the server's answer, once done
        created_at      REAL NOT NULL,
        updated_at      REAL NOT NULL
    );
    CREATE INDEX operations_due ON operations (state, next_attempt_at);
    -- the work to hand out, in delivery order: only the rows that wait (bench/README.md)
    CREATE INDEX operations_waiting ON operations (seq)
        WHERE state IN ('pending', 'unknown');
    CREATE INDEX operations_customer ON operations (customer_key, seq);
    CREATE INDEX operations_sale ON operations (sale_id);

    CREATE TABLE print_jobs (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        sale_id     TEXT NOT NULL REFERENCES sales (sale_id),
        copy        INTEGER NOT NULL,           -- 0: the original; 1, 2, ...: marked COPY
        state       TEXT NOT NULL CHECK (state IN ('pending', 'printed', 'held')),
        attempts    INTEGER NOT NULL DEFAULT 0,
        last_error  TEXT,
        created_at  REAL NOT NULL,
        printed_at  REAL,
        UNIQUE (sale_id, copy)
    );
    CREATE INDEX print_jobs_state ON print_jobs (state, id);

    CREATE TABLE reward_claims (
        claim_id       TEXT PRIMARY KEY,          -- the POS software's own claim id
        request_digest TEXT NOT NULL,
        sale_id        TEXT,                      -- the sale it belongs to (voided with it)
        customer_key   TEXT NOT NULL,
        reward_key     TEXT NOT NULL,
        state          TEXT NOT NULL
                       CHECK (state IN ('in_flight', 'done', 'unknown', 'refused', 'reversed')),
        server_ref     TEXT,                      -- the server's id of the reward reception
        result         TEXT,                      -- JSON: the answer given to the POS
        created_at     REAL NOT NULL,
        updated_at     REAL NOT NULL
    );
    CREATE INDEX reward_claims_sale ON reward_claims (sale_id);

    CREATE TABLE operation_decisions (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        operation_id TEXT NOT NULL,              -- no foreign key: the record outlives a purge
        decision     TEXT NOT NULL
                     CHECK (decision IN ('applied', 'resend', 'exported', 'imported')),
        decided_by   TEXT NOT NULL,              -- the person (login name) or the till
        decided_at   REAL NOT NULL,
        note         TEXT                        -- e.g. the export file, the previous state
    );
    CREATE INDEX operation_decisions_operation ON operation_decisions (operation_id);
    """,
    # 2: giftcard payments and top-ups, online only, once per POS payment id. The card is
    #    kept as its last 4 characters: a giftcard hash is a bearer secret
    """
    CREATE TABLE giftcard_payments (
        payment_id     TEXT PRIMARY KEY,          -- the POS's payment or top-up id
        request_digest TEXT NOT NULL,             -- same id with another body is a conflict
        kind           TEXT NOT NULL CHECK (kind IN ('payment', 'top_up')),
        sale_id        TEXT,                      -- the sale it pays (its receipt shows it)
        card_tail      TEXT NOT NULL,             -- the card's last 4 characters, no more
        card_key       TEXT NOT NULL,             -- the API's id / uuid of the card
        amount_cents   INTEGER NOT NULL,          -- signed, as sent: negative pays
        balance_before INTEGER,  -- read just before sending: settles a lost answer
        balance_after  INTEGER,                   -- the card's balance once done
        state          TEXT NOT NULL
                       CHECK (state IN ('in_flight', 'done', 'unknown', 'refused', 'review',
                                        'correcting', 'correct_unknown', 'corrected')),
        transaction_id TEXT,                      -- the server's transaction (NULL: settled
                                                  -- by the balance, its id never seen)
        correction_id  TEXT,                      -- the server's correcting transaction
        result         TEXT,                      -- JSON: the answer given to the POS
        created_at     REAL NOT NULL,
        updated_at     REAL NOT NULL
    );
    CREATE INDEX giftcard_payments_sale ON giftcard_payments (sale_id);
    """,
    # 3: the decisions people took on giftcard payments nothing could settle (register-agent
    #    review). A table of its own: operation_decisions' CHECK names the outbox's decisions
    #    only, and a POS's payment id may equal an operation id
    """
    CREATE TABLE giftcard_decisions (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        payment_id    TEXT NOT NULL,              -- no foreign key: like operation_decisions
        decision      TEXT NOT NULL CHECK (decision IN ('applied', 'not_applied')),
        balance_cents INTEGER,                    -- the balance the person saw (NULL: none)
        decided_by    TEXT NOT NULL,              -- the person (login name)
        decided_at    REAL NOT NULL,
        note          TEXT                        -- what was in doubt, the states moved
    );
    CREATE INDEX giftcard_decisions_payment ON giftcard_decisions (payment_id);
    """,
    # 4: the journal's identity (journal/identity.py): which journal of this till this file
    #    is, matched at every start against the marker file in the state directory
    """
    CREATE TABLE journal_identity (
        singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),  -- one row, or none yet
        journal_id  TEXT NOT NULL,               -- also in the state directory's marker
        origin      TEXT NOT NULL
                    CHECK (origin IN ('new', 'adopted', 'recovered', 'reset')),
        created_at  REAL NOT NULL,
        note        TEXT                         -- recovered / reset: the file kept aside
    );
    """,
    # 5: refunds under the POS's refund id: a part refund leaves its sale open, so only its
    #    own id tells a resend from a second refund. Written with the refund's operation
    """
    CREATE TABLE refunds (
        refund_id    TEXT PRIMARY KEY,            -- the POS software's own refund id
        sale_id      TEXT NOT NULL,               -- no foreign key: purged with its sale
        amount_cents INTEGER,                     -- NULL: the whole sale
        answer       TEXT NOT NULL,               -- JSON answer given to the POS
        created_at   REAL NOT NULL
    );
    CREATE INDEX refunds_sale ON refunds (sale_id);
    """,
    # 6: a customer's operations still to be done, by delivery order: "is anything of this
    #    customer's before it?" (due.FIRST_OF_ITS_CUSTOMER, asked of every due operation and
    #    in every sale's transaction) walked the customer's whole history in
    #    operations_customer, done rows too: 0.6 ms for a regular with 3,000 done sales,
    #    on the writer while the cashier waits, and more with every delivery in a drain
    """
    CREATE INDEX operations_active ON operations (customer_key, seq)
        WHERE state IN ('pending', 'in_flight', 'unknown');
    """,
)


def migrate(connection: sqlite3.Connection) -> int:
    """Apply the migrations this file lacks; return the schema version now in force."""
    version = int(connection.execute("PRAGMA user_version").fetchone()[0])
    if version > len(MIGRATIONS):
        raise JournalError(
            f"the journal has schema version {version}, newer than this agent knows "
            f"({len(MIGRATIONS)}); install the newer register-agent again or restore a backup"
        )
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        _apply(connection, number, script)
    return len(MIGRATIONS)


def _apply(connection: sqlite3.Connection, number: int, script: str) -> None:
    # executescript() would COMMIT first; run the statements one by one inside our own
    # transaction so a failed migration leaves the file exactly as it was.
    connection.execute("BEGIN IMMEDIATE")
    try:
        for statement in _statements(script):
            connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {number}")
        connection.execute("COMMIT")
    except sqlite3.Error as exc:
        connection.execute("ROLLBACK")
        raise JournalError(f"journal migration {number} failed: {exc}") from exc


def _statements(script: str) -> list[str]:
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    return [statement for statement in statements if statement]
