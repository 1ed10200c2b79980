"""``register-agent demo`` as a new user runs it: a real process, its exit code, the ledger
summary it prints (the counter work included: a card handed out, a newsletter sign-up, a
giftcard payment), and the receipt previews it leaves behind (QR decoded with zbarimg)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from register_agent.sandbox import load_seed
from register_agent.sandbox.tokens import token_hash
from tests.conftest import Sandbox

ROOT = Path(__file__).resolve().parents[2]
PREVIEWS = (
    "1-sale-with-card.png",
    "2-sale-without-card.png",
    "3-sale-offline.png",
    "4-sale-offline-reprint.png",
    "5-welcome-slip.png",
    "6-sale-with-giftcard.png",
)


def run_demo(version: str, out: Path, *options: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "register_agent",
            *options,
            "demo",
            "--api-version",
            version,
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
        cwd=out.parent,
    )


def decoded_qr(png: Path) -> list[str]:
    result = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(png)],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return result.stdout.split()


def summary_number(output: str, label: str) -> int:
    found = re.search(rf"^\s+{label}: (\d+)", output, re.MULTILINE)
    assert found, f"no {label!r} in the summary:\n{output}"
    return int(found.group(1))


def assert_tour_succeeded(
    result: subprocess.CompletedProcess[str],
    out: Path,
    *,
    jan: str = "jan@example.org: -45 points, balance 105",
    receptions: int = 6,
    claims: int = 2,
    vouchers: str = "vouchers redeemed: 0, rewards collected: 0",  # orders only
) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout
    assert "Every step went as expected." in output
    assert summary_number(output, "credit receptions") == receptions
    assert summary_number(output, "QR codes collected") == 1
    assert summary_number(output, "rewards claimed") == claims  # a coffee and a croissant
    assert summary_number(output, "duplicates") == 0
    assert "sales not credited: none" in output
    assert vouchers in output
    # Jan: 150 at the start, +12, -50 (coffee), -25 (croissant), +18 (the giftcard sale);
    # Sofie 500 +20; Marie 20 +9; Ahmed +7 (QR); Lotte's new card +15
    assert jan in output
    # the claimed reward's PLU, from the reward's own attribute in the claim's answer
    assert "The POS rings up PLU PLU-1001 at no charge" in output
    assert "lotte@example.org: +15 points, balance 15" in output
    assert "sofie@example.org: +20 points, balance 520" in output
    # Marie: 20 +9 offline, +14 for the old till's receipt printed through the agent
    assert "marie@example.org: +23 points, balance 43" in output
    assert_till_printed_through_the_agent(output)
    assert "ahmed@example.org: +7 points, balance 7" in output
    assert_counter_work(output)
    for name in PREVIEWS:
        assert (out / name).stat().st_size > 1000, name
    # only the slip without a card has a QR; the others say points (or that they follow)
    assert decoded_qr(out / "1-sale-with-card.png") == []
    assert decoded_qr(out / "3-sale-offline.png") == []
    qr = decoded_qr(out / "2-sale-without-card.png")
    assert len(qr) == 1
    # the URL the demo's sandbox accepted (7 points collected, a second scan refused)
    accepted = re.search(r"\(the QR's URL: (\S+)\)", output)
    assert accepted, output
    assert qr[0] == accepted.group(1)
    return qr[0]


def assert_till_printed_through_the_agent(output: str) -> None:
    """The pass-through step: the old till's receipt came out of the printer with the
    agent's block before its cut (the demo checks the till's bytes around it), credited
    once although the till sent it twice (the ledger's Marie above)."""
    assert "13. A till nobody can change prints its receipt through the agent" in output
    assert "| TOTAAL                      EUR   14,80" in output
    assert re.search(r"\| Points earned +14 +<- the agent's block", output), output
    assert re.search(r"\| Your balance +43 +<- the agent's block", output), output
    assert "The till sends the same job again" in output


def assert_counter_work(output: str) -> None:
    """Issue 7 at the counter, as the sandbox's ledger holds it after the tour."""
    assert "customers created: 1, cards linked: 1" in output  # the blank card, to Lotte
    assert "newsletter sign-ups: 1" in output  # Ahmed, found by e-mail
    # one giftcard payment of EUR 10.00 (the overspend moved nothing), 15.00 left
    assert "giftcard transactions: 1 (EUR -10.00), left on the card: EUR 15.00" in output
    assert "The receipt prints Name: Jan / Tier: Gold / Paid with giftcard ****9B21" in output
    assert 'refused, "the giftcard holds €15.00; ask for another payment' in output
    assert "Your card: ****F6A7 / Your balance: 0" in output  # the welcome slip
    assert "GC7F3A9B21" not in output  # giftcard and blank card by their tails only
    assert "D4E5F6A7" not in output


pytestmark = pytest.mark.skipif(shutil.which("zbarimg") is None, reason="needs zbar-tools")


def test_the_v3_tour_ends_well_and_its_qr_collects_points_once(
    tmp_path: Path, sandbox_clean: Sandbox
) -> None:
    out = tmp_path / "demo-out"
    result = run_demo("v3", out)
    url = assert_tour_succeeded(result, out)
    # a digital reward's code (digital_reward_code) printed on its claim slip
    code = re.search(
        r"PLU PLU-3003, and the code (SANDBOX-\d+) \(digital_reward_code\)", result.stdout
    )
    assert code, result.stdout
    assert (out / "2b-claim-slip.png").stat().st_size > 1000
    # A loyalty token is checked by its hash alone: any sandbox with the seed's secret
    # accepts it, so the test's own sandbox can collect it (once) as a phone would.
    params = dict(parse_qsl(urlsplit(url).query))
    assert params["unique_id"] == "T001-demo-2"
    assert params["unit_value"] == "7.25"
    assert token_hash(params, load_seed().loyalty_token_secret) == params["hash"]
    assert sandbox_clean.claim(url, 7733).json()["data"]["credits"] == 7
    assert sandbox_clean.claim(url, 7733).status_code == 400


def test_the_v1_tour_ends_well_with_a_staged_reception_qr(tmp_path: Path) -> None:
    out = tmp_path / "demo-out"
    url = assert_tour_succeeded(run_demo("v1", out), out)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/s/[A-Za-z0-9]+", url)


def test_the_orders_tour_sells_an_order_and_returns_part_of_it(tmp_path: Path) -> None:
    out = tmp_path / "demo-out"
    result = run_demo("orders", out)
    output = result.stdout
    # Jan as on v3, +6 (the voucher's sale), -40 (the cake, claimed ahead), +3 (the sale
    # that hands it out), and less the 7 points the return of EUR 8.00 of his 12.50 took
    # back; two sales more, and the cake's claim besides the coffee and the croissant
    assert_tour_succeeded(
        result,
        out,
        jan="jan@example.org: -83 points, balance 67",
        receptions=8,
        claims=3,
        vouchers="vouchers redeemed: 1, rewards collected: 1",
    )
    assert "as order T001#demo-1: its two lines as line items" in output
    assert "Sale demo-1, EUR 12.50: Points earned: 12; Your balance: 162." in output
    # the voucher: checked, locked, redeemed with its sale, printed by its tail
    assert "Sale demo-1v, EUR 6.40 after the free coffee: Points earned: 6; Your balance: 168;" in (
        output
    )
    assert "the receipt says 'Voucher ****E-01 redeemed: Free coffee'" in output
    assert (out / "1b-sale-with-voucher.png").stat().st_size > 1000
    # the cake: claimed ahead (its credits then), collected with the next sale
    assert "Jan pre-redeems the birthday cake (40 points, taken now): he has 128" in output
    assert "Points earned: 3; Your balance: 131; the receipt lists 'Birthday cake" in output
    assert (out / "1c-sale-collecting-reward.png").stat().st_size > 1000
    assert "Leat takes back 7 points: Jan has 124." in output
    assert "VCH-COFFEE-01" not in output + result.stderr  # the voucher by its tail only
    assert "sandbox-personal-access-token" not in output + result.stderr


def test_a_step_that_does_not_go_as_expected_ends_the_demo_with_its_name(
    tmp_path: Path,
) -> None:
    """A till that answers before the credits are confirmed (no receipt wait) cannot show
    them on the first receipt: the tour names that step and exits 1, without a traceback."""
    config = tmp_path / "config.toml"
    config.write_text("[till]\nreceipt_wait_s = 0\n", encoding="utf-8")
    out = tmp_path / "demo-out"
    result = run_demo("v3", out, "--config", str(config))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "DEMO FAILED at '2. The POS says the sale is paid'" in result.stderr
    assert "credits on the receipt" in result.stderr
    assert "Traceback" not in result.stderr
    assert "Every step went as expected." not in result.stdout
