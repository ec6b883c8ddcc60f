"""Intake reads each file in one pass, and its fast paths decide exactly as the slow ones.

Every zip part is inflated once (:func:`ictaudit.intake.package._inflate_once`); a part that is not plainly
fine goes through the chunked check, so each refusal keeps its code and message. The uncached-formula
check reads the parts the package check kept and parses a sheet only when a formula may lack its
cached value (:func:`ictaudit.intake.formulas._formulas_all_cached`). Each test compares a fast path with the
path it short-cuts, on the bad-file corpus and on files broken here in the ways the fast paths watch.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import time
import warnings
import zipfile
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ictaudit.intake import disk, formulas, package, parsing, submissions, workbook
from ictaudit.intake.forms import write_form
from ictaudit.intake.formulas import uncached_formula_cells
from ictaudit.intake.package import inspect_package
from ictaudit.intake.problems import SubmissionError

BAD = Path(__file__).parent / "fixtures" / "bad"
SHEET = "xl/worksheets/sheet2.xml"  # the "Số liệu" sheet of a form
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
D5 = b'<c r="D5" s="6"><v>5</v></c>'  # F01's value cell as the form writer writes it


@pytest.fixture(scope="module")
def form(rubric, tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("form") / "so-tttt.xlsx"
    write_form(path, rubric, "so_ban_nganh", "so-tttt", "Sở Thông tin và Truyền thông", 2017, values={"F01": 5})
    return path.read_bytes()


def parts_of(data: bytes) -> dict[str, bytes]:
    zf = zipfile.ZipFile(io.BytesIO(data))
    return {i.filename: zf.read(i) for i in zf.infolist()}


def rezip(parts: dict[str, bytes], compression=zipfile.ZIP_DEFLATED, extra=()) -> bytes:
    """A zip of ``parts`` then ``extra`` (which may repeat a name, as a crafted file can)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name"
        for name, body in [*parts.items(), *extra]:
            zf.writestr(name, body)
    return out.getvalue()


def with_sheet(form: bytes, old: bytes, new: bytes) -> bytes:
    parts = parts_of(form)
    assert old in parts[SHEET]
    parts[SHEET] = parts[SHEET].replace(old, new, 1)
    return rezip(parts)


def patch_directory(data: bytes, part: str, offset: int, value: int, size: int = 4) -> bytes:
    """``data`` with one field of ``part``'s central directory record replaced (a lying zip)."""
    out = bytearray(data)
    at = out.find(b"PK\x01\x02")
    while out[at + 46 : at + 46 + len(part)] != part.encode():
        at = out.find(b"PK\x01\x02", at + 4)
    out[at + offset : at + offset + size] = value.to_bytes(size, "little")
    return bytes(out)


def outcome(data: bytes, name: str = "x.xlsx"):
    """What the package check says: the kind and the parts it kept, or the refusal's code and message."""
    try:
        package = inspect_package(data, name)
    except SubmissionError as exc:
        return exc.code, exc.message_vi
    return package.kind, package.parts


def slow_outcome(data: bytes, monkeypatch, name: str = "x.xlsx"):
    """:func:`outcome` with every part through the chunked check (nothing kept, nothing from the cache)."""
    with monkeypatch.context() as m:
        m.setattr(package, "_inflate_once", lambda data, info: None)
        m.setattr(package, "_plain_parts_key", lambda data, info: None)
        return outcome(data, name)


def broken(form: bytes) -> dict[str, bytes]:
    """The form broken in each way the fast path of the package check must leave to the chunked check."""
    info = zipfile.ZipFile(io.BytesIO(form)).getinfo(SHEET)
    misnamed = bytearray(form)
    misnamed[form.find(b"docProps/app.xml")] = ord("D")  # the local header names another part
    return {
        "bad-crc": patch_directory(form, SHEET, 16, info.CRC ^ 1),
        "declared-smaller": patch_directory(form, SHEET, 24, info.file_size - 10),
        "declared-larger": patch_directory(form, SHEET, 24, info.file_size + 10),  # zipfile accepts it
        "compressed-size-short": patch_directory(form, SHEET, 20, info.compress_size - 3),
        "patched-data-flag": patch_directory(form, SHEET, 8, 0x20, 2),
        "local-name-differs": bytes(misnamed),
        "bzip2": rezip(parts_of(form), zipfile.ZIP_BZIP2),
        "lying-size-fixture": (BAD / "zip-bomb-lying-size.xlsx").read_bytes(),
    }


