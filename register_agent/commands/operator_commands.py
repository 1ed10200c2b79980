"""``register-agent doctor``, ``review``, ``export`` and ``import``: what the installer and
the operator run beside the agent to find what is wrong, decide on the operations and
giftcard payments nothing could settle, and move undelivered operations to a new till.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from register_agent.common.money import CENT, NotAnAmount, parse_amount, to_cents
from register_agent.errors import ConfigError


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    doctor = commands.add_parser("doctor", help="check config, API, clock, journal and devices")
    # it named a customer to read the attribute off; the account's list of attributes
    # needs none, and an installer's script that still passes it keeps working
    doctor.add_argument("--contact", metavar="UUID", help=argparse.SUPPRESS)
    doctor.set_defaults(handler=_doctor)
    _add_review(commands)
    _add_transfers(commands)


def _add_review(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    review = commands.add_parser(
        "review",
        help="operations and giftcard payments a person must decide on",
        description="Without options: list the operations and the giftcard payments whose "
        "outcome nothing could tell, with what to check in the dashboard. With one option: "
        "record the decision on one of them (kept in the journal with who and when); it "
        "works while the agent runs. Giftcard payment ids are the POS's own and may equal "
        "an operation id: they have options of their own.",
    )
    decision = review.add_mutually_exclusive_group()
    decision.add_argument("--applied", metavar="OP_ID", help="the credits are there: done")
    decision.add_argument("--resend", metavar="OP_ID", help="they are not: send it again")
    # giftcard payment ids are the POS's and may equal an operation id: flags of their own
    decision.add_argument(
        "--giftcard-applied",
        metavar="PAYMENT_ID",
        help="the giftcard payment, top-up or correction is on the card: done (the POS's "
        "repeat and a reprint show it)",
    )
    decision.add_argument(
        "--giftcard-not-applied",
        metavar="PAYMENT_ID",
        help="it is not on the card: the POS may send the same payment id again, and it is "
        "sent for real then",
    )
    review.add_argument(
        "--balance",
        type=_cents,
        metavar="EUROS",
        help="with --giftcard-applied: the card's balance right after that transaction, as "
        "the dashboard shows it (for the receipt and the POS's answer)",
    )
    review.set_defaults(handler=_review)


def _add_transfers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for name, help_text in (
        ("export", "move the undelivered operations to FILE, for a replacement till"),
        ("import", "take over the operations exported from the till this one replaces"),
    ):
        transfer = commands.add_parser(name, help=help_text)
        transfer.add_argument("file", type=Path, metavar="FILE")
        transfer.set_defaults(handler=_transfer, agent_stopped=False)
        if name == "export":
            transfer.add_argument(
                "--agent-stopped",
                action="store_true",
                help="the agent is stopped: export what its last stop left in flight too "
                "(as unknown, reconciled on the new till)",
            )


def _doctor(args: argparse.Namespace) -> int:
    from register_agent.commands.doctor.diagnosis import run_doctor  # noqa: PLC0415
    from register_agent.commands.setup_checks import config_file_of  # noqa: PLC0415
    from register_agent.config import load_config  # noqa: PLC0415 (lazy: start-up cost)

    if not args.verbose:  # the checks' own lines say it; the client's retries are noise here
        logging.getLogger("register_agent.loyalty").setLevel(logging.WARNING)
    return run_doctor(lambda: load_config(args.config), config_file=config_file_of(args.config))


def _review(args: argparse.Namespace) -> int:
    from register_agent.commands.review import review_command  # noqa: PLC0415
    from register_agent.config import load_config  # noqa: PLC0415 (lazy: start-up cost)

    if args.balance is not None and not args.giftcard_applied:
        raise ConfigError("--balance goes with --giftcard-applied PAYMENT_ID only")
    config = load_config(args.config)
    return review_command(
        config.state.directory, args.applied, args.resend,
        giftcard_applied=args.giftcard_applied, giftcard_not_applied=args.giftcard_not_applied,
        balance_cents=args.balance,
    )  # fmt: skip


def _cents(text: str) -> int:
    """``--balance 12.50``: euros as the dashboard shows them, kept in cents."""
    try:
        amount = parse_amount(text.replace(",", "."))
    except NotAnAmount as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount; write e.g. 12.50") from exc
    if amount < 0 or amount != amount.quantize(CENT):
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount; write e.g. 12.50")
    return to_cents(amount)


def _transfer(args: argparse.Namespace) -> int:
    from register_agent.commands.review import who_decides  # noqa: PLC0415
    from register_agent.commands.transfer import (  # noqa: PLC0415
        describe,
        export_operations,
        import_operations,
    )
    from register_agent.config import load_config  # noqa: PLC0415 (lazy: start-up cost)

    state = load_config(args.config).state.directory
    if args.command == "export":
        result = export_operations(
            state, args.file, by=who_decides(), agent_stopped=args.agent_stopped
        )
        print(describe(result, "exported to", args.file))
        if result.operations:
            print(f"{args.file} holds card values: keep it private, delete it after import")
    else:
        print(
            describe(
                import_operations(state, args.file, by=who_decides()), "imported from", args.file
            )
        )
    return 0
