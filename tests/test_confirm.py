"""``ictaudit confirm``: returned confirmation workbooks into corrections.csv — recognised, refused when
they are not this cycle's or this agency's or no longer match the data, conflicts listed, the same
files twice changing no byte; and the round trip run → answer → confirm → run on a cycle unseen."""

import hashlib
import math
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from ictaudit.cli import main
from ictaudit.common.tables import read_csv
from ictaudit.intake.cycle import load_cycle
from ictaudit.year.confirm import append_rows, confirm_replies
from ictaudit.year.sample import write_sample_cycle

PROBLEMS_SHEET, VALUES_SHEET = "Xác nhận", "Số liệu"
WHO = "Nguyễn Văn A, Chánh Văn phòng"


def answer(src: Path, dst: Path, *, rows: dict | None = None, values: dict | None = None, who: str = WHO,
           when="21/11/2017", document: str = "", shown_agency: str | None = None) -> Path:  # fmt: skip
    """Answer a confirmation workbook as an agency does, with openpyxl: ``rows`` {(check, field): (value,
    reason)} in sheet Xác nhận, ``values`` {field: (value, reason)} in sheet Số liệu; who and when once."""
    wb = openpyxl.load_workbook(src)
    ws = wb[PROBLEMS_SHEET]
    header = None
    for row in ws.iter_rows():
        label = row[0].value
        if label == "Người xác nhận (họ tên, chức vụ):":
            ws.cell(row=row[0].row, column=6, value=who)
        elif label == "Ngày xác nhận (dd/mm/yyyy):":
            ws.cell(row=row[0].row, column=6, value=when)
        elif label == "Văn bản trả lời (số, ngày), nếu có:":
            ws.cell(row=row[0].row, column=6, value=document)
        elif label == "Mã đơn vị:" and shown_agency is not None:
            ws.cell(row=row[0].row, column=4, value=shown_agency)
        elif row[1].value == "Mã kiểm tra":
            header = row[0].row
    for row in ws.iter_rows(min_row=header + 1):
        key = (row[1].value, row[3].value)
        if rows and key in rows:
            value, reason = rows[key]
            row[7].value, row[8].value = value, reason
    vs = wb[VALUES_SHEET]
    for row in vs.iter_rows():
        if values and row[0].value in values:
            value, reason = values[row[0].value]
            row[8].value, row[9].value = value, reason
    dst.parent.mkdir(parents=True, exist_ok=True)
    wb.save(dst)
    return dst