def variants(form: bytes) -> dict[str, bytes]:
    """Files the package check must treat exactly as the chunked check does (fast or not)."""
    out = dict(broken(form))
    parts = parts_of(form)
    doctype = {**parts, "docProps/app.xml": parts["docProps/app.xml"].replace(b"?>", b'?><!DOCTYPE x SYSTEM "x.dtd">', 1)}
    entity = {**parts, "docProps/app.xml": parts["docProps/app.xml"].replace(b"?>", b'?><!DOCTYPE x [<!ENTITY a "b">]>', 1)}
    out |= {
        "good": form,
        "stored": rezip(parts, zipfile.ZIP_STORED),
        "column-AB": with_sheet(form, b"</sheetData>", b'<row r="70"><c r="AB70"><v>1</v></c></row></sheetData>'),
        "row-150000": with_sheet(form, b"</sheetData>", b'<row r="150000"><c r="A150000"><v>1</v></c></row></sheetData>'),
        "whole-grid": with_sheet(form, b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'),
        "bare-doctype": rezip(doctype),
        "entity": rezip(entity),
        "repeated-name": rezip(parts, extra=[(SHEET, parts[SHEET].replace(D5, b'<c r="D5"><f>1</f></c>'))]),
    }
    out |= {f.name: f.read_bytes() for f in sorted(BAD.iterdir()) if f.suffix in (".xlsx", ".xls")}
    return out


# -- the package check -------------------------------------------------------------------------


def test_each_part_is_inflated_once_exactly_as_zipfile_reads_it(form):
    for data in (form, rezip(parts_of(form), zipfile.ZIP_STORED)):
        zf = zipfile.ZipFile(io.BytesIO(data))
        for info in zf.infolist():
            assert package._inflate_once(data, info) == zf.read(info), info.filename


LEFT = {  # the part each broken file leaves to the chunked check
    "bad-crc": SHEET, "declared-smaller": SHEET, "declared-larger": SHEET, "compressed-size-short": SHEET,
    "patched-data-flag": SHEET, "local-name-differs": "docProps/app.xml", "bzip2": SHEET, "lying-size-fixture": SHEET,
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(LEFT))
def test_a_part_not_plainly_fine_is_left_to_the_chunked_check(form, case):
    data = broken(form)[case]
    zf = zipfile.ZipFile(io.BytesIO(data))
    left = {i.filename for i in zf.infolist() if package._inflate_once(data, i) is None}
    assert LEFT[case] in left
    if case != "bzip2":
        assert left == {LEFT[case]}


def test_the_package_check_decides_as_the_chunked_check_on_every_file(form, monkeypatch):
    """Same kind or same refusal (code and message) with or without the single-pass fast path."""
    for name, data in variants(form).items():
        fast = outcome(data, name)
        slow = slow_outcome(data, monkeypatch, name)
        if isinstance(fast[1], dict):  # accepted: the kept parts are the parts as zipfile reads them
            assert slow == (fast[0], {}), name
            zf = zipfile.ZipFile(io.BytesIO(data))
            assert all(body == zf.read(part) for part, body in fast[1].items()), name
        else:
            assert fast == slow, name


def test_refusals_keep_their_message(form):
    got = {name: outcome(data, name) for name, data in variants(form).items()}
    assert got["lying-size-fixture"][0] == "I05" and "sai kích thước đã khai báo" in got["lying-size-fixture"][1]
    assert got["bad-crc"][0] == "I05" and "Bad CRC-32" in got["bad-crc"][1]
    assert got["whole-grid"][0] == "I05" and "XFD1048576" in got["whole-grid"][1]
    assert got["entity"][0] == "I05" and "DTD/thực thể" in got["entity"][1]
    assert got["zip-bomb.xlsx"][0] == "I05" and "bom nén" in got["zip-bomb.xlsx"][1]
    for accepted in ("good", "stored", "column-AB", "row-150000", "bare-doctype", "declared-larger", "repeated-name"):
        assert got[accepted][0] == "zip", accepted


def test_the_lying_size_bomb_is_refused_quickly():
    data = (BAD / "zip-bomb-lying-size.xlsx").read_bytes()
    t = time.perf_counter()
    with pytest.raises(SubmissionError, match="sai kích thước đã khai báo"):
        inspect_package(data, "zip-bomb-lying-size.xlsx")
    assert time.perf_counter() - t < 2


def test_a_reference_past_column_z_or_row_99999_is_measured_by_the_chunked_check(form):
    for name in ("column-AB", "row-150000", "whole-grid"):
        body = parts_of(variants(form)[name])[SHEET]
        assert not package._plain_part(SHEET, body), name
    assert package._plain_part(SHEET, parts_of(form)[SHEET])


def test_a_lower_cell_limit_is_still_enforced(form, monkeypatch):
    """The fast path's bound (column Z, row 99,999) only stands in for the limit it is below."""
    monkeypatch.setattr(package, "MAX_SHEET_CELLS", 100)
    code, message = outcome(form)
    assert code == "I05" and "hơn 100 ô" in message


def test_the_package_keeps_what_the_formula_and_percent_checks_read(form):
    package = inspect_package(form, "x.xlsx")
    assert set(package.parts) == {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml",
                                  *(f"xl/worksheets/sheet{i}.xml" for i in (1, 2, 3))}  # fmt: skip
    parts = parts_of(form)
    repeated = rezip(parts, extra=[(SHEET, parts[SHEET].replace(D5, b'<c r="D5"><f>1</f></c>'))])
    package = inspect_package(repeated, "x.xlsx")
    assert package.parts[SHEET] == zipfile.ZipFile(io.BytesIO(repeated)).read(SHEET)  # the last of a name
    assert uncached_formula_cells(repeated, "Số liệu", package=package) == {"D5"}


# -- formulas without a cached value -----------------------------------------------------------

CELLS = {
    "cached": (b'<c r="D5" s="6"><f>2+3</f><v>5</v></c>', set()),
    "shared-cached": (b'<c r="D5" s="6"><f t="shared" si="0"/><v>5</v></c>', set()),
    "sheet-reference": ("<c r=\"D5\" s=\"6\"><f>'Số liệu'!D6+1</f><v>5</v></c>".encode(), set()),
    "inline-string": (b'<c r="D5" t="inlineStr"><f>1</f><is><t>x</t></is></c>', set()),
    "uncached": (b'<c r="D5" s="6"><f>2+3</f></c>', {"D5"}),
    "empty-value": (b'<c r="D5" s="6"><f>2+3</f><v></v></c>', {"D5"}),
    "shared-uncached": (b'<c r="D5" s="6"><f t="shared" si="0"/></c>', {"D5"}),
    "first-value-empty": (b'<c r="D5" s="6"><v></v><f>1</f><v>5</v></c>', {"D5"}),
    "comment-hides-a-cached-one": (b'<!-- <c><f>1</f><v>1</v></c> --><c r="D5"><f>2+3</f></c>', {"D5"}),
    "instruction-fakes-a-cell": (b'<c r="D5" s="6"><v></v><?x <c y?><f>X</f><v>1</v></c>', {"D5"}),
    "value-in-another-namespace": (b'<c r="D5" s="6"><f>1</f><v xmlns="urn:other">5</v></c>', {"D5"}),
    "value-with-attribute": (b'<c r="D5" s="6"><f>1</f><v xml:space="preserve"> </v></c>', set()),
}


@pytest.mark.parametrize("case", sorted(CELLS))
def test_uncached_formulas_are_found_as_by_a_full_parse(form, case, monkeypatch):
    cell, expected = CELLS[case]
    data = with_sheet(form, D5, cell)
    package = inspect_package(data, "x.xlsx")
    fast = uncached_formula_cells(data, "Số liệu", "x.xlsx", package=package)
    assert fast == uncached_formula_cells(data, "Số liệu", "x.xlsx") == expected  # kept parts or the zip
    monkeypatch.setattr(formulas, "_formulas_all_cached", lambda sheet_xml: False)
    assert uncached_formula_cells(data, "Số liệu", "x.xlsx", package=package) == expected


def test_a_prefixed_formula_is_found(form):
    root = f'xmlns="{MAIN}"'.encode()
    for prefix in (b"x", b"a-b"):  # a-b: a prefix the formula pattern does not see on its own
        parts = parts_of(form)
        sheet = parts[SHEET].replace(root, root + b" xmlns:" + prefix + b'="' + MAIN.encode() + b'"', 1)
        sheet = sheet.replace(D5, b'<c r="D5"><' + prefix + b":f>1</" + prefix + b":f></c>")
        sheet = sheet.replace(b'<c r="D7" s="6"/>', b'<c r="D7"><f>1</f><v>1</v></c>')  # a plain one too
        assert sheet.count(b"<f>") == 1 and not formulas._formulas_all_cached(sheet)
        data = rezip({**parts, SHEET: sheet})
        assert uncached_formula_cells(data, "Số liệu", package=inspect_package(data, "x.xlsx")) == {"D5"}


@pytest.mark.parametrize("prefix", [b"a-b", b"a.b", b"\xc3\xa1"])  # "-", "." and non-ASCII letters: NCName
def test_a_sheet_whose_only_formula_has_an_unusual_prefix_is_parsed(form, prefix):
    root = f'xmlns="{MAIN}"'.encode()
    parts = parts_of(form)
    sheet = parts[SHEET].replace(root, root + b" xmlns:" + prefix + b'="' + MAIN.encode() + b'"', 1)
    sheet = sheet.replace(D5, b'<c r="D5"><' + prefix + b":f>1</" + prefix + b":f></c>")
    assert not formulas._PLAIN_F.search(sheet)  # no plain <f>: the prefixed one is the sheet's only formula
    assert formulas._has_formula_tag(sheet)
    data = rezip({**parts, SHEET: sheet})
    assert uncached_formula_cells(data, "Số liệu", package=inspect_package(data, "x.xlsx")) == {"D5"}


@pytest.mark.parametrize("prefix", [b"x", b"a-b", b"a.b"])
def test_a_prefixed_cell_or_row_counts_in_the_extent(prefix):
    big = b'<' + prefix + b':row r="1048576"><' + prefix + b':c r="XFD1048576"><' + prefix + b":v>1</" + prefix + b":v></" + prefix + b":c></" + prefix + b":row>"
    assert package._CELL_REF.findall(big) == [(b"XFD", b"1048576")]
    assert package._ROW_REF.findall(big) == [b"1048576"]


def test_a_sheet_whose_formulas_all_have_values_is_not_parsed(form, monkeypatch):
    sheet = parts_of(form)[SHEET]
    for n in range(5, 60):
        sheet = sheet.replace(f'<c r="D{n}" s="6"/>'.encode(), f'<c r="D{n}" s="6"><f>0+{n}</f><v>{n}</v></c>'.encode())
    assert sheet.count(b"<f>") > 20 and formulas._formulas_all_cached(sheet)
    data = rezip({**parts_of(form), SHEET: sheet})

    def no_tree(_sheet_xml):
        raise AssertionError("parsed")

    monkeypatch.setattr(formulas, "_uncached_in_tree", no_tree)
    assert uncached_formula_cells(data, "Số liệu", package=inspect_package(data, "x.xlsx")) == set()


def test_the_workbook_is_parsed_once_per_distinct_bytes(form):
    formulas._workbook_sheets_cached.cache_clear()
    other = with_sheet(form, D5, b'<c r="D5" s="6"><f>2+3</f></c>')
    for data in (form, other, form):
        uncached_formula_cells(data, "Số liệu", package=inspect_package(data, "x.xlsx"))
    info = formulas._workbook_sheets_cached.cache_info()
    assert (info.misses, info.hits) == (1, 2)


def test_a_large_workbook_document_is_parsed_but_not_kept(form):
    parts = parts_of(form)
    padding = b"<!-- " + b"x" * (formulas._CACHED_XML_BYTES + 1) + b" -->"
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(b"<sheets>", padding + b"<sheets>", 1)
    data = rezip({**parts, SHEET: parts[SHEET].replace(D5, b'<c r="D5" s="6"><f>2+3</f></c>')})
    formulas._workbook_sheets_cached.cache_clear()
    assert uncached_formula_cells(data, "Số liệu", package=inspect_package(data, "x.xlsx")) == {"D5"}
    assert formulas._workbook_sheets_cached.cache_info().currsize == 0


def test_a_workbook_with_entities_is_refused_every_time(form):
    """The parse caches hold results only: defusedxml's refusal is raised on each file."""
    parts = parts_of(form)
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(b"?>", b'?><!DOCTYPE x [<!ENTITY a "b">]>', 1)
    data = rezip(parts)
    for _ in range(2):
        with pytest.raises(SubmissionError, match="DTD/thực thể") as err:
            uncached_formula_cells(data, "Số liệu", "x.xlsx")
        assert err.value.code == "I05"


_HEAD = f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}" xmlns:x="{MAIN}"><sheetData><row r="1">'
_CHILDREN = [
    "<f>1</f>", '<f t="shared" si="0"/>', "<f/>", "<f>a&gt;b</f>", "<v>5</v>", "<v></v>", "<v/>", "<v> </v>",
    '<v xmlns="urn:o">1</v>', "<is><t>x</t></is>", "<x:f>1</x:f>", "<x:v>1</x:v>", "<!-- <f>1</f><v>1</v> -->",
    "<?pi <v>1</v>?>", " ", "\n", "<v><![CDATA[1]]></v>", '<f xmlns="urn:o">1</f>',
]  # fmt: skip
_OPENERS = ['<c r="A{n}">', '<c r="A{n}" s="1">', '<c\nr="A{n}">', '<x:c r="A{n}">', '<c r="A{n}" xmlns="urn:o">']


