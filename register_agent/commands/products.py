"""``register-agent products sync FILE``: the POS's product export brought into the Leat
account's product library (products and their categories), so the orders' line items
name products Leat knows. The file is read and checked by ``product_file.py``; what to
send is planned and sent by ``loyalty/orders/library.py``, through the client API under
the account's personal access token (``[api] personal_access_token``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from register_agent.commands.product_file import ProductFile
    from register_agent.config import ApiConfig

HELP = """\
FILE is the POS's product export: CSV (a header row, then one product per row; comma,
semicolon or tab separated) or JSON (an array of objects, or {"products": [...]}).
Columns: external_identifier (required: the POS's code of the product, as the sale's
lines name it), name (required), description, category (its name), category_id (the
POS's code of the category; else the name is its code), price (checked, not sent: a Leat
product has no price). Other columns are ignored.

Only what differs is sent: new categories and products in batches, a changed product
alone; a second run with the same file sends nothing. Products the file does not name
are left as they are. A bad row stops the command before anything is sent, naming its
line. Exit status: 0 done, 1 a request failed (what was done is listed; run it again),
2 a bad file or configuration."""


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    products = commands.add_parser(
        "products", help="the Leat account's product library (products sync FILE)"
    )
    jobs = products.add_subparsers(dest="products_command", required=True, metavar="JOB")
    sync = jobs.add_parser(
        "sync",
        help="create or update products and categories from the POS's export",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sync.add_argument("file", type=Path, metavar="FILE", help="the export, .csv or .json")
    sync.add_argument("--dry-run", action="store_true", help="say what would be sent, send nothing")
    sync.set_defaults(handler=_sync)


def _sync(args: argparse.Namespace) -> int:
    import asyncio  # noqa: PLC0415 (lazy: start-up cost)

    from register_agent.commands.product_file import read_product_file  # noqa: PLC0415
    from register_agent.config import load_config  # noqa: PLC0415

    export = read_product_file(args.file)
    if export.ignored:
        print(f"ignored columns: {', '.join(export.ignored)}")
    config = load_config(args.config)
    return asyncio.run(_run(config.api, export, dry_run=args.dry_run))


async def _run(api: ApiConfig, export: ProductFile, *, dry_run: bool) -> int:
    from register_agent.errors import LoyaltyApiError  # noqa: PLC0415
    from register_agent.loyalty.client_http import ClientApiHttp  # noqa: PLC0415
    from register_agent.loyalty.orders.library import ProductLibrary, plan_sync  # noqa: PLC0415

    http = ClientApiHttp(api)
    try:
        library = ProductLibrary(http)
        try:
            held_products = await library.products()
            held_categories = await library.categories()
        except LoyaltyApiError as exc:
            print(f"products sync: could not read the account's product library: {exc}")
            print("nothing was sent; check [api] and the personal access token, then run it again")
            return 1
        plan = plan_sync(export.rows, export.columns, held_products, held_categories)
        unchanged = (
            f"{plan.unchanged_products} product(s) and {plan.unchanged_categories} "
            "category(ies) already as the file says"
        )
        if not plan.steps:
            print(f"products sync: nothing to send; {unchanged}")
            return 0
        for done, step in enumerate(plan.steps):
            if dry_run:
                print(f"would {step.label} (lines {_lines(step.lines)})")
                continue
            try:
                await library.send(step)
            except LoyaltyApiError as exc:
                print(f"products sync: FAILED to {step.label} (lines {_lines(step.lines)}): {exc}")
                for left in plan.steps[done + 1 :]:
                    print(f"  not sent: {left.label} (lines {_lines(left.lines)})")
                print(
                    f"{done} request(s) done before it. Run the same command again: what was "
                    "done is found in the account and not sent twice (a request whose answer "
                    "was lost may have been applied; the next run finds out)"
                )
                return 1
            print(f"done: {step.label} (lines {_lines(step.lines)})")
        print(f"products sync: {'nothing sent (dry run)' if dry_run else 'done'}; {unchanged}")
        return 0
    finally:
        await http.aclose()


def _lines(lines: list[int]) -> str:
    if len(lines) <= 6:
        return ", ".join(map(str, lines))
    return f"{lines[0]}, {lines[1]}, ... {lines[-1]} ({len(lines)} in all)"