def problems_of(path: Path) -> list[tuple[str, str]]:
    """(check, field) of each answer row of a workbook's sheet Xác nhận."""
    ws = openpyxl.load_workbook(path)[PROBLEMS_SHEET]
    header = next(c.row for row in ws.iter_rows() for c in row if c.value == "Mã kiểm tra")
    return [(r[1].value, r[3].value) for r in ws.iter_rows(min_row=header + 1) if r[1].value and r[3].value]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A 12-agency sample year linked to the published results of the one before, the planted corrections taken out (they are the truth
    the agencies answer with), intake and validation run: the confirmation workbooks as they go out."""
    from ictaudit.run.pipeline import intake_step, validate_step
    from ictaudit.run.suite import run_cycle
    from ictaudit.year.link import link_previous_results

    root = tmp_path_factory.mktemp("made")
    write_sample_cycle(2016, root / "raw" / "2016", agencies=12, seed=16)
    cycle = write_sample_cycle(2017, root / "raw" / "2017", agencies=12, seed=17)
    run_cycle(root / "raw" / "2016", out=root / "run2016" / "out", scored=root / "run2016" / "scored", progress=False,
              notes=False, notebooks=("01_intake.ipynb", "02_validate.ipynb", "03_score.ipynb"))  # fmt: skip
    link_previous_results(cycle, root / "run2016" / "out")  # last year as published: L24 compares with it
    truth = pd.read_csv(cycle / "corrections.csv", dtype=str, keep_default_na=False)
    (cycle / "corrections.csv").unlink()
    intake_step(cycle, root / "scored")
    validate_step(cycle, root / "scored", root / "out")
    return {"raw": root / "raw", "out": root / "out", "truth": truth, "scored": root / "scored"}


@pytest.fixture()
def cycle(made, tmp_path) -> Path:
    """A fresh copy of the cycle folders for one test."""
    shutil.copytree(made["raw"], tmp_path / "raw")
    return tmp_path / "raw" / "2017"


def workbook(made, agency_id: str) -> Path:
    return made["out"] / "confirmations" / f"{agency_id}.xlsx"


def planted(made) -> dict:
    """Agency → (check, field, the true value) of the planted error each workbook asks about."""
    out = {}
    for r in made["truth"].itertuples():
        out[r.agency_id] = (r.check_id, r.field, r.new_value)
    return out


def test_every_planted_error_is_asked_in_its_agencys_workbook(made):
    names = sorted(p.stem for p in (made["out"] / "confirmations").glob("*.xlsx"))
    for agency_id, (check_id, field, _true) in planted(made).items():
        assert agency_id in names
        assert (check_id, field) in problems_of(workbook(made, agency_id))


def test_answers_become_corrections_with_their_source_and_file(made, cycle, tmp_path):
    agency_id, (check_id, field, true) = next(iter(planted(made).items()))
    reply = answer(workbook(made, agency_id), tmp_path / "trả lời của đơn vị.xlsx",  # renamed
                   rows={(check_id, field): (true, "Gõ nhầm khi điền phiếu")}, document="Công văn 15/VP")  # fmt: skip
    result = confirm_replies(cycle, [reply])
    assert result.ok and result.written == 1, result.text()
    register = load_cycle(cycle).corrections
    row = register.iloc[-1]
    assert (row.agency_id, row.field, row.new_value, row.check_id) == (agency_id, field, true, check_id)
    assert (row.reason, row.confirmed_by, row.confirmed_on) == ("Gõ nhầm khi điền phiếu", WHO, "2017-11-21")
    assert (row.source, row.document, row.reply_file, row.reply_sha256) == (
        "agency reply", "Công văn 15/VP", "trả lời của đơn vị.xlsx", sha(reply),
    )
    assert row.old_value != ""  # the value as it was
    assert "1 dòng" in result.text() and "điều chỉnh" in result.text()


def test_importing_the_same_files_twice_changes_no_byte(made, cycle, tmp_path):
    replies = []
    for agency_id, (check_id, field, true) in planted(made).items():
        replies.append(answer(workbook(made, agency_id), tmp_path / f"{agency_id}.xlsx",
                              rows={(check_id, field): (true, "sửa")}))  # fmt: skip
    before = {p.name: p.read_bytes() for p in (cycle / "submissions").iterdir()}
    first = confirm_replies(cycle, replies)
    assert first.ok and first.written == len(replies)
    written = (cycle / "corrections.csv").read_bytes()
    again = confirm_replies(cycle, replies)
    assert again.ok and again.written == 0
    assert (cycle / "corrections.csv").read_bytes() == written
    assert all(f.status == "already" for f in again.files)
    assert "đã nhập trước đây" in again.text()
    assert {p.name: p.read_bytes() for p in (cycle / "submissions").iterdir()} == before  # never touched


def test_rows_are_appended_after_the_dics_own_bytes(made, cycle, tmp_path):
    """A register whose header already has every column keeps every byte; one without the optional
    columns gets them in its header, every row's content kept."""
    agency_id, (check_id, field, true) = next(iter(planted(made).items()))
    reply = answer(workbook(made, agency_id), tmp_path / "r.xlsx", rows={(check_id, field): (true, "sửa")})
    full = ("agency_id,field,old_value,new_value,reason,check_id,confirmed_by,confirmed_on,correction_id,source,"
            "document,reply_file,reply_sha256\r\n")  # fmt: skip
    (cycle / "corrections.csv").write_bytes(full.encode())
    confirm_replies(cycle, [reply])
    data = (cycle / "corrections.csv").read_bytes()
    assert data.startswith(full.encode()) and data.endswith(b"\r\n") and data.count(b"\r\n") == 2

    short = "agency_id,field,old_value,new_value,reason,check_id,confirmed_by,confirmed_on\nso-x,F01,1,2,\"a, b\",,X,2017-11-20"
    (cycle / "corrections.csv").write_text(short, encoding="utf-8")
    append_rows(cycle / "corrections.csv", [{"agency_id": "so-y", "field": "F02", "reason": "=cmd|x"}])
    frame = pd.read_csv(cycle / "corrections.csv", dtype=str, keep_default_na=False)
    assert list(frame.columns)[-5:] == ["correction_id", "source", "document", "reply_file", "reply_sha256"]
    assert frame.iloc[0][["agency_id", "reason", "confirmed_on"]].tolist() == ["so-x", "a, b", "2017-11-20"]
    assert frame.iloc[1]["reason"] == "'=cmd|x"  # agency text never runs as a formula in a spreadsheet