@st.composite
def sheets(draw) -> bytes:
    cells = []
    for n in range(1, draw(st.integers(1, 4)) + 1):
        opener = draw(st.sampled_from(_OPENERS)).format(n=n)
        children = "".join(draw(st.lists(st.sampled_from(_CHILDREN), max_size=4)))
        closer = "</x:c>" if opener.startswith("<x:") else "</c>"
        cells.append(opener + children + closer)
    return (_HEAD + "".join(cells) + "</row></sheetData></worksheet>").encode()


@settings(max_examples=400, deadline=None)
@given(sheets())
def test_the_byte_scan_never_hides_an_uncached_formula(sheet_xml):
    """When the scan says every formula is cached, a full parse finds no uncached one."""
    if formulas._formulas_all_cached(sheet_xml):
        assert formulas._uncached_in_tree(sheet_xml) == set()


# -- receipts per agency -----------------------------------------------------------------------


def test_receipts_per_agency_are_the_rows_in_the_registers_order():
    """Grouped once; the receipt rules (ictaudit.intake.receipts) order them, so the register's order is kept."""
    import pandas as pd

    day = date(2017, 10, 30)
    receipts = pd.DataFrame(
        [("b", "z.xlsx", day, "1"), ("a", "a.xlsx", day, ""), ("b", "y.xlsx", None, "2"), ("b", "x.xlsx", day, "3"),
         ("b", "x.xlsx", day, "4"), ("c", "c.xlsx", None, ""), ("b", "w.xlsx", date(2017, 10, 1), "5")],
        columns=["agency_id", "file", "received_on", "note"],
    )  # fmt: skip
    receipts_of = submissions._receipts_by_agency(receipts)
    for agency_id in ("a", "b", "c", "absent"):
        assert receipts_of(agency_id) == receipts[receipts["agency_id"] == agency_id].to_dict("records"), agency_id
    assert [r["note"] for r in receipts_of("b")] == ["1", "2", "3", "4", "5"]


