"""The ``submissions/`` folder on disk: listing it, finding what a receipt names, reading and hashing.

Listing opens nothing (:func:`list_submissions`): symbolic links are never followed and a file over
:data:`MAX_FILE_BYTES` is refused from its size. Each file is then opened once, without following a
link put in its place and without waiting on a FIFO: a file a receipt names is read whole
(:func:`read_on_disk`, the caller hashes the bytes it parses), any other file only hashed in chunks
(:func:`hash_unread`). Receipts name files in Unicode NFC; a file saved with an NFD name (macOS) is
found by its NFC name (:class:`DiskIndex`).
"""

from __future__ import annotations

import hashlib
import os
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ictaudit.intake.package import CHUNK, MAX_FILE_BYTES
from ictaudit.intake.problems import SubmissionError, refusal


@dataclass(frozen=True, eq=False)
class OnDisk:
    """One entry of ``submissions/``: ``kind`` is ``file``, ``symlink`` (never followed) or ``other``.

    Listing opens nothing: a file's ``size`` is the one its directory entry gives, and ``error`` says
    why it cannot be used (over :data:`MAX_FILE_BYTES`; unreadable, once :func:`hash_unread` has
    tried). ``sha256`` is filled by :func:`hash_unread` for a file no receipt has read; a file that
    is read is hashed from the bytes read, so each file is opened once. ``target``: where a link points.
    """

    name: str
    kind: str
    sha256: str = ""
    size: int = 0
    error: SubmissionError | None = None
    path: Path | None = None
    target: str = ""

    @property
    def key(self) -> str:
        """The name as receipts.csv holds it (NFC): a file saved on macOS has an NFD name."""
        return unicodedata.normalize("NFC", self.name)


def list_submissions(subdir: Path) -> list[OnDisk]:
    """Every entry of ``submissions/`` (sorted by name); symbolic links are not followed, no file is opened."""
    if not subdir.is_dir():
        return []
    out = []
    for path in sorted(subdir.iterdir(), key=lambda p: p.name):
        name = path.name
        try:
            st = path.lstat()
        except OSError as exc:  # gone since the directory was listed
            out.append(OnDisk(name, "file", path=path, error=_unreadable(name, exc)))
            continue
        if stat.S_ISLNK(st.st_mode):
            try:
                target = os.readlink(path)
            except OSError:
                target = "?"
            out.append(OnDisk(name, "symlink", path=path, target=target))
        elif stat.S_ISREG(st.st_mode):
            out.append(OnDisk(name, "file", size=st.st_size, error=_too_large(name, st.st_size), path=path))
        else:
            out.append(OnDisk(name, "other", path=path))
    return out


@dataclass(frozen=True)
class DiskIndex:
    """The entries of ``submissions/`` by exact name and by NFC name, built once per cycle (a lookup per
    receipt would otherwise scan every file: quadratic at a national cycle's 10,000 agencies)."""

    by_name: dict[str, list[OnDisk]]
    by_key: dict[str, list[OnDisk]]

    @classmethod
    def of(cls, on_disk: list[OnDisk]) -> DiskIndex:
        by_name: dict[str, list[OnDisk]] = {}
        by_key: dict[str, list[OnDisk]] = {}
        for e in on_disk:
            by_name.setdefault(e.name, []).append(e)
            by_key.setdefault(e.key, []).append(e)
        return cls(by_name, by_key)


