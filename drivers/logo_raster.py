"""The shop's logo (``[receipt] logo``) as the printer's raster: converted once with Pillow
(grey, scaled to fit the paper, Floyd-Steinberg dithered to one bit, centred on the paper's
full width) and kept in memory and on disk, keyed by the file's digest and the paper's dots,
so no receipt pays for the conversion. ``escpos_render`` prints it with ``GS v 0``; the PNG
preview draws the same bits.
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

log = logging.getLogger(__name__)

#: a logo, not a poster: taller ones are scaled down to this many dots (about 3 cm)
MAX_HEIGHT_DOTS = 240
_MAGIC = b"RALOGO1\n"


class LogoError(Exception):
    """The logo cannot be used; the message says what to do."""


@dataclass(frozen=True)
class Raster:
    """One bit a dot, rows of ``width_bytes`` bytes, the high bit leftmost, 1 = black."""

    width_bytes: int
    height: int
    bits: bytes

    @property
    def gs_v_0(self) -> bytes:
        """``GS v 0 m xL xH yL yH`` and the bits: the printer's raster bit image, normal size."""
        x, y = self.width_bytes, self.height
        return b"\x1dv0\x00" + bytes([x % 256, x // 256, y % 256, y // 256]) + self.bits

    def image(self) -> Image.Image:
        """The raster as a black-on-white picture (the preview's)."""
        picture = Image.frombytes("1", (self.width_bytes * 8, self.height), self.bits)
        return ImageOps.invert(picture.convert("L"))


_cache: dict[tuple[str, int], Raster] = {}
_lock = threading.Lock()
#: how many logos this process has converted (the cache's proof, and the benchmark's count)
conversions = 0


def logo_raster(path: Path, dots: int, cache_dir: Path | None = None) -> Raster:
    """The raster of the logo at ``path`` for paper ``dots`` wide; LogoError when the file
    cannot be read or is no picture."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LogoError(
            f"receipt logo {path} cannot be read ({exc.strerror or exc}): correct [receipt] "
            "logo, or give the file to the service user"
        ) from exc
    key = (hashlib.sha256(data).hexdigest(), dots)
    with _lock:  # two receipts at once convert it once
        if (found := _cache.get(key)) is not None:
            return found
        raster = _from_disk(cache_dir, key) or _convert(path, data, dots, cache_dir, key)
        _cache[key] = raster
        return raster


def _convert(
    path: Path, data: bytes, dots: int, cache_dir: Path | None, key: tuple[str, int]
) -> Raster:
    global conversions  # noqa: PLW0603 (a process-wide count, read by tests and bench)
    try:
        with Image.open(io.BytesIO(data)) as opened:
            picture = opened.convert("RGBA")
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise LogoError(
            f"receipt logo {path} is not a picture Pillow can read ({exc}): save it as PNG"
        ) from exc
    # transparent parts are paper, not ink
    paper = Image.new("RGBA", picture.size, "white")
    grey = Image.alpha_composite(paper, picture).convert("L")
    width = dots - dots % 8
    # Decision: a logo narrower than the paper keeps its size (blown up, a small logo
    # prints blurred); a wider or taller one is scaled down to fit
    grey.thumbnail((width, MAX_HEIGHT_DOTS), Image.Resampling.LANCZOS)
    ink = ImageOps.invert(grey).convert("1")  # Floyd-Steinberg: 1 bits are ink now
    canvas = Image.new("1", (width, ink.height), 0)
    canvas.paste(ink, ((width - ink.width) // 2, 0))  # centred on the paper's width
    raster = Raster(width // 8, canvas.height, canvas.tobytes())
    conversions += 1
    log.info("receipt logo: %s converted to %dx%d dots for %d-dot paper", path, *ink.size, width)
    _to_disk(cache_dir, key, raster)
    return raster


def _cache_file(cache_dir: Path, key: tuple[str, int]) -> Path:
    return cache_dir / f"logo-{key[0][:32]}-{key[1]}.raster"


def _from_disk(cache_dir: Path | None, key: tuple[str, int]) -> Raster | None:
    if cache_dir is None:
        return None
    try:
        stored = _cache_file(cache_dir, key).read_bytes()
    except OSError:
        return None
    if not stored.startswith(_MAGIC) or len(stored) < len(_MAGIC) + 4:
        return None
    head = stored[len(_MAGIC) : len(_MAGIC) + 4]
    width_bytes, height = int.from_bytes(head[:2], "big"), int.from_bytes(head[2:], "big")
    bits = stored[len(_MAGIC) + 4 :]
    if len(bits) != width_bytes * height:
        return None  # torn by a crash while written: convert again
    return Raster(width_bytes, height, bits)


def _to_disk(cache_dir: Path | None, key: tuple[str, int], raster: Raster) -> None:
    if cache_dir is None:
        return
    target = _cache_file(cache_dir, key)
    head = raster.width_bytes.to_bytes(2, "big") + raster.height.to_bytes(2, "big")
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        partial.write_bytes(_MAGIC + head + raster.bits)
        partial.replace(target)
    except OSError as exc:  # a cache, not a need: the next start converts it again
        log.warning("receipt logo: not cached on disk (%s): %s", target, exc)