# -- quick scans stand in for slower ones --------------------------------------------------------


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([b"<", b"f", b"x:", b">", b"/", b" ", b"\n", b"!", b"a", b"<f", b"formula1", b":"]), max_size=12))
def test_the_quick_scans_agree_with_the_patterns(pieces):
    xml = b"".join(pieces)
    assert formulas._has_formula_tag(xml) == (formulas._FORMULA_TAG.search(xml) is not None)
    assert formulas._has_markup_declaration(xml) == (b"<!" in xml)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=6))
def test_a_code_of_ascii_letters_and_digits_is_its_own_normal_form(text):
    from ictaudit.intake.parsing import normalize_text, raw_text

    if text.isascii() and text.isalnum():
        assert normalize_text(raw_text(text)) == text


# -- two processes -----------------------------------------------------------------------------


def make_mixed_cycle(root: Path, rubric, form: bytes) -> Path:
    """Good forms, broken files and receipt problems: every kind of outcome a read can have."""
    sub = root / "submissions"
    sub.mkdir(parents=True)
    (root / "cycle.yaml").write_text(
        "year: 2017\nrubric: caobang-2310-2016\ndeadline: 2017-11-02\ntitle: Kiểm thử\nprovince: Cao Bằng\n", encoding="utf-8"
    )
    bad = [f for f in sorted(BAD.iterdir()) if f.suffix in (".xlsx", ".xls")]
    roster, receipts = [], []
    for i in range(8):
        agency_id = f"so-tot-{i}"
        write_form(sub / f"{agency_id}.xlsx", rubric, "so_ban_nganh", agency_id, f"Sở {i}", 2017,
                   values={"F01": 10 + i, "F02": f"{i},5", "F06": "Có"})  # fmt: skip
        roster.append((agency_id, "so_ban_nganh"))
        receipts.append((agency_id, f"{agency_id}.xlsx", "2017-11-20" if i == 3 else "2017-10-30"))
    for i, path in enumerate(bad):
        agency_id = f"so-xau-{i:02d}"
        (sub / path.name).write_bytes(path.read_bytes())
        roster.append((agency_id, "so_ban_nganh"))
        receipts.append((agency_id, path.name, "2017-10-30"))
    (sub / "uncached.xlsx").write_bytes(with_sheet(form, D5, b'<c r="D5" s="6"><f>2+3</f></c>'))
    roster += [("so-tttt", "so_ban_nganh"), ("so-vang", "so_ban_nganh")]
    receipts += [("so-tttt", "uncached.xlsx", "2017-10-30"), ("so-vang", "khong-co.xlsx", "2017-10-30")]
    lines = ["agency_id,name,group,ranked,note"] + [f"{a},Đơn vị {a},{g},true," for a, g in roster]
    (root / "agencies.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    lines = ["agency_id,file,received_on,channel,note"] + [f"{a},{f},{d},Thư điện tử," for a, f, d in receipts]
    (root / "receipts.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def assert_same_intake(a, b) -> None:
    import pandas as pd

    for name in ("statuses", "values", "problems", "files"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
        assert getattr(a, name).to_csv(index=False) == getattr(b, name).to_csv(index=False), name


def _die(start: int, stop: int):
    os._exit(3)  # a worker killed while reading (out of memory, a crash in the reader)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the second reader is a forked process")
def test_reading_in_two_processes_gives_the_same_result(tmp_path, rubric, form, monkeypatch):
    from ictaudit.intake.cycle import load_cycle

    cycle = load_cycle(make_mixed_cycle(tmp_path / "cycle", rubric, form), rubric)
    one = submissions.intake_cycle(cycle, rubric)
    assert {"ranked", "late", "invalid"} <= set(one.statuses["status"]) and "I02" in set(one.problems["code"])
    monkeypatch.setattr(submissions, "PARALLEL_MIN_FILES", 0)
    monkeypatch.setattr("os.cpu_count", lambda: 2)  # the test also runs on one core
    for per_task in (1, 3, 100):
        monkeypatch.setattr(submissions, "_FILES_PER_TASK", per_task)
        assert_same_intake(submissions.intake_cycle(cycle, rubric), one)
    monkeypatch.setattr(submissions, "_forked_read", _die)
    monkeypatch.setattr(submissions, "_FILES_PER_TASK", 2)
    assert_same_intake(submissions.intake_cycle(cycle, rubric), one)  # the files the worker had are read here


def test_a_submission_error_pickles_whole():
    import pickle

    err = pickle.loads(pickle.dumps(SubmissionError("I06", "thiếu trang", "Số liệu", "W")))
    assert (type(err), err.code, err.message_vi, err.sheet, err.severity) == (
        SubmissionError, "I06", "thiếu trang", "Số liệu", "W"
    )


def test_a_file_is_read_whole_as_it_is_when_opened(tmp_path, form, monkeypatch):
    """Listing takes no bytes; the one read takes the file as it is then, grown, shrunk or changed."""
    path = tmp_path / "so-tttt.xlsx"
    changes = {
        "as listed": form,
        "grown": form + b"PK",
        "shrunk": form[:-1],
        "same size": form[:-1] + bytes([form[-1] ^ 1]),
    }
    for change, now in changes.items():
        path.write_bytes(form)
        entry = disk.list_submissions(tmp_path)[0]
        assert (entry.kind, entry.size, entry.sha256, entry.error) == ("file", len(form), "", None), change
        path.write_bytes(now)
        assert disk.read_on_disk(entry) == now, change


def test_a_file_growing_while_read_is_read_to_its_end_or_refused_past_the_limit(tmp_path, form, monkeypatch):
    path = tmp_path / "so-tttt.xlsx"
    path.write_bytes(form)
    entry = disk.list_submissions(tmp_path)[0]
    real_fstat = os.fstat

    def smaller(fd):  # the size the open file had a moment before it grew
        st = real_fstat(fd)
        return os.stat_result((st.st_mode, *st[1:6], 100, *st[7:]))

    monkeypatch.setattr(os, "fstat", smaller)
    assert disk.read_on_disk(entry) == form
    monkeypatch.setattr(disk, "MAX_FILE_BYTES", len(form) - 1)
    with pytest.raises(SubmissionError, match="quá lớn") as err:
        disk.read_on_disk(entry)
    assert err.value.code == "I05"


def test_a_file_over_the_limit_is_refused_without_being_opened(tmp_path, form, monkeypatch):
    path = tmp_path / "so-tttt.xlsx"
    path.write_bytes(form)
    monkeypatch.setattr(disk, "MAX_FILE_BYTES", len(form) - 1)
    monkeypatch.setattr(disk, "_open_no_follow", lambda p: pytest.fail(f"{p} opened"))
    entry = disk.list_submissions(tmp_path)[0]
    assert (entry.size, entry.sha256) == (len(form), "")
    assert entry.error.code == "I05" and f"quá lớn ({len(form)} byte" in entry.error.message_vi


@pytest.mark.parametrize("forked", [False, True])
def test_intake_opens_each_file_once(tmp_path, rubric, form, monkeypatch, forked):
    """Issue 9: a file that is read is hashed from the bytes read, any other file is only hashed:
    one open per file of ``submissions/``, in either process, and the recorded sha256 is the file's."""
    from ictaudit.intake.cycle import load_cycle

    root = make_mixed_cycle(tmp_path / "cycle", rubric, form)
    (root / "submissions" / "not-in-receipts.xlsx").write_bytes(b"not a form")
    (root / "submissions" / "big-not-in-receipts.xlsx").write_bytes(b"x" * 30_000)
    (root / "submissions" / "big.xlsx").write_bytes(b"x" * 30_000)
    with (root / "agencies.csv").open("a", encoding="utf-8") as fh:  # one agency sends another's file,
        fh.write("so-chep,Sở chép,so_ban_nganh,true,\nso-to,Sở to,so_ban_nganh,true,\n")  # one a big file
    with (root / "receipts.csv").open("a", encoding="utf-8") as fh:
        fh.write("so-chep,so-tot-0.xlsx,2017-10-30,Thư điện tử,\nso-to,big.xlsx,2017-10-30,Thư điện tử,\n")
    monkeypatch.setattr(disk, "MAX_FILE_BYTES", 20_000)  # forms are ~12 KB
    cycle = load_cycle(root, rubric)
    opened = tmp_path / "opened.txt"
    real = disk._open_no_follow

    def counted(path):
        with open(opened, "a", encoding="utf-8") as log:  # appended by whichever process opens it
            log.write(Path(path).name + "\n")
        return real(path)

    monkeypatch.setattr(disk, "_open_no_follow", counted)
    if forked:
        monkeypatch.setattr(submissions, "PARALLEL_MIN_FILES", 0)
        monkeypatch.setattr("os.cpu_count", lambda: 2)  # the test also runs on one core
        monkeypatch.setattr(submissions, "_FILES_PER_TASK", 1)
    result = submissions.intake_cycle(cycle, rubric)
    names = sorted(p.name for p in cycle.submissions_dir.iterdir())
    assert sorted(opened.read_text(encoding="utf-8").splitlines()) == names
    files = result.files.set_index("file")
    for name in names:
        data = (cycle.submissions_dir / name).read_bytes()
        assert files.loc[name, ["sha256", "bytes"]].tolist() == [hashlib.sha256(data).hexdigest(), len(data)]
    read = result.values.drop_duplicates("source_file").set_index("source_file")["source_sha256"]
    assert "not-in-receipts.xlsx" not in read and len(read) > 8  # the good forms and the bad files with values
    assert all(read[f] == files.loc[f, "sha256"] for f in read.index)
    statuses = result.statuses.set_index("agency_id")["status"]
    assert (statuses["so-tot-0"], statuses["so-chep"], statuses["so-to"]) == ("ranked", "invalid", "invalid")
    problems = result.problems.set_index("agency_id")
    assert problems.loc["so-chep", "code"] == "I08"  # its _meta names so-tot-0 (both read from one open)
    assert problems.loc["so-to", ["code", "file"]].tolist() == ["I05", "big.xlsx"]
    assert "quá lớn (30000 byte" in problems.loc["so-to", "message_vi"]


TYPED_CELLS = [
    None, "", "  ", 0, 0.0, -0.0, 1, 1.0, True, False, 2, -3, 45.5, float("nan"), float("inf"), 1e13, "12", "1.234",
    "1,234", "45,5", "Có", "có", "x", "ko", "Kh«ng", "Khoâng", "12 máy", "5 triệu", "100%", "=A1", "#DIV/0!", "-",
    "03/11/2017", "1 234", "12\u00a0", " 7 ", "đ" * 300, date(2017, 3, 11),
]


@pytest.mark.parametrize("field_type,unit", [("count", "máy"), ("decimal", "%"), ("decimal", None), ("yesno", None)])
def test_a_cell_read_through_the_cache_is_read_as_parse_value_reads_it(field_type, unit):
    from ictaudit.intake.parsing import parse_value, raw_text

    workbook._CELL_READINGS.clear()
    for _ in range(2):  # the first time fills the cache, the second reads from it
        for raw in TYPED_CELLS:
            shown, value, problem, code = workbook.read_cell(raw, field_type, unit)
            parsed = parse_value(raw, field_type, unit)
            expected = math.nan if parsed.value is None else parsed.value
            assert (repr(shown), repr(value), problem) == (repr(raw_text(raw)), repr(expected), parsed.problem), raw
            assert code == (None if parsed.ok else ("I13" if parsed.legacy_font else "I01")), raw
    # 1, 1.0 and True are equal keys of different types; -0.0 and NaN are never taken from the cache
    assert workbook.read_cell(True, field_type, unit)[0] == "TRUE" and workbook.read_cell(1, field_type, unit)[0] == "1"
    assert not any(k[0] is float and (k[1] == 0 or k[1] != k[1]) for k in workbook._CELL_READINGS)
    assert not any(k[0] is str and len(k[1]) > workbook._CELL_KEY_MAX_CHARS for k in workbook._CELL_READINGS)


def test_the_cell_cache_is_emptied_when_full(monkeypatch):
    monkeypatch.setattr(workbook, "_CELL_READINGS_MAX", 3)
    workbook._CELL_READINGS.clear()
    for n in range(10):
        assert workbook.read_cell(str(n), "count", None)[1] == float(n)
        assert len(workbook._CELL_READINGS) <= 3


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["so-a", "so-b", "so-c", "huyen-a", "", "Z"]), max_size=12), st.booleans())
def test_the_values_frame_built_by_columns_is_the_frame_of_row_dicts(ids, shuffled):
    import pandas as pd

    from ictaudit.intake.values import VALUE_COLUMNS

    ids = ids if shuffled else sorted(ids)
    rows = [(a, f"F{i:02d}", str(i), float(i) if i % 3 else math.nan, "f.xlsx", "ab", "Số liệu", f"D{i}", "")
            for i, a in enumerate(ids)]  # fmt: skip
    columns = [[] for _ in VALUE_COLUMNS]
    for lo in range(0, len(rows), 5):
        submissions._add_rows(columns, rows[lo : lo + 5])
    fast = submissions._values_frame(columns)
    slow = pd.DataFrame([dict(zip(VALUE_COLUMNS, r, strict=True)) for r in rows], columns=list(VALUE_COLUMNS))
    slow["value"] = slow["value"].astype(float)
    for col in VALUE_COLUMNS:
        if col != "value":
            slow[col] = slow[col].astype(object)
    slow = slow.sort_values("agency_id", kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(fast, slow, check_index_type=True)
    assert [str(t) for t in fast.dtypes] == [str(t) for t in slow.dtypes]


def test_a_part_found_plain_before_is_taken_from_the_cache_only_when_all_it_was_checked_on_is_the_same(
    form, monkeypatch
):
    """Every file gives the same outcome with the cache of plain parts empty, warm, or not used at all."""
    cases = variants(form)
    package._PLAIN_PARTS.clear()
    cold = {name: outcome(data, name) for name, data in cases.items()}
    assert package._PLAIN_PARTS  # the form's shared parts were kept
    for _ in range(2):  # warm: every file's plain parts (and the good form's) are in the cache
        assert {name: outcome(data, name) for name, data in cases.items()} == cold
    with monkeypatch.context() as m:
        m.setattr(package, "_plain_parts_key", lambda data, info: None)
        assert {name: outcome(data, name) for name, data in cases.items()} == cold
    # a limit lowered after the parts were cached is applied to them
    monkeypatch.setattr(package, "MAX_SHEET_CELLS", 100)
    code, message = outcome(form)
    assert code == "I05" and "hơn 100 ô" in message


def test_the_plain_parts_key_holds_the_part_bytes_and_its_directory_record(form):
    zf = zipfile.ZipFile(io.BytesIO(form))
    info = zf.getinfo("xl/styles.xml")
    key = package._plain_parts_key(form, info)
    assert key is not None and key[-1].startswith(b"PK\x03\x04") and len(key[-1]) >= info.compress_size
    for name, data in broken(form).items():  # a lying record or local header changes the key
        other = zipfile.ZipFile(io.BytesIO(data))
        for part in ("xl/worksheets/sheet2.xml", "docProps/app.xml"):
            if name != "bzip2" and part in LEFT[name] and part in other.NameToInfo:
                assert package._plain_parts_key(data, other.getinfo(part)) != package._plain_parts_key(
                    form, zf.getinfo(part)
                ), (name, part)


def test_the_plain_parts_cache_is_bounded(form, monkeypatch):
    monkeypatch.setattr(package, "_PLAIN_PARTS_MAX", 3)
    package._PLAIN_PARTS.clear()
    assert outcome(form)[0] == "zip"
    assert len(package._PLAIN_PARTS) <= 3
    big = rezip({**parts_of(form), "xl/media/big.bin": os.urandom(70_000)})
    assert outcome(big)[0] == "zip"
    assert not any(k[0] == "xl/media/big.bin" for k in package._PLAIN_PARTS)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 9),
                       st.sampled_from([*TYPED_CELLS[:-3], "", None, "abc"])), max_size=10),
    st.sets(st.integers(5, 14), max_size=3),
    st.lists(st.tuples(st.integers(4, 14), st.integers(0, 4), st.integers(0, 3), st.integers(0, 1)), max_size=2),
)  # fmt: skip
def test_a_field_on_one_row_is_read_as_the_general_loop_reads_it(rubric, body, uncached_rows, merges):
    """extract_values, with its one-row shortcut, and every field through read_field_rows: the same
    values and problems."""
    form = rubric.fields_for_form(rubric.form_of("so_ban_nganh"))
    fields = (*form[:2], *[next(f for f in form if f.type == kind) for kind in ("yesno", "decimal")])
    expected = workbook.ExpectedForm(rubric.id, 2017, "so_ban_nganh", "PL1", fields)
    codes = [f.code for f in fields] + [fields[2].code.lower(), "X99", "", None, 7, "F0 1"]
    body = [(codes[k], value) for k, value in body]
    rows = [["", "", "", "", ""] for _ in range(3)] + [["Mã", "Chỉ tiêu", "Đơn vị", "Giá trị", "Ghi chú"]]
    rows += [[code, "x", "", value, ""] for code, value in body]
    merged = [((r0, c0), (min(r0 + dr, len(rows) - 1), min(c0 + dc, 4))) for r0, c0, dr, dc in merges]
    header = workbook.Header(3, 0, 3)
    source = workbook.Source("so-a", "so-a.xlsx", "ab", "Số liệu")
    uncached = {f"D{r}" for r in uncached_rows}
    sub = workbook.extract_values(rows, header, expected, source, uncached, merged)
    found, problems = workbook.rows_by_code(rows, header, expected.by_code, source)
    sheet = workbook.DataSheet.of(rows, header, source, uncached, merged, found)
    values = [workbook.read_field_rows(sheet, spec, found.get(spec.code), problems) for spec in fields]
    assert [tuple(map(repr, v)) for v in sub.values] == [tuple(map(repr, v)) for v in values]
    assert sub.problems == problems


