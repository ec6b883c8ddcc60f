"""Intake's problems, built from the catalogue (:mod:`ictaudit.rules.problems`): rows and refusals.

A problem is a row of the ``problems`` frame (:data:`PROBLEM_COLUMNS`); a file-level problem is first
raised as a :class:`SubmissionError` (the file cannot be used at all) and becomes a row once the agency
is known. Every message comes from the catalogue by code and message id, its placeholders filled
by keyword::

    raise refusal("I05", "empty", file="so-tttt.xlsx")
    problem("I04", "unknown_row", agency_id="so-tttt", file="so-tttt.xlsx", sheet="Số liệu", cell="A60",
            field="F99", raw_value="3")

``line`` is the line of ``receipts.csv`` a problem comes from (the receipt itself, or the file it names),
empty for a problem no receipt names (a file nobody registered); :func:`at_receipt` sets it, and names
it in the message where the DIC must act on the register.
"""

from __future__ import annotations

from ictaudit.rules.problems import problem_catalogue

PROBLEM_COLUMNS = (
    "agency_id", "file", "sheet", "cell", "field", "raw_value", "code", "severity", "message_vi", "line",
)  # fmt: skip
#: how a message names the receipts.csv row it is about (the register's problems, a file it names that
#: cannot be used)
RECEIPT_LINE = "receipts.csv dòng {line}: "
QUOTE_CHARS = 60  # text a message quotes (a first line, a sheet name) is cut to this many characters
ERROR_CHARS = 160  # and an error a reader raised to this many


class SubmissionError(Exception):
    """A file-level problem: the file cannot be used at all. ``code`` is an intake code."""

    def __init__(self, code: str, message_vi: str, sheet: str = "", severity: str = "E"):
        super().__init__(message_vi)
        self.code = code
        self.message_vi = message_vi
        self.sheet = sheet
        self.severity = severity

    def __reduce__(self):  # pickled whole (a forked reader hands it back), not as Exception(message)
        return SubmissionError, (self.code, self.message_vi, self.sheet, self.severity)


def message(code: str, message_id: str, **values) -> tuple[str, str]:
    """(severity, Vietnamese message) of one catalogue message with its placeholders filled."""
    severity, template = problem_catalogue().message(code, message_id)
    try:
        return severity, template.format_map(values)
    except KeyError as exc:
        raise KeyError(f"{code}.{message_id} needs the placeholder {exc.args[0]}") from None


def refusal(code: str, message_id: str, *, sheet: str = "", **values) -> SubmissionError:
    """The :class:`SubmissionError` of one catalogue message (raise it); ``sheet`` is where the
    problem is, and a placeholder like the others."""
    severity, text = message(code, message_id, sheet=sheet, **values)
    return SubmissionError(code, text, sheet, severity)


def problem(
    code: str, message_id: str, *, agency_id="", file="", sheet="", cell="", field="", raw_value="", line="", **values
) -> dict:
    """One ``problems`` row. The message's placeholders are the row's cells (``file``, ``sheet``,
    ``cell``, ``field``, ``raw_value``, ``agency_id``, ``line``) and ``values``, which name what else it
    says; ``line`` (a receipts.csv line, or several) also fills the row's ``line`` (:func:`at_receipt`)."""
    severity, text = message(
        code, message_id, agency_id=agency_id, file=file, sheet=sheet, cell=cell, field=field, raw_value=raw_value,
        line=line, **values,
    )  # fmt: skip
    return at_receipt(_row(agency_id, file, code, severity, text, sheet, cell, field, raw_value), line)


def problem_of(error: SubmissionError, agency_id: str, file: str) -> dict:
    """The ``problems`` row of a refusal, once the agency and the file's name are known."""
    return _row(agency_id, file, error.code, error.severity, error.message_vi, error.sheet)


def at_receipt(row: dict, line, *, in_message: bool = False) -> dict:
    """``row`` with the receipts.csv ``line`` (or lines, ``;``-joined) it comes from; ``in_message``
    also starts its message with "receipts.csv dòng 7: " (the register's own problems, and a file that
    cannot be used, which the DIC answers for; a cell's problem goes to the agency as it is)."""
    lines = line if isinstance(line, list | tuple) else [line]
    text = ";".join(str(int(x)) for x in lines if x is not None and x == x and x != "")  # NaN: no line
    row["line"] = text
    said = RECEIPT_LINE.format(line=text.replace(";", ", "))
    if in_message and text and f"receipts.csv dòng {text.split(';')[0]}" not in row["message_vi"]:  # not twice
        row["message_vi"] = said + row["message_vi"]
    return row


def _row(agency_id, file, code, severity, message_vi, sheet="", cell="", field="", raw_value="") -> dict:
    return {
        "agency_id": agency_id,
        "file": file,
        "sheet": sheet,
        "cell": cell,
        "field": field,
        "raw_value": raw_value,
        "code": code,
        "severity": severity,
        "message_vi": message_vi,
        "line": "",
    }


def shorten(text: str, limit: int = QUOTE_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters (the last one ``…``) for quoting in a message."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_error(exc: BaseException) -> str:
    """An exception as a message quotes it: its type and its text, shortened."""
    return f"{type(exc).__name__}: {shorten(str(exc), ERROR_CHARS)}"
