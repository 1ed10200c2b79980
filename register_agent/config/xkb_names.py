"""The keyboard layouts a keyboard-wedge reader may name, read from the XKB rules list that
xkb-data installs (the same data the reader's driver compiles its keymap from), so a typo in
``layout`` is refused when the config is read rather than when the first card is scanned.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

#: xkb-data's list of layouts and variants (Debian, Raspberry Pi OS and every desktop distro)
RULES_LIST = Path("/usr/share/X11/xkb/rules/evdev.lst")

HOW_TO_LIST = (
    "list the valid names with `localectl list-x11-keymap-layouts` "
    "(variants: `localectl list-x11-keymap-variants LAYOUT`), "
    f"or read the '! layout' and '! variant' sections of {RULES_LIST}"
)


@cache
def _known(rules_list: Path) -> tuple[frozenset[str], frozenset[tuple[str, str]]]:
    """(layouts, (layout, variant) pairs) of the rules list; empty when it is missing."""
    layouts: set[str] = set()
    variants: set[tuple[str, str]] = set()
    section = ""
    try:
        lines = rules_list.read_text(encoding="utf-8").splitlines()
    except OSError:
        return frozenset(), frozenset()
    for line in lines:
        if line.startswith("!"):
            section = line[1:].strip()
        elif line.strip() and section == "layout":
            layouts.add(line.split()[0])
        elif line.strip() and section == "variant":
            # "  nodeadkeys      be: Belgian (no dead keys)": the variant, then its layout
            name, owner = line.split()[:2]
            variants.add((owner.rstrip(":"), name))
    return frozenset(layouts), frozenset(variants)


def check_layout(layout: str, variant: str, rules_list: Path = RULES_LIST) -> None:
    """Raise ValueError with what to do when ``layout`` (and ``variant``) is not an XKB name
    (not checked without xkb-data's list: the reader then fails to open, naming xkb-data)."""
    layouts, variants = _known(rules_list)
    if not layouts:
        # no xkb-data here: the reader cannot open and says so (install xkb-data), and
        # disables only itself; the config does not stop the till's sales over one reader
        return
    if layout not in layouts:
        raise ValueError(f"unknown keyboard layout {layout!r}; {HOW_TO_LIST}")
    if variant and (layout, variant) not in variants:
        raise ValueError(f"unknown variant {variant!r} of layout {layout!r}; {HOW_TO_LIST}")
