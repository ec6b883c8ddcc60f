"""The three views of the year's status (:class:`ictaudit.report.status.YearStatus`), in Vietnamese.

- :func:`summary_text`: a screen at the end of ``ictaudit run`` — how many agencies in each status, each
  agency not evaluated with its reason, the problems found (E/W) and what remains after the
  corrections, the register's own problems by line, the corrections applied and each one rejected
  with its line and reason, the confirmations sent and answered; every list cut to a few lines, the
  rest in the page;
- :func:`status_text`: what ``ictaudit status`` prints — the same, then whom to chase, then every
  agency with its receipts;
- :func:`write_status_page`: ``status.html``, the complete page (``templates/status.html.j2``). In a
  run's outputs it is hashed like the other pages: it holds no wall-clock time (``run_note`` is only
  for a page written outside a run).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ictaudit.common.numfmt import fmt_date
from ictaudit.report.inputs import STATUS_VI as REPORT_STATUS_VI
from ictaudit.report.status import CORRECTION_VI, STATUS_VI, AgencyStatus, YearStatus

SHOWN = 8  # lines of each list on the console; the rest is in status.html
USE_VI = {"used": "dùng", "kept": "lưu, không chấm điểm", "not_used": "không dùng", "": ""}


def _cut(lines: list[str], more: str) -> list[str]:
    if len(lines) <= SHOWN:
        return lines
    return [*lines[:SHOWN], f"… và {len(lines) - SHOWN} {more} khác (xem status.html)"]


def _issues_line(ys: YearStatus) -> str:
    n = ys.issues
    e1, w1, e2, w2 = n.get(("1", "E"), 0), n.get(("1", "W"), 0), n.get(("2", "E"), 0), n.get(("2", "W"), 0)
    if not (e1 or w1 or e2 or w2):
        return "Vấn đề phát hiện ở phiếu gốc: không có."
    return (
        f"Vấn đề phát hiện ở phiếu gốc (vòng 1): {e1} lỗi, {w1} cảnh báo; còn lại sau hiệu chỉnh (vòng 2): "
        f"{e2} lỗi, {w2} cảnh báo."
    )


def _correction_line(c) -> str:
    where = f"corrections.csv dòng {c.line}" if c.line else "corrections.csv"
    return f"{c.correction_id} ({where}; {c.agency_id}, {c.field}): {c.reason}"


def summary_blocks(ys: YearStatus) -> list[tuple[str, list[str], str]]:
    """The summary as (line, the items under it, what the items are called): each item whole."""
    place = f" — {ys.province}" if ys.province else ""
    blocks = [
        (f"Kỳ đánh giá {ys.year}{place}: {len(ys.agencies)} đơn vị trong danh sách.", [], ""),
        (" · ".join(f"{STATUS_VI[s]}: {n}" for s, n in ys.counts.items()), [], ""),
    ]
    if not ys.ran:
        blocks.append(("Chưa chạy kiểm tra (ictaudit run): trạng thái theo danh sách đơn vị và sổ tiếp nhận.", [], ""))
    blocks += [(f"Lưu ý: {note}", [], "") for note in ys.notes]
    if ys.ran:
        unranked = ys.not_ranked
        if unranked:
            items = [f"{a.name} ({a.agency_id}) — {a.status_vi}: {_own_reason(a)}" for a in unranked]
            blocks.append((f"Không được đánh giá, xếp hạng ({len(unranked)}):", items, "đơn vị"))
        blocks.append((_issues_line(ys), [], ""))
    if ys.register_problems:
        items = [p.message for p in ys.register_problems]
        blocks.append((f"Vấn đề ở sổ tiếp nhận và tệp phiếu ({len(items)}):", items, "vấn đề"))
    if ys.cell_problems:
        blocks.append(
            (f"Vấn đề ở từng ô số liệu khi đọc phiếu: {ys.cell_problems} (gửi đơn vị trong sổ xác nhận).", [], "")
        )
    if ys.ran:
        blocks += _correction_blocks(ys)
    return blocks


def _correction_blocks(ys: YearStatus) -> list[tuple[str, list[str], str]]:
    """The corrections (each rejected one with its line and reason) and the confirmations."""
    rejected = ys.rejected
    if ys.corrections:
        counts = ", ".join(f"{n} {CORRECTION_VI.get(s, s)}" for s, n in ys.correction_counts.items())
        head = f"Hiệu chỉnh (corrections.csv): {counts}"
        blocks = [(head + (":" if rejected else "."), [_correction_line(c) for c in rejected], "hiệu chỉnh")]
    else:
        blocks = [("Hiệu chỉnh: không có.", [], "")]
    c = ys.confirmations
    if c["sent"]:
        line = (f"Xác nhận số liệu: {c['sent']} đơn vị được gửi sổ xác nhận (confirmations/), {c['answered']} đơn vị "
                f"đã trả lời, {c['outstanding']} chưa trả lời.")  # fmt: skip
    else:
        line = "Xác nhận số liệu: không đơn vị nào cần xác nhận."
    return [*blocks, (line, [], "")]


def summary_lines(ys: YearStatus) -> list[str]:
    """The summary's lines, each list cut to :data:`SHOWN` items (:func:`summary_text` without the link)."""
    lines = []
    for i, (head, items, called) in enumerate(summary_blocks(ys)):
        lines.append(("  " if i == 1 else "") + head)
        lines += [f"  - {item}" if not item.startswith("… và") else f"  {item}" for item in _cut(items, called)]
    return lines