@pytest.mark.parametrize("text", ["Số liệu", "So\u0302\u0301 lie\u0323\u0302u", " MÃ  số ", "Giá\u00a0trị (năm 2017)", "_META",
                                  "", "x" * 200, None, 12, 4.5, True, "Kh«ng"])  # fmt: skip
def test_names_and_short_text_read_through_their_caches_as_without(text, monkeypatch):
    from ictaudit.intake.parsing import normalize_text, raw_text

    for _ in range(2):  # filling the caches, then from them
        assert parsing.loose_key(text) == (normalize_text(str(text)).casefold() if text is not None else "")
        assert parsing.cell_text(text) == normalize_text(raw_text(text))
    monkeypatch.setattr(parsing, "_SHORT_TEXT_CACHED", 2)
    for n in range(5):
        assert parsing.loose_key(f"A{n} ") == f"a{n}" and parsing.cell_text(f" B{n}") == f"B{n}"
        assert len(parsing._LOOSE_KEYS) <= 2 and len(parsing._CELL_TEXTS) <= 2


def test_each_groups_expected_form_is_the_rubrics_and_finds_fields_by_code(rubric):
    forms = workbook.expected_forms(rubric, 2017)
    assert sorted(forms) == sorted(rubric.group_ids)
    for group, expected in forms.items():
        form = rubric.form_of(group)
        assert (expected.rubric_id, expected.year, expected.group, expected.form) == (rubric.id, 2017, group, form)
        assert expected.fields == rubric.fields_for_form(form)
        assert expected.by_code == {f.code.casefold(): f for f in expected.fields}
