"""Number formats in an ``.xls`` workbook (BIFF8 inside a compound file), read without a spreadsheet library.

python-calamine reads an ``.xls``'s values but not its formats; :mod:`ictaudit.intake.cellformats`
needs to know which cells are formatted as a percentage. This module reads just that, from the bytes:

1. :func:`workbook_stream` follows the compound file (MS-CFB: header, sector allocation table,
   directory) to the ``Workbook`` stream (``Book``, Excel 5/95, is not BIFF8, and a stream under
   4,096 bytes — in the mini stream — is no form: None for both);
2. :func:`percent_cells_biff8` walks its records (MS-XLS): the FORMAT (0x041E) and XF (0x00E0)
   records of the workbook globals give the format of every cell style, the BOUNDSHEET8 (0x0085)
   records where each sheet starts; then the numeric cells of the sheet — NUMBER (0x0203), RK
   (0x027E), MULRK (0x00BD), FORMULA (0x0006) — give each cell's style.

Every offset and count comes from an untrusted file: each is bounded, chains are followed at most
once per sector, and anything that does not add up gives None or an empty result ("no format
known"), never an exception the caller must know of beyond ``ValueError``/``struct.error``. The
encrypted workbooks are refused before (:mod:`ictaudit.intake.package`).
"""

from __future__ import annotations

import struct
from collections.abc import Callable

_CFB_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
_END_OF_CHAIN, _FREE = 0xFFFFFFFE, 0xFFFFFFFF
_MAX_SECTORS = 1 << 20  # far more than a 64 MiB file can hold at 512 bytes a sector
_BOF, _EOF, _FORMAT, _XF, _BOUNDSHEET = 0x0809, 0x000A, 0x041E, 0x00E0, 0x0085
_NUMBER, _RK, _MULRK, _FORMULA = 0x0203, 0x027E, 0x00BD, 0x0006
#: Excel's built-in percentage formats (ifmt 9 and 10)
_BUILTIN_PERCENT = {9: "0%", 10: "0.00%"}


def workbook_stream(data: bytes) -> bytes | None:
    """The ``Workbook`` stream of a compound file, or None (not a compound file, no BIFF8 workbook,
    or a structure that does not add up)."""
    if not data.startswith(_CFB_MAGIC) or len(data) < 512:
        return None
    shift, mini_shift = struct.unpack_from("<HH", data, 0x1E)
    if shift not in (9, 12) or mini_shift != 6:
        return None
    size = 1 << shift
    first_dir, _, cutoff, _, _, first_difat, n_difat = struct.unpack_from("<IIIIIII", data, 0x30)
    fat = _fat(data, size, first_difat, n_difat)
    directory = _chain(data, fat, first_dir, size)
    entries = [directory[i : i + 128] for i in range(0, len(directory) - 127, 128)]
    if not entries:
        return None
    for entry in entries:
        name_len = struct.unpack_from("<H", entry, 0x40)[0]
        name = entry[: max(0, min(name_len, 64) - 2)].decode("utf-16-le", "replace")
        if entry[0x42] != 2 or name != "Workbook":
            continue
        start, length = struct.unpack_from("<IQ", entry, 0x74)
        length &= 0xFFFFFFFF if shift == 9 else (1 << 64) - 1  # version 3 files: the high half is unused
        if length < cutoff:  # a stream this small lives in the mini stream: no form is, none is read
            return None
        return _chain(data, fat, start, size)[:length]
    return None


def _fat(data: bytes, size: int, first_difat: int, n_difat: int) -> list[int]:
    """The sector allocation table: the sectors the header and the DIFAT chain list, concatenated."""
    sectors = [s for s in struct.unpack_from("<109I", data, 0x4C) if s < _FREE - 1]
    seen, at = set(), first_difat
    for _ in range(min(n_difat, _MAX_SECTORS)):
        if at >= _FREE - 1 or at in seen:
            break
        seen.add(at)
        block = _sector(data, at, size)
        entries = struct.unpack_from(f"<{size // 4}I", block)
        sectors += [s for s in entries[:-1] if s < _FREE - 1]
        at = entries[-1]
    return _fat_of_sectors(b"".join(_sector(data, s, size) for s in sectors))