def _own_reason(a: AgencyStatus) -> str:
    """The reason without the status it repeats (the scored tables' reason starts with the report's label)."""
    reason = a.reason
    for label in (a.status_vi, REPORT_STATUS_VI.get(a.status, "")):
        reason = reason.removeprefix(f"{label}: ") if label else reason
    return reason


def summary_text(ys: YearStatus, page: Path | str | None = None, notes: Sequence[str] = ()) -> str:
    """The short console summary of a run (module docstring); ``page``: where status.html is;
    ``notes``: what else the run must say (the rubric's version, last year's comparison)."""
    lines = summary_lines(ys) + list(notes)
    if page is not None:
        lines.append(f"Chi tiết từng đơn vị, đơn vị cần đôn đốc: {page}")
    return "\n".join(lines)


def _receipt_text(r) -> str:
    how = ", ".join(x for x in (r.channel, r.sender) if x)
    use = f" — {USE_VI[r.use]}" if r.use else ""
    return f"dòng {r.line}: {r.file}, nhận {r.received}" + (f" ({how})" if how else "") + use


def agency_lines(a: AgencyStatus, ran: bool) -> list[str]:
    """An agency as ``ictaudit status`` lists it."""
    lines = [f"{a.agency_id} — {a.name} ({a.group}): {a.status_vi}"]
    if a.reason and a.status != "ranked":
        lines.append(f"    lý do: {a.reason}")
    if a.receipts:
        for r in a.receipts:
            lines.append(f"    phiếu {_receipt_text(r)}")
            lines += [f"      ! {m}" for m in r.problems]
    elif a.status != "excluded":
        lines.append("    phiếu: chưa nhận")
    if ran and a.status == "ranked":
        parts = []
        if a.errors or a.warnings or a.remaining_errors or a.remaining_warnings:
            parts.append(
                f"vấn đề: {a.errors} lỗi, {a.warnings} cảnh báo (còn lại {a.remaining_errors} lỗi, "
                f"{a.remaining_warnings} cảnh báo)"
            )
        if a.confirmation:
            parts.append(f"xác nhận: {a.confirmation_vi.lower()}")
        if a.applied or a.rejected:
            parts.append(f"hiệu chỉnh: {a.applied} áp dụng, {a.rejected} không áp dụng")
        lines.append("    " + ("; ".join(parts) if parts else "không có vấn đề"))
    return lines


def status_text(ys: YearStatus, page: Path | str | None = None, run_note: str = "") -> str:
    """What ``ictaudit status`` prints: the summary, whom to chase, then every agency; ``run_note``:
    which run it was read from."""
    lines = [ys.title, *([run_note] if run_note else []), *summary_lines(ys), ""]
    chase = ys.to_chase
    if ys.deadline is not None:
        lines.insert(1 + bool(run_note), f"Hạn gửi phiếu: {fmt_date(ys.deadline)}" + (f"; hạn trả lời xác nhận: {fmt_date(ys.reply_by)}"
                                                                      if ys.reply_by else ""))  # fmt: skip
    lines.append(f"Cần đôn đốc ({len(chase)}):" if chase else "Cần đôn đốc: không có đơn vị nào.")
    lines += [f"  - {a.name} ({a.agency_id}): {a.to_chase}" for a in chase]
    lines += ["", "Từng đơn vị:"]
    for a in ys.agencies:
        lines += ["  " + line for line in agency_lines(a, ys.ran)]
    if page is not None:
        lines += ["", f"Trang tình hình: {page}"]
    return "\n".join(lines)


# -- the page -------------------------------------------------------------------------------------


def page_context(ys: YearStatus, agency_links: bool, run_note: str = "") -> dict:
    """The context of ``status.html.j2``: the model, its summary lines and the words of the page."""
    return {
        "ys": ys,
        "status_vi": STATUS_VI,
        "use_vi": USE_VI,
        "summary": summary_blocks(ys)[2:],
        "agency_links": agency_links,
        "run_note": run_note,
        "deadline": fmt_date(ys.deadline) if ys.deadline else "",
        "reply_by": fmt_date(ys.reply_by) if ys.reply_by else "",
    }


def write_status_page(ys: YearStatus, path: Path, *, agency_links: bool = True, run_note: str = "") -> Path:
    """``status.html`` of ``ys`` at ``path``. ``agency_links``: link each agency to
    ``agencies/<agency_id>.html`` (a page beside a run's report); ``run_note``: a line about the run it
    was read from (never in a run's own, hashed page)."""
    from ictaudit.report.html import jinja_env
    from ictaudit.report.html_text import agency_href

    env = jinja_env()
    env.globals["agency_href"] = agency_href
    html = env.get_template("status.html.j2").render(**page_context(ys, agency_links, run_note))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