def find_submission(index: DiskIndex, file_name: str) -> tuple[OnDisk | None, SubmissionError | None]:
    """The entry a receipt names (exactly, or the same name in another Unicode normal form), and
    when it cannot be read, why (I10 no such file, I15 a link or a folder, I05 the file's own error)."""
    if not file_name or "/" in file_name or "\\" in file_name or file_name in (".", ".."):
        return None, refusal("I10", "not_a_file_name", file=file_name)
    same = index.by_name.get(file_name) or index.by_key.get(unicodedata.normalize("NFC", file_name), [])
    if not same:
        if others := _same_stem(index, file_name):  # e.g. the register says .xlsx, the file is an .ods
            return None, refusal("I10", "absent_other_extension", file=file_name, names=", ".join(others))
        return None, refusal("I10", "absent", file=file_name)
    if len(same) > 1:
        names = ", ".join(repr(e.name) for e in same)
        return None, refusal("I10", "ambiguous", file=file_name, count=len(same), names=names)
    entry = same[0]
    if entry.kind == "symlink":
        return entry, refusal("I15", "link", file=entry.name, target=entry.target)
    if entry.kind != "file":
        return entry, refusal("I15", "not_a_file", file=file_name)
    return entry, entry.error


def _same_stem(index: DiskIndex, file_name: str) -> list[str]:
    """The files of ``submissions/`` with the name ``file_name`` has, but another extension (rare: only
    asked for a name that is absent)."""
    stem = Path(unicodedata.normalize("NFC", file_name)).stem.casefold()
    return sorted(name for name in index.by_key if Path(name).stem.casefold() == stem)


def read_on_disk(entry: OnDisk) -> bytes:
    """The bytes of a listed file, read once (the caller hashes them).

    Raises :class:`SubmissionError` (I05) when it cannot be read, is no longer a regular file, or is
    over :data:`MAX_FILE_BYTES` (checked before reading, and again if it grows while read). The read
    asks for the size the open file has plus one byte, to see that it grows (a read of the whole limit
    would reserve 64 MB for each 12 KB form); growth is read in chunks.
    """
    try:
        with _open_no_follow(entry.path) as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise refusal("I05", "no_longer_a_file", file=entry.name)
            if st.st_size > MAX_FILE_BYTES:
                raise _too_large(entry.name, st.st_size)
            data = fh.read(st.st_size + 1)
            if len(data) > st.st_size:  # growing while read: the rest, in chunks, up to the limit
                parts, total = [data], len(data)
                while total <= MAX_FILE_BYTES and (chunk := fh.read(CHUNK)):
                    parts.append(chunk)
                    total += len(chunk)
                data = b"".join(parts)
    except OSError as exc:
        raise _unreadable(entry.name, exc) from None
    if len(data) > MAX_FILE_BYTES:
        raise _too_large(entry.name, len(data))
    return data


def hash_unread(on_disk: list[OnDisk], read: set[int]) -> list[OnDisk]:
    """The listing with every file not read (``id(entry)`` not in ``read``) hashed in chunks; a file
    over the size limit too, not one whose listing failed."""
    return [
        _hash_on_disk(e.path) if e.kind == "file" and id(e) not in read and (not e.error or e.size > MAX_FILE_BYTES)
        else e
        for e in on_disk
    ]  # fmt: skip


def _hash_on_disk(path: Path) -> OnDisk:
    """The entry of a file that is not read, hashed in chunks (its bytes are not kept)."""
    name = path.name
    digest, size = hashlib.sha256(), 0
    try:
        with _open_no_follow(path) as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                return OnDisk(name, "file", path=path, error=refusal("I05", "no_longer_a_file", file=name))
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        return OnDisk(name, "file", path=path, error=_unreadable(name, exc))
    return OnDisk(name, "file", digest.hexdigest(), size, _too_large(name, size), path)


def _open_no_follow(path: Path):
    """The file for reading, refusing a symbolic link put in its place since it was listed (and not
    waiting on a FIFO put there: the caller checks that what it opened is a regular file)."""
    return os.fdopen(os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)), "rb")


def _unreadable(name: str, exc: OSError) -> SubmissionError:
    return refusal("I05", "unreadable_on_disk", file=name, error=f"{type(exc).__name__}: {exc.strerror or exc}")


def _too_large(name: str, size: int) -> SubmissionError | None:
    """I05 for a file over :data:`MAX_FILE_BYTES` (None when it is not)."""
    if size <= MAX_FILE_BYTES:
        return None
    return refusal("I05", "too_large", file=name, size=size, limit=MAX_FILE_BYTES)