def _fat_of_sectors(table: bytes) -> list[int]:
    return list(struct.unpack_from(f"<{len(table) // 4}I", table))


def _sector(data: bytes, n: int, size: int) -> bytes:
    """Sector ``n`` of ``size`` bytes (the header fills the file's first sector)."""
    offset = (n + 1) * size
    block = data[offset : offset + size]
    if len(block) != size:
        raise ValueError(f"sector {n} lies outside the file")
    return block


def _chain(data: bytes, fat: list[int], start: int, size: int) -> bytes:
    """The bytes of the chain of sectors from ``start``, each sector at most once."""
    out, seen, at = [], set(), start
    while at < len(fat) and at not in seen and len(seen) < _MAX_SECTORS:
        seen.add(at)
        out.append(_sector(data, at, size))
        at = fat[at]
    if at not in (_END_OF_CHAIN, _FREE) and at not in seen:
        raise ValueError("a sector chain leaves the allocation table")
    return b"".join(out)


# -- the BIFF8 records ------------------------------------------------------------------------------


def _records(stream: bytes, offset: int = 0):
    """(type, body, offset of the record) of each record from ``offset`` to the end of its substream."""
    at = offset
    while at + 4 <= len(stream):
        kind, length = struct.unpack_from("<HH", stream, at)
        body = stream[at + 4 : at + 4 + length]
        yield kind, body, at
        if kind == _EOF:
            return
        at += 4 + length


def _unicode_string(body: bytes, at: int, length_bytes: int) -> str:
    """An XLUnicodeString (``length_bytes`` 2) or ShortXLUnicodeString (1) at ``at``."""
    count = body[at] if length_bytes == 1 else struct.unpack_from("<H", body, at)[0]
    flags = body[at + length_bytes]
    start = at + length_bytes + 1
    if flags & 0x1:
        return body[start : start + 2 * count].decode("utf-16-le", "replace")
    return body[start : start + count].decode("latin-1")


def percent_cells_biff8(stream: bytes, sheet: str, column: int, is_percent_format: Callable[[str], bool]) -> dict[int, str]:
    """Row (0-based) → format code, for the numeric cells of ``column`` in ``sheet`` (matched loosely)
    whose format ``is_percent_format`` says is a percentage; empty for a stream that is not BIFF8."""
    from ictaudit.intake.parsing import loose_key

    records = _records(stream)
    first = next(records, None)
    if first is None or first[0] != _BOF or len(first[1]) < 2 or struct.unpack_from("<H", first[1])[0] != 0x0600:
        return {}
    formats: dict[int, str] = dict(_BUILTIN_PERCENT)
    xf_format: list[int] = []
    sheets: dict[str, int] = {}
    for kind, body, _ in records:
        if kind == _FORMAT and len(body) >= 5:
            formats[struct.unpack_from("<H", body)[0]] = _unicode_string(body, 2, 2)
        elif kind == _XF and len(body) >= 4:
            xf_format.append(struct.unpack_from("<H", body, 2)[0])
        elif kind == _BOUNDSHEET and len(body) >= 8:
            sheets.setdefault(loose_key(_unicode_string(body, 6, 1)), struct.unpack_from("<I", body)[0])
    percent_xf = {
        i: formats[ifmt] for i, ifmt in enumerate(xf_format) if ifmt in formats and is_percent_format(formats[ifmt])
    }
    at = sheets.get(loose_key(sheet))
    if not percent_xf or at is None or at >= len(stream):
        return {}
    out: dict[int, str] = {}
    for kind, body, _ in _records(stream, at):
        for row, col, xf in _numeric_cells(kind, body):
            if col == column and xf in percent_xf:
                out[row] = percent_xf[xf]
    return out


def _numeric_cells(kind: int, body: bytes):
    """(row, column, XF index) of each numeric cell a record holds."""
    if kind in (_NUMBER, _RK, _FORMULA) and len(body) >= 6:
        yield struct.unpack_from("<HHH", body)
    elif kind == _MULRK and len(body) >= 6:
        row, first = struct.unpack_from("<HH", body)
        count = (len(body) - 6) // 6
        for k in range(count):
            yield row, first + k, struct.unpack_from("<H", body, 4 + 6 * k)[0]
