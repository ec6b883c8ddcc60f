"""Mail as agencies send it, built in the tests with Python's email package (no server, no network).

``form_mail`` writes one message with attachments the way real clients do: a file name in RFC 2231
(what Python, Thunderbird and Gmail write) or as an RFC 2047 encoded word (what Outlook writes), a
``Received:`` header stamped by the DIC's server in whatever zone it runs, a ``Date:`` from the
sender's clock. ``forward`` wraps a message as an attachment of another (message/rfc822), ``mbox``
puts messages in one mbox file.
"""

from __future__ import annotations

import base64
import mailbox
from datetime import datetime
from email import encoders, policy
from email.header import Header
from email.message import EmailMessage
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime
from pathlib import Path

SHEET_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
DIC = "phieu-cntt@stttt.caobang.gov.vn"


def form_mail(
    attachments: list[tuple[str, bytes]] | None = None,
    *,
    sender: str = "Văn phòng <vanphong@so.caobang.gov.vn>",
    subject: str = "Phiếu cung cấp số liệu CNTT",
    received: datetime | None = None,
    sent: datetime | None = None,
    message_id: str | None = None,
    names: str = "rfc2231",
    body: str = "Kính gửi Sở Thông tin và Truyền thông, đơn vị gửi phiếu kèm theo.",
    content_type: tuple[str, str] = SHEET_TYPE,
):
    """A message carrying ``attachments`` (name, bytes); ``names`` is ``rfc2231`` (an EmailMessage, as
    Python and Thunderbird write) or ``rfc2047`` (a message in the compat32 API whose names are
    quoted encoded words, as Outlook writes them). ``message_id=""`` leaves the header out."""
    if names == "rfc2047":
        msg = MIMEMultipart()
        msg.attach(MIMEText(body, "plain", "utf-8"))
    else:
        msg = EmailMessage(policy=policy.SMTP)
    if received is not None:
        msg["Received"] = f"from mx.agency.vn by mail.stttt.caobang.gov.vn with ESMTPS; {format_datetime(received)}"
    msg["From"] = _header(sender) if names == "rfc2047" else sender
    msg["To"] = DIC
    msg["Subject"] = _header(subject) if names == "rfc2047" else subject
    if sent is not None or received is not None:
        msg["Date"] = format_datetime(sent or received)
    if message_id != "":
        msg["Message-ID"] = message_id or f"<{_digest(sender, subject, received, sent)}@agency.vn>"
    if names == "rfc2047":
        for name, data in attachments or []:
            part = MIMEBase(*content_type)
            part.set_payload(data)
            encoders.encode_base64(part)
            encoded = "=?UTF-8?B?" + base64.b64encode(name.encode("utf-8")).decode("ascii") + "?="
            part.add_header("Content-Disposition", "attachment", filename=encoded)
            msg.attach(part)
        return msg
    msg.set_content(body)
    for name, data in attachments or []:
        msg.add_attachment(data, maintype=content_type[0], subtype=content_type[1], filename=name)
    return msg


def _header(text: str) -> str:
    """A header value as an old client writes it: non-ASCII text as RFC 2047 encoded words."""
    if text.isascii():
        return text
    name, _, address = text.rpartition(" <")
    if name and address.endswith(">"):
        return f"{Header(name, 'utf-8').encode()} <{address}"
    return Header(text, "utf-8").encode()


def forward(inner: EmailMessage, *, sender: str, received: datetime, subject: str = "Fwd: phiếu") -> EmailMessage:
    """``inner`` forwarded as an attachment (message/rfc822) by ``sender``."""
    outer = form_mail(sender=sender, subject=subject, received=received, body="Chuyển tiếp phiếu của đơn vị.")
    outer.add_attachment(inner)
    return outer


def write_eml(msg, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(msg.as_bytes())
    return path


def write_mbox(messages: list[EmailMessage], path: Path) -> Path:
    box = mailbox.mbox(path, create=True)
    try:
        for msg in messages:
            box.add(msg.as_bytes())
        box.flush()
    finally:
        box.close()
    return path


def _digest(*parts) -> str:
    import hashlib

    return hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()[:20]
