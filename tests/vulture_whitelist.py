"""What the dead-code finder (vulture, ``make lint``) cannot see being used.

Each line reads a name that is used out of Python's sight: a library reads the attribute or
calls the hook, the POS reads the field as JSON, or the Register API's answer is validated
against it. mypy checks every line, so a rename or a removal shows here instead of leaving
a stale entry. Routes, validators, fixtures and hypothesis rules are skipped by decorator in
``[tool.vulture]`` (pyproject.toml); add a line here only for what that cannot cover.
"""

# ruff: noqa: B018 (each line reads a name on purpose: that read is what vulture counts)

from __future__ import annotations

from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    import sqlite3

    import qrcode
    import serial
    import uvicorn

    from drivers.loopback_server import LoopbackServer as VirtualPrinterServer
    from register_agent.api.server import _InProcessServer
    from register_agent.api.session_routes import SessionAnswer, TicketAnswer
    from register_agent.config import AgentConfig
    from register_agent.config import _CredentialsSource as CredentialsSource
    from register_agent.counter.giftcards.messages import GiftcardView
    from register_agent.counter.messages import TillStatus
    from register_agent.journal.records import PrintJob, PrintJobState
    from register_agent.loyalty.lean_wire import Wire as LeanWire
    from register_agent.loyalty.models_giftcards import GiftcardProgram
    from register_agent.loyalty.models_profile import MarketingRecipient
    from register_agent.loyalty.v1.models import Rewards
    from register_agent.loyalty.v3.models import CreditReception, Reward, Unit
    from register_agent.sandbox.seed import Address
    from register_agent.sandbox.server import SandboxHandler, SandboxServer
    from tests.support.agent_harness import Tally

    # set on the libraries' objects, which read them (pyserial, sqlite3, qrcode, uvicorn...)
    serial.Serial.write_timeout
    serial.Serial.rtscts
    serial.Serial.dtr
    sqlite3.Connection.row_factory
    qrcode.QRCode.box_size
    VirtualPrinterServer.address_family
    VirtualPrinterServer.daemon_threads
    SandboxServer.daemon_threads
    server = cast(uvicorn.Server, None)  # attributes set on instances: read on one
    server.should_exit
    server.force_exit
    _InProcessServer.capture_signals
    # asyncio calls a protocol's hooks (the lean HTTP transport's connection)
    LeanWire.connection_made
    LeanWire.data_received
    LeanWire.eof_received
    LeanWire.connection_lost
    LeanWire.pause_writing
    LeanWire.resume_writing
    # http.server's handler reads these class attributes and calls these methods
    SandboxHandler.protocol_version
    SandboxHandler.disable_nagle_algorithm
    SandboxHandler.server_version
    SandboxHandler.close_connection
    SandboxHandler.log_message
    SandboxHandler.do_GET
    SandboxHandler.do_POST
    SandboxHandler.do_PUT
    SandboxHandler.do_DELETE
    SandboxHandler.do_PATCH
    # pydantic-settings calls these on the configuration's sources
    AgentConfig.settings_customise_sources
    CredentialsSource.get_field_value
    # the POS reads these fields of the local API's answers as JSON
    TillStatus.outbox_oldest_age_s
    TillStatus.outbox_review
    TillStatus.outbox_dead
    TillStatus.claims_unconfirmed
    TillStatus.claims_review
    GiftcardView.can_top_up
    SessionAnswer.csrf_token  # the counter page's script reads these
    SessionAnswer.expires_at
    TicketAnswer.expires_in_s
    # journal rows: a column of the table, a state the SQL sets by its value
    job = cast(PrintJob, None)
    job.printed_at
    PrintJobState.HELD
    # the Register API's answers, validated field by field (v1 rewards are read by type name)
    GiftcardProgram.max_amount_in_cents
    MarketingRecipient.marketing_program
    Rewards.physical
    Rewards.digital
    Rewards.external
    Unit.is_default
    CreditReception.contact_identifier
    Reward.pre_redeemable
    # a seeded shop's address: sent whole (model_dump) in the sandbox's receptions
    Address.street
    Address.housenumber
    Address.postalcode
    Address.city
    Address.country
    # shown in the fault suite's assertion messages (the tally's repr)
    Tally.credited_once
