"""The doctor's checks of the devices: each reader's device there and usable by the service
user, and the printer answering its status.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from register_agent.commands.doctor.check import Check, failed, passed
from register_agent.config import AgentConfig, PcscReaderConfig, ReaderConfig
from register_agent.errors import RegisterAgentError

SERVICE_USER = "register-agent"  # the unit's User= (sysusers.d)


def reader_check(reader: ReaderConfig) -> Check:
    name = f"reader {reader.name}"
    if isinstance(reader, PcscReaderConfig):
        return _pcsc_check(name, reader)
    path = getattr(reader, "port", None) or getattr(reader, "device", None)
    if path is None:
        return passed(name, f"{reader.kind} (no device to check)")
    device = Path(str(path))
    if not device.exists():
        fix = "plug the reader in, check the udev rule's name, or correct the config"
        return failed(name, f"{device} does not exist", fix)
    user, allowed = _service_user_may_use(device)
    if not allowed:
        fix = "give the device to the service user's group (dialout / input) by a udev rule"
        return failed(name, f"{device} is not readable and writable by {user}", fix)
    return passed(name, f"{device} present, readable by {user}")


def _pcsc_check(name: str, reader: PcscReaderConfig) -> Check:
    """A PC/SC reader has no device node of its own: pcscd must answer and list it."""
    from register_agent.runtime.devices import probe_pcsc  # noqa: PLC0415 (loads the drivers)

    try:
        ok, detail = probe_pcsc(reader)
    except RegisterAgentError as exc:  # pyscard missing
        return failed(name, str(exc), "install the pcsc extra and the pcscd package")
    if ok:
        return passed(name, detail)
    fix = "start pcscd, plug the reader in, or correct `reader` in the config"
    return failed(name, detail, fix)


def no_reader() -> Check:
    """The line for a till without a ``[[readers]]`` block: nothing is wrong with it, but the
    installer must see that no scanner is read (a forgotten block looks the same)."""
    return passed(
        "reader",
        "none configured: no card is scanned at this till; the POS must send the card "
        "with the sale (customer_card) and sales without one get a QR code. A till with a "
        "scanner needs a [[readers]] block (see config/register-agent.example.toml)",
    )


def _service_user_may_use(device: Path) -> tuple[str, bool]:
    """Whether the service user may open ``device``: the user running doctor, or (doctor
    run as root) the unit's ``register-agent`` user, judged by owner, groups and mode."""
    import grp  # noqa: PLC0415 (POSIX only)
    import pwd  # noqa: PLC0415

    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()).pw_name, os.access(device, os.R_OK | os.W_OK)
    try:
        account = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        return "root (no register-agent user on this machine)", True
    groups = {account.pw_gid} | {g.gr_gid for g in grp.getgrall() if SERVICE_USER in g.gr_mem}
    info = device.stat()
    if info.st_uid == account.pw_uid:
        mode = info.st_mode >> 6
    elif info.st_gid in groups:
        mode = info.st_mode >> 3
    else:
        mode = info.st_mode
    return SERVICE_USER, mode & 0o6 == 0o6


async def printer_check(config: AgentConfig) -> Check:
    if config.printer is None:
        return passed("printer", "none configured (the POS prints)")
    from register_agent.runtime.devices import open_printer  # noqa: PLC0415 (loads the drivers)

    printer = open_printer(config.printer)
    try:
        status = await asyncio.wait_for(printer.status(), config.printer.status_timeout_s + 3)
    except (RegisterAgentError, TimeoutError) as exc:
        return failed("printer", f"{config.printer.kind}: {exc}", "check cable, power, address")
    finally:
        await printer.close()
    detail = f"{config.printer.kind}: {status.state}" + (
        f" ({status.detail})" if status.detail else ""
    )
    if status.can_print:
        return passed("printer", detail)
    if status.hint:  # the driver knows what the answer means: its words, not the state's
        return failed("printer", f"{config.printer.kind}: {status.detail}", status.hint)
    fix = f"{status.message} If it is on and ready, check [printer] in the config."
    return failed("printer", detail, fix)
