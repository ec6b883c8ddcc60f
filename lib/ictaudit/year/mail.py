"""Mail as the DIC saved it: messages from ``.eml`` files, folders of them and mbox files, with Python's
``email`` and ``mailbox`` (no server, no network).

In: paths. Out: one :class:`Mail` per message, in the order found, each with where it came from, its
Message-ID, sender, subject, the moment it was received and its attachments' bytes — or why it was
refused. Nothing here raises for a bad message: a message that cannot be used carries its
``refusal`` (a reason id of ``receive.yaml`` and the values its text quotes) and the others go on.

- **Received** is the date of the topmost ``Received:`` header (the hop that delivered it to the
  DIC's mailbox), else ``Date:``; a date without a zone (``-0000``) is taken as UTC.
- **Attachments** are the parts with a file name or ``Content-Disposition: attachment``, also inside
  forwarded messages (``message/rfc822``, marked ``forwarded``); names are decoded (RFC 2047 and
  2231) and NFC-normalised, and only ever shown, never used as a path.
- **Refused**: a file that is not mail, a message over :data:`MAX_MESSAGE_BYTES`, a malformed MIME
  structure (a missing boundary, a truncated part, bad base64: the message was cut or damaged), a
  message without a date, more than :data:`MAX_PARTS` parts or deeper than :data:`MAX_DEPTH`
  forwards. An attachment is refused alone for a name with ``/``, ``\\`` or ``..``, Outlook's
  ``winmail.dat`` (TNEF), or a size over intake's limit (checked before it is decoded).
"""

from __future__ import annotations

import email
import email.errors
import email.policy
import email.utils
import hashlib
import mailbox
import os
import re
import stat
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import decode_header, make_header
from pathlib import Path

from ictaudit.intake.package import MAX_FILE_BYTES

#: a message larger than this is not read (an attachment at intake's limit, base64-encoded, fits)
MAX_MESSAGE_BYTES = 96 * 1024 * 1024
MAX_PARTS = 500  # MIME parts of one message
MAX_DEPTH = 8  # forwarded messages inside forwarded messages
#: defects that mean the structure was cut or damaged: what an attachment holds cannot be trusted
#: the defects that make a message unusable, each as the receive report says it
FATAL_DEFECTS_VI = {
    email.errors.StartBoundaryNotFoundDefect: "không thấy ranh giới mở đầu của các phần",
    email.errors.CloseBoundaryNotFoundDefect: "thiếu ranh giới kết thúc (thư bị cắt)",
    email.errors.MultipartInvariantViolationDefect: "thư nhiều phần nhưng không có phần nào",
    email.errors.NoBoundaryInMultipartDefect: "thư nhiều phần không khai báo ranh giới",
    email.errors.InvalidBase64PaddingDefect: "tệp đính kèm mã hóa base64 thiếu phần đệm",
    email.errors.InvalidBase64CharactersDefect: "tệp đính kèm mã hóa base64 có ký tự lạ",
    email.errors.InvalidBase64LengthDefect: "tệp đính kèm mã hóa base64 sai độ dài",
}
FATAL_DEFECTS = tuple(FATAL_DEFECTS_VI)
_MAIL_HEADERS = ("from", "date", "received", "message-id", "subject", "mime-version", "to", "return-path")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
TEXT_CHARS = 200  # a sender or subject is cut to this many characters


@dataclass(frozen=True)
class Refusal:
    """Why a message or an attachment is refused: a reason id of ``receive.yaml`` and its values."""

    reason: str
    values: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Attachment:
    """One attachment: its name as the mail gives it, its bytes (None when refused)."""

    name: str
    content_type: str
    data: bytes | None
    forwarded: bool = False  # inside a forwarded message
    forwarded_from: str = ""  # the forwarded message's sender
    refusal: Refusal | None = None


@dataclass(frozen=True)
class Mail:
    """One message as received; ``refusal`` set when it cannot be used at all."""

    source: str  # the file, and ``#n`` for the n-th message of an mbox
    message_id: str = ""  # the Message-ID header, or ``sha256:<hash of the message>`` when it has none
    sender: str = ""
    subject: str = ""
    received_at: datetime | None = None
    time_header: str = ""  # "Received" or "Date": where received_at comes from
    attachments: tuple[Attachment, ...] = ()
    refusal: Refusal | None = None