def test_another_years_workbook_is_refused_and_nothing_is_written(made, cycle, tmp_path):
    agency_id, (check_id, field, true) = next(iter(planted(made).items()))
    reply = answer(workbook(made, agency_id), tmp_path / "old.xlsx", rows={(check_id, field): (true, "sửa")})
    wb = openpyxl.load_workbook(reply)
    for row in wb["_meta"].iter_rows():
        if row[0].value == "year":
            row[1].value = "2016"
    wb.save(reply)
    good_agency, (c2, f2, t2) = list(planted(made).items())[1]
    good = answer(workbook(made, good_agency), tmp_path / "good.xlsx", rows={(c2, f2): (t2, "sửa")})
    result = confirm_replies(cycle, [reply, good])
    assert not result.ok
    refused, imported = result.files
    assert refused.status == "refused" and "năm 2016" in refused.problems[0] and "2017" in refused.problems[0]
    assert imported.status == "imported"  # the other file goes on
    assert "old.xlsx" in result.text() and "KHÔNG NHẬP" in result.text()
    register = load_cycle(cycle).corrections
    assert set(register["reply_file"]) == {"good.xlsx"}


def test_another_agencys_workbook_is_refused(made, cycle, tmp_path):
    (a, (c1, f1, t1)), (b, _) = list(planted(made).items())[:2]
    shown_other = answer(workbook(made, a), tmp_path / "a.xlsx", rows={(c1, f1): (t1, "sửa")}, shown_agency=b)
    relabelled = answer(workbook(made, a), tmp_path / "b.xlsx", rows={(c1, f1): (t1, "sửa")})
    wb = openpyxl.load_workbook(relabelled)
    for row in wb["_meta"].iter_rows():
        if row[0].value == "agency_id":
            row[1].value = b
    wb.save(relabelled)
    result = confirm_replies(cycle, [shown_other, relabelled])
    assert [f.status for f in result.files] == ["refused", "refused"]
    assert "có thể là phiếu của đơn vị khác" in " ".join(result.files[0].problems)
    assert any("đã thay đổi" in p or "đơn vị khác" in p for p in result.files[1].problems)
    assert not (cycle / "corrections.csv").exists()


def test_a_workbook_made_before_the_data_changed_is_refused_naming_the_change(made, cycle, tmp_path):
    """The DIC typed a correction for the agency after its workbook went out: the problem list in the
    workbook no longer matches; nothing is written."""
    agency_id, (check_id, field, true) = next(iter(planted(made).items()))
    reply = answer(workbook(made, agency_id), tmp_path / "r.xlsx", rows={(check_id, field): (true, "sửa")})
    values = read_csv(made["scored"] / "values.csv")
    held = values[(values.agency_id == agency_id) & (values.field == "F01")].iloc[0]["value"]
    typed = ("agency_id,field,old_value,new_value,reason,check_id,confirmed_by,confirmed_on\n"
             f"{agency_id},F01,{held},{int(float(held)) + 1},Sở rà soát,,Phòng CNTT,2017-11-18\n")  # fmt: skip
    (cycle / "corrections.csv").write_text(typed, encoding="utf-8")
    result = confirm_replies(cycle, [reply])
    assert not result.ok
    problem = result.files[0].problems[0]
    assert "đã thay đổi từ khi lập phiếu" in problem and "F01" in problem and "K001" in problem
    assert (cycle / "corrections.csv").read_text(encoding="utf-8") == typed


