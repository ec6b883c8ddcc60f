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
from email import policy
from email.message import EmailMessage
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
) -> EmailMessage:
    """A message carrying ``attachments`` (name, bytes); ``names`` is ``rfc2231`` or ``rfc2047``."""
    msg = EmailMessage(policy=policy.SMTP)
    if received is not None:
        msg["Received"] = f"from mx.agency.vn by mail.stttt.caobang.gov.vn with ESMTPS; {format_datetime(received)}"
    msg["From"] = sender
    msg["To"] = DIC
    msg["Subject"] = subject
    if sent is not None or received is not None:
        msg["Date"] = format_datetime(sent or received)
    if message_id is not False:
        msg["Message-ID"] = message_id or f"<{abs(hash((sender, subject, str(received), str(sent))))}@agency.vn>"
    msg.set_content(body)
    for name, data in attachments or []:
        if names == "rfc2047":
            _add_rfc2047_attachment(msg, name, data, content_type)
        else:
            msg.add_attachment(data, maintype=content_type[0], subtype=content_type[1], filename=name)
    return msg


def _add_rfc2047_attachment(msg: EmailMessage, name: str, data: bytes, content_type: tuple[str, str]) -> None:
    """An attachment whose name is an RFC 2047 encoded word in quotes, as Outlook writes it."""
    encoded = "=?UTF-8?B?" + base64.b64encode(name.encode("utf-8")).decode("ascii") + "?="
    part = EmailMessage(policy=policy.SMTP)
    part.set_payload(base64.encodebytes(data).decode("ascii"))
    part["Content-Type"] = f'{content_type[0]}/{content_type[1]}; name="{encoded}"'
    part["Content-Disposition"] = f'attachment; filename="{encoded}"'
    part["Content-Transfer-Encoding"] = "base64"
    if not msg.is_multipart():
        msg.make_mixed()
    msg.attach(part)


def forward(inner: EmailMessage, *, sender: str, received: datetime, subject: str = "Fwd: phiếu") -> EmailMessage:
    """``inner`` forwarded as an attachment (message/rfc822) by ``sender``."""
    outer = form_mail(sender=sender, subject=subject, received=received, body="Chuyển tiếp phiếu của đơn vị.")
    outer.add_attachment(inner)
    return outer


def write_eml(msg: EmailMessage, path: Path) -> Path:
    path.write_bytes(msg.as_bytes(policy=policy.SMTP))
    return path


def write_mbox(messages: list[EmailMessage], path: Path) -> Path:
    box = mailbox.mbox(path, create=True)
    try:
        for msg in messages:
            box.add(msg.as_bytes(policy=policy.SMTP))
        box.flush()
    finally:
        box.close()
    return path