def read_mail(paths: Sequence[Path | str]) -> Iterator[Mail]:
    """Every message of ``paths`` (``.eml`` files, folders of them, mbox files; a file is an mbox when
    it starts with a ``From `` line), in the order given, folders in name order. Never raises for a
    bad message or file: it comes back with its refusal."""
    for path in map(Path, paths):
        yield from _read_path(path)


def _read_path(path: Path) -> Iterator[Mail]:
    try:
        st = path.lstat()
    except OSError as exc:
        yield Mail(str(path), refusal=Refusal("unreadable", {"error": exc.strerror or str(exc)}))
        return
    if stat.S_ISLNK(st.st_mode):
        yield Mail(str(path), refusal=Refusal("symlink", {"target": os.readlink(path)}))
    elif stat.S_ISDIR(st.st_mode):
        for child in sorted(path.iterdir(), key=lambda p: p.name):
            yield from _read_path(child)
    elif not stat.S_ISREG(st.st_mode):
        yield Mail(str(path), refusal=Refusal("not_a_file"))
    elif _starts_with_from_line(path):
        yield from _read_mbox(path)
    elif st.st_size > MAX_MESSAGE_BYTES:
        yield Mail(str(path), refusal=Refusal("too_large", {"size": st.st_size, "limit": MAX_MESSAGE_BYTES}))
    else:
        try:
            data = path.read_bytes()
        except OSError as exc:
            yield Mail(str(path), refusal=Refusal("unreadable", {"error": exc.strerror or str(exc)}))
            return
        yield parse_message(data, str(path))