@pytest.mark.parametrize(
    ("name", "edit", "words"),
    [
        ("a form, not a confirmation", "form", "phiếu cung cấp số liệu"),
        ("not a workbook", "garbage", "bị hỏng"),
        ("a zip bomb", "bomb", "zip-bomb.xlsx"),
        ("the hidden record edited", "tamper", "phần ẩn"),
    ],
)
def test_files_that_are_not_a_confirmation_workbook_are_refused(made, cycle, tmp_path, name, edit, words):
    agency_id = next(iter(planted(made)))
    path = tmp_path / "x.xlsx"
    if edit == "form":
        from ictaudit.intake.forms import write_forms

        path = write_forms(cycle, tmp_path / "forms")[0]
    elif edit == "garbage":
        path.write_bytes(b"PK\x03\x04 not really a zip")
    elif edit == "bomb":  # refused by the package check before any reader sees it
        path = Path(__file__).parent / "fixtures" / "bad" / "zip-bomb.xlsx"
    else:
        wb = openpyxl.load_workbook(workbook(made, agency_id))
        ws = wb["_goc"]
        ws.cell(row=2, column=3, value="999999")
        wb.save(path)
    result = confirm_replies(cycle, [path])
    assert result.files[0].status == "refused" and words in " ".join(result.files[0].problems), result.text()
    assert main(["confirm", "--cycle", str(cycle), str(path)]) == 1


@pytest.mark.parametrize(
    ("value", "reason", "when", "words"),
    [
        ("85%", "sửa", "21/11/2017", ["“85%” là tỷ lệ phần trăm", "ô H"]),
        ("12,000", "sửa", "21/11/2017", ["hãy viết 1234 hoặc 1.234"]),
        ("TRUE_VALUE", "", "21/11/2017", ["không ghi lý do"]),
        ("TRUE_VALUE", "sửa", "31/11/2017", ["không phải một ngày", "dd/mm/yyyy"]),
        ("TRUE_VALUE", "sửa", "", ["không ghi ngày xác nhận"]),
    ],
)
def test_answers_that_cannot_be_recorded_refuse_the_file_naming_the_cell(made, cycle, tmp_path, value, reason, when, words):
    agency_id, (check_id, field, true) = next((a, p) for a, p in planted(made).items() if p[2])
    value = true if value == "TRUE_VALUE" else value
    reply = answer(workbook(made, agency_id), tmp_path / "r.xlsx", rows={(check_id, field): (value, reason)}, when=when)
    result = confirm_replies(cycle, [reply])
    text = " ".join(result.files[0].problems)
    assert result.files[0].status == "refused" and all(w in text for w in words), text
    assert not (cycle / "corrections.csv").exists()


def test_two_different_answers_for_one_field_refuse_the_file(made, cycle, tmp_path):
    agency_id, (check_id, field, true) = next((a, p) for a, p in planted(made).items() if p[2])
    reply = answer(workbook(made, agency_id), tmp_path / "r.xlsx", rows={(check_id, field): (true, "sửa")},
                   values={field: (str(int(float(true)) + 1), "sửa")})  # fmt: skip
    result = confirm_replies(cycle, [reply])
    assert "hai câu trả lời khác nhau" in " ".join(result.files[0].problems)


def test_a_warning_explained_and_an_error_confirmed_unchanged(made, cycle, tmp_path):
    """A W answered with the same value and a reason is a confirmation; an E confirmed unchanged is recorded
    and listed for the DIC to decide; a value rewritten unchanged elsewhere without a reason is not recorded."""
    wanted = None
    for path in sorted((made["out"] / "confirmations").glob("*.xlsx")):
        checks = problems_of(path)
        if any(c == "L24" for c, _ in checks):
            wanted = path, checks
            break
    assert wanted, "the sample plants a year-over-year change (L24)"
    path, checks = wanted
    values = read_csv(made["scored"] / "values.csv")
    mine = values[values.agency_id == path.stem].set_index("field")["value"]
    rows = {key: (None, "đúng như đã báo cáo") for key in checks}  # a reason alone confirms the value held
    unflagged = next(f for f in ("F01", "F03", "F14") if all(f != c for _, c in checks))
    reply = answer(path, tmp_path / "r.xlsx", rows=rows, values={unflagged: (mine[unflagged], None)})
    result = confirm_replies(cycle, [reply])
    outcome = result.files[0]
    assert outcome.status == "imported", result.text()
    assert {o["status"] for o in outcome.outcomes} == {"confirmed"}
    assert outcome.unchanged == 1 and unflagged not in [r["field"] for r in outcome.rows]
    errors = {c for c, _ in checks if not c.startswith("L24")}
    assert {w.split(" ")[0] for w in outcome.waiting} == errors  # each error waits for the DIC, listed
    assert errors and "Lỗi chờ Sở quyết định" in result.text()