def _starts_with_from_line(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(5) == b"From "
    except OSError:
        return False


def _read_mbox(path: Path) -> Iterator[Mail]:
    try:
        box = mailbox.mbox(path, create=False)
        keys = list(box.iterkeys())
    except (OSError, mailbox.Error) as exc:
        yield Mail(str(path), refusal=Refusal("unreadable", {"error": str(exc)}))
        return
    try:
        for n, key in enumerate(keys, start=1):
            source = f"{path}#{n}"
            with box.get_file(key) as fh:
                data = fh.read(MAX_MESSAGE_BYTES + 1)
            if len(data) > MAX_MESSAGE_BYTES:
                yield Mail(
                    source, refusal=Refusal("too_large", {"size": f"> {MAX_MESSAGE_BYTES}", "limit": MAX_MESSAGE_BYTES})
                )
            else:
                yield parse_message(data, source)
    finally:
        box.close()


def parse_message(data: bytes, source: str) -> Mail:
    """One message from its bytes; a message that cannot be used comes back with its refusal."""
    digest = hashlib.sha256(data).hexdigest()
    try:
        msg = email.message_from_bytes(data, policy=email.policy.default)
        if not any(k.lower() in _MAIL_HEADERS for k in msg):
            return Mail(source, message_id=f"sha256:{digest}", refusal=Refusal("not_mail"))
        message_id = _text(msg.get("Message-ID", "")).strip("<> ") or f"sha256:{digest}"
        if message_id != f"sha256:{digest}":
            message_id = f"<{message_id}>"
        sender, subject = _header_text(msg, "From"), _header_text(msg, "Subject")
        base = Mail(source, message_id, sender, subject)
        received_at, header = received_time(msg)
        parts: list[tuple] = []
        _collect(msg, parts, forwarded_from=None, depth=0)
        attachments = tuple(_attachment(part, forwarded_from) for part, forwarded_from in parts)
        defects = _fatal_defects(msg)  # after decoding: bad base64 is found then
    except _TooComplex as exc:
        return Mail(source, message_id=f"sha256:{digest}", refusal=Refusal("too_complex", {"what": str(exc)}))
    except Exception as exc:  # a message the parser cannot take apart: refused alone
        return Mail(source, message_id=f"sha256:{digest}", refusal=Refusal("malformed", {"error": _describe(exc)}))
    if defects:
        return _with(base, refusal=Refusal("malformed", {"error": ", ".join(defects)}))
    if received_at is None:
        return _with(base, refusal=Refusal("no_time"))
    return _with(base, received_at=received_at, time_header=header, attachments=attachments)


def _with(mail: Mail, **changes) -> Mail:
    from dataclasses import replace

    return replace(mail, **changes)


def received_time(msg) -> tuple[datetime | None, str]:
    """(the moment the message was received, the header it comes from): the topmost ``Received:``
    header's date, else ``Date:``; None when neither holds a date. A date without a zone is UTC."""
    for header in msg.get_all("Received") or ():
        text = str(header)
        if ";" in text:
            stamp = _parse_date(text.rsplit(";", 1)[1])
            if stamp is not None:
                return stamp, "Received"
        break  # only the topmost one: the DIC's own server's
    stamp = _parse_date(str(msg.get("Date", "") or ""))
    return (stamp, "Date") if stamp is not None else (None, "")


def _parse_date(text: str) -> datetime | None:
    try:
        stamp = email.utils.parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


class _TooComplex(Exception):
    pass


def _collect(msg, out: list, forwarded_from: str | None, depth: int) -> None:
    """Every leaf part of ``msg`` that is an attachment, with the sender of the forwarded message it is in."""
    if depth > MAX_DEPTH:
        raise _TooComplex(f"hơn {MAX_DEPTH} thư chuyển tiếp lồng nhau")
    for part in msg.iter_parts() if msg.is_multipart() else ():
        if len(out) >= MAX_PARTS:
            raise _TooComplex(f"hơn {MAX_PARTS} tệp đính kèm")
        if part.get_content_type() == "message/rfc822" and not isinstance(part.get_payload(), str):
            inner = part.get_payload()[0]
            _collect(inner, out, _header_text(inner, "From") or "?", depth + 1)
        elif part.is_multipart():
            _collect(part, out, forwarded_from, depth + 1)
        elif part.get_filename() is not None or part.get_content_disposition() == "attachment":
            out.append((part, forwarded_from))


def _attachment(part, forwarded_from: str | None) -> Attachment:
    raw_name = part.get_filename()
    name = _text(raw_name) if raw_name is not None else ""
    ctype = part.get_content_type()
    kw = {"forwarded": forwarded_from is not None, "forwarded_from": forwarded_from or ""}
    if name and ("/" in name or "\\" in name or ".." in name):
        return Attachment(name, ctype, None, **kw, refusal=Refusal("unsafe_name"))
    if ctype == "application/ms-tnef" or name.casefold() == "winmail.dat":
        return Attachment(name, ctype, None, **kw, refusal=Refusal("winmail"))
    encoded = part.get_payload()
    if isinstance(encoded, str) and len(encoded) * 3 // 4 > MAX_FILE_BYTES + 4096:
        return Attachment(name, ctype, None, **kw, refusal=Refusal("attachment_too_large",
                                                                  {"size": len(encoded) * 3 // 4, "limit": MAX_FILE_BYTES}))  # fmt: skip
    data = part.get_payload(decode=True)
    if data is None:
        data = b""
    if len(data) > MAX_FILE_BYTES:
        return Attachment(
            name,
            ctype,
            None,
            **kw,
            refusal=Refusal("attachment_too_large", {"size": len(data), "limit": MAX_FILE_BYTES}),
        )
    return Attachment(name, ctype, data, **kw)


def _fatal_defects(msg) -> list[str]:
    """The structural defects found in any part (after the attachments were decoded), in words."""
    found = []
    for part in msg.walk():
        for defect in getattr(part, "defects", ()):
            if isinstance(defect, FATAL_DEFECTS):
                found.append(next(vi for kind, vi in FATAL_DEFECTS_VI.items() if isinstance(defect, kind)))
    return sorted(set(found))


def _header_text(msg, name: str) -> str:
    """A header as shown (:func:`_text`), decoded from its raw text as RFC 2047 says: the space between two
    adjacent encoded words is dropped (the parsed address header keeps it, so a name split across two
    encoded words read "Xã hộ i")."""
    raw = next((value for key, value in msg.raw_items() if key.lower() == name.lower()), None)
    if raw is None:
        return ""
    try:
        return _text(make_header(decode_header(raw)))
    except Exception:  # an encoding Python cannot decode: as the parser shows it
        return _text(msg.get(name, ""))


def _text(value) -> str:
    """Header text as shown: decoded, NFC, on one line without control characters, cut to :data:`TEXT_CHARS`."""
    try:
        text = str(value)
    except Exception:  # a header the parser cannot decode
        text = repr(value)
    text = " ".join(_CONTROL.sub(" ", unicodedata.normalize("NFC", text)).split())
    return text if len(text) <= TEXT_CHARS else text[: TEXT_CHARS - 1] + "…"


def _describe(exc: BaseException) -> str:
    return _text(f"{type(exc).__name__}: {exc}")