def test_a_reply_that_disagrees_with_the_dics_correction_is_listed_as_a_conflict(made, cycle, tmp_path):
    """The DIC corrected a value before the workbook went out (an on-site survey); the agency writes
    another value: recorded, listed as a conflict, and the overlay keeps the DIC's value."""
    from ictaudit.run.pipeline import intake_step, validate_step
    from ictaudit.validate.corrections import apply_corrections

    agency_id, (check_id, field, true) = next((a, p) for a, p in planted(made).items() if p[2])
    values = read_csv(made["scored"] / "values.csv")
    held = values[(values.agency_id == agency_id) & (values.field == "F01")].iloc[0]["value"]
    survey = int(float(held)) + 2
    (cycle / "corrections.csv").write_text(
        "agency_id,field,old_value,new_value,reason,check_id,confirmed_by,confirmed_on,source,document\n"
        f"{agency_id},F01,,{survey},Khảo sát thực tế,,Đoàn khảo sát,2017-11-15,on-site survey,BB 7/2017\n",
        encoding="utf-8",
    )
    intake_step(cycle, tmp_path / "scored")
    validate_step(cycle, tmp_path / "scored", tmp_path / "out")
    made_after = tmp_path / "out" / "confirmations" / f"{agency_id}.xlsx"
    reply = answer(made_after, tmp_path / "r.xlsx", rows={(check_id, field): (true, "sửa")},
                   values={"F01": (str(survey + 5), "đếm lại")})  # fmt: skip
    result = confirm_replies(cycle, [reply])
    outcome = result.files[0]
    assert outcome.status == "imported" and len(outcome.conflicts) == 1, result.text()
    assert "F01" in outcome.conflicts[0] and "K001" in outcome.conflicts[0] and "Xung đột" in result.text()
    from ictaudit.intake.values import read_values
    from ictaudit.rules.rubric import load_rubric

    cyc = load_cycle(cycle)
    statuses = read_csv(tmp_path / "scored" / "statuses.csv")
    submitted = read_values(tmp_path / "scored" / "values_submitted.csv")
    corrected, report = apply_corrections(submitted, cyc.corrections, load_rubric(cyc.rubric_id), statuses)
    f01 = corrected[(corrected.agency_id == agency_id) & (corrected.field == "F01")].iloc[0]
    assert (f01.value, f01.correction_id) == (survey, "K001")
    assert report.set_index("field").loc["F01"].iloc[-1]["status"] == "rejected"


def test_dry_run_writes_nothing(made, cycle, tmp_path, capsys):
    agency_id, (check_id, field, true) = next(iter(planted(made).items()))
    reply = answer(workbook(made, agency_id), tmp_path / "r.xlsx", rows={(check_id, field): (true, "sửa")})
    assert main(["confirm", "--cycle", str(cycle), "--dry-run", str(reply)]) == 0
    assert "chạy thử" in capsys.readouterr().out
    assert not (cycle / "corrections.csv").exists()


@pytest.mark.libreoffice
def test_a_workbook_saved_again_by_libreoffice_is_read_the_same(made, cycle, tmp_path):
    from ictaudit.common.office import convert

    agency_id, (check_id, field, true) = next((a, p) for a, p in planted(made).items() if p[2])
    reply = answer(workbook(made, agency_id), tmp_path / "a" / "reply.xlsx", rows={(check_id, field): (true, "sửa")})
    for to in ("xlsx", "ods", "xls"):
        again = convert(reply, tmp_path / to, to)
        result = confirm_replies(cycle, [again], dry_run=True)
        assert result.ok and [r["new_value"] for r in result.files[0].rows] == [true], result.text()


# -- the round trip, on a cycle unseen ---------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.libreoffice
def test_run_answer_confirm_run_scores_every_agency_as_for_the_true_values(tmp_path):
    """An unseen sample cycle (seed 4242) without its corrections: run; every agency answers its workbook
    (planted errors corrected with the true values, warnings explained, the one error the sample leaves
    uncorrected confirmed unchanged); one reply saved again by LibreOffice; confirm; run. Every agency's
    score is then the score of its true values (the uncorrected one held back), every problem resolved
    but the error waiting for the DIC, and no workbook is left to send."""
    from ictaudit.common.office import convert
    from ictaudit.intake.values import read_values, to_wide
    from ictaudit.rules.rubric import load_rubric
    from ictaudit.run.suite import run_cycle
    from ictaudit.score.scoring import score_cycle

    raw = tmp_path / "raw"
    write_sample_cycle(2016, raw / "2016", agencies=30, seed=4241)
    cycle = write_sample_cycle(2017, raw / "2017", agencies=30, seed=4242)
    truth = pd.read_csv(cycle / "corrections.csv", dtype=str, keep_default_na=False)
    planted_rows = pd.read_csv(cycle / "planted.csv", dtype=str, keep_default_na=False)
    (cycle / "corrections.csv").unlink()
    first = run_cycle(cycle, out=tmp_path / "out1", scored=tmp_path / "scored1", draws=20, progress=False)
    sent = sorted((first.out_dir / "confirmations").glob("*.xlsx"))
    true_values = {(r.agency_id, r.field): r.new_value for r in truth.itertuples()}
    l20 = planted_rows[planted_rows.check_id == "L20"].iloc[0]
    true_values[(l20.agency_id, l20.field)] = "Không"  # no website, so no mandatory item either
    l05 = planted_rows[planted_rows.check_id == "L05"].iloc[0]  # the agency insists: the DIC must decide
    submitted = read_values(first.scored_dir / "values_submitted.csv")
    replies = []
    for path in sent:
        rows = {}
        for check_id, field in problems_of(path):
            key = (path.stem, field)
            if key in true_values:
                rows[(check_id, field)] = (true_values[key], "Gõ nhầm khi điền phiếu")
            elif rows.get((check_id, field)) is None:
                rows[(check_id, field)] = (None, "Số liệu đúng như đã báo cáo")  # explanation: confirms
        replies.append(answer(path, tmp_path / "replies" / f"tra-loi-{path.stem}.xlsx", rows=rows))
    replies[0] = convert(replies[0], tmp_path / "resaved", "xlsx")
    assert main(["confirm", "--cycle", str(cycle), *map(str, replies)]) == 0
    second = run_cycle(cycle, out=tmp_path / "out2", scored=tmp_path / "scored2", draws=20, progress=False)

    issues = read_csv(second.scored_dir / "issues.csv")
    still_open = issues[issues.resolved_by == ""]
    assert set(zip(still_open.agency_id, still_open.check_id)) == {(l05.agency_id, "L05")}
    assert not list((second.out_dir / "confirmations").glob("*.xlsx"))  # nothing left to ask
    rubric = load_rubric(load_cycle(cycle).rubric_id)
    wide = to_wide(submitted)
    specs = rubric.field_by_code
    for (agency_id, field), text in true_values.items():
        from ictaudit.intake.parsing import parse_value

        wide.loc[agency_id, field] = parse_value(text, specs[field].type).value
    statuses = read_csv(second.scored_dir / "statuses.csv")
    expected = score_cycle(rubric, wide, statuses, {(l05.agency_id, "F04"), (l05.agency_id, "F03")}).scores
    got = read_csv(second.scored_dir / "scores.csv").set_index("agency_id")
    for row in expected.itertuples():
        mine = got.loc[row.agency_id]
        if math.isnan(row.points):
            assert mine["points"] == "", row.agency_id
            continue
        assert float(mine["points"]) == pytest.approx(row.points, abs=1e-6), row.agency_id
        assert float(mine["score_100"]) == pytest.approx(row.score_100, abs=1e-6), row.agency_id
        assert (mine["band"], mine["rank"]) == (row.band, "" if pd.isna(row.rank) else str(int(row.rank))), row.agency_id
