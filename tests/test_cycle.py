"""The cycle folder: what a good one gives, and how each bad file is named."""

from __future__ import annotations

import unicodedata
from datetime import date
from pathlib import Path

import pytest

from ictaudit.intake.cycle import CycleError, load_cycle
from ictaudit.rules.rubric import RubricError

CYCLE_YAML = """\
year: 2017
rubric: caobang-2310-2016
deadline: 2017-11-02
title: Đánh giá mức độ ứng dụng CNTT năm 2017
province: Cao Bằng
"""
AGENCIES = """\
agency_id,name,group,ranked,note
so-noi-vu,Sở Nội vụ,so_ban_nganh,true,
huyen-bao-lam,UBND huyện Bảo Lâm,ubnd_huyen,TRUE,
cong-an-tinh,Công an tỉnh,so_ban_nganh,false,Không xếp hạng vì lý do an ninh
"""
RECEIPTS = """\
agency_id,file,received_on,channel,note
so-noi-vu,so-noi-vu.xlsx,2017-10-30,Thư điện tử,
"""
CORRECTIONS = """\
agency_id,field,old_value,new_value,reason,check_id,confirmed_by,confirmed_on
so-noi-vu,F02,60,48,Gõ nhầm,L03,Chánh Văn phòng,2017-11-20
"""


def make_cycle(root: Path, **files: str) -> Path:
    contents = {
        "cycle.yaml": CYCLE_YAML,
        "agencies.csv": AGENCIES,
        "receipts.csv": RECEIPTS,
    }
    contents.update({k.replace("_", "."): v for k, v in files.items()})
    for name, text in contents.items():
        if text is not None:
            (root / name).write_text(text, encoding="utf-8")
    (root / "submissions").mkdir(exist_ok=True)
    return root


def test_a_good_cycle(tmp_path):
    cycle = load_cycle(make_cycle(tmp_path, corrections_csv=CORRECTIONS))
    assert (cycle.year, cycle.rubric_id, cycle.deadline) == (2017, "caobang-2310-2016", date(2017, 11, 2))
    assert cycle.sample is False and cycle.province == "Cao Bằng"
    assert list(cycle.agencies["ranked"]) == [True, True, False]
    assert cycle.receipts.loc[0, "received_on"] == date(2017, 10, 30)
    assert cycle.corrections.loc[0, "correction_id"] == "K001"
    assert cycle.corrections.loc[0, "confirmed_on"] == "2017-11-20"
    assert cycle.submissions_dir == tmp_path / "submissions"


def test_corrections_are_optional(tmp_path):
    assert load_cycle(make_cycle(tmp_path)).corrections is None


def test_bom_and_nfd_text_are_read_as_nfc(tmp_path):
    make_cycle(tmp_path)
    nfd = unicodedata.normalize("NFD", AGENCIES)
    (tmp_path / "agencies.csv").write_bytes("\ufeff".encode() + nfd.encode("utf-8"))
    cycle = load_cycle(tmp_path)
    assert cycle.agencies.columns[0] == "agency_id"
    assert cycle.agencies.loc[0, "name"] == "Sở Nội vụ"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"cycle_yaml": None}, r"cycle\.yaml: missing"),
        ({"cycle_yaml": "year: [2017\n"}, "not valid YAML"),
        ({"cycle_yaml": CYCLE_YAML.replace("deadline: 2017-11-02", "deadline: 03/11/2017")}, "deadline must be an ISO date"),
        ({"cycle_yaml": CYCLE_YAML.replace("year: 2017", "year: hai nghìn")}, "year must be"),
        ({"cycle_yaml": CYCLE_YAML + "deadlne: 2017-11-02\n"}, "unknown keys deadlne"),
        ({"cycle_yaml": CYCLE_YAML.replace("province: Cao Bằng\n", "")}, "missing keys province"),
        ({"cycle_yaml": CYCLE_YAML + "sample: maybe\n"}, "sample must be true or false"),
        ({"cycle_yaml": CYCLE_YAML.replace("year: 2017", "year: 2010")}, "applies to the years 2016, 2017"),
        ({"agencies_csv": None}, r"agencies\.csv: missing"),
        ({"agencies_csv": "agency_id,name,group,ranked\nx,X,so_ban_nganh,true\n"}, "missing columns note"),
        ({"agencies_csv": AGENCIES + "so-noi-vu,Sở Nội vụ (2),so_ban_nganh,true,\n"}, "line 5: agency_id so-noi-vu already on line 2"),
        ({"agencies_csv": AGENCIES + "so-y-te,Sở Y tế,so_y_te,true,\n"}, "line 5: group 'so_y_te' is not in the rubric"),
        ({"agencies_csv": AGENCIES + "so-y-te,Sở Y tế,so_ban_nganh,có,\n"}, "line 5: ranked must be true or false"),
        ({"agencies_csv": AGENCIES + "So Y Te,Sở Y tế,so_ban_nganh,true,\n"}, "line 5: agency_id 'So Y Te' must be"),
        ({"agencies_csv": AGENCIES + "so-y-te,Sở Y tế,so_ban_nganh,false,\n"}, "line 5: an agency with ranked false needs"),
    ],
)
def test_bad_cycle_files_name_file_line_and_problem(tmp_path, files, message):
    make_cycle(tmp_path, **files)
    with pytest.raises(CycleError, match=message):
        load_cycle(tmp_path)


def test_a_csv_saved_in_another_encoding(tmp_path):
    make_cycle(tmp_path)
    (tmp_path / "agencies.csv").write_bytes(AGENCIES.encode("utf-16"))
    with pytest.raises(CycleError, match=r"agencies\.csv: not UTF-8"):
        load_cycle(tmp_path)


def test_cycle_error_is_a_value_error():
    assert issubclass(CycleError, ValueError)


def test_an_unknown_rubric_is_a_rubric_error(tmp_path):
    make_cycle(tmp_path, cycle_yaml=CYCLE_YAML.replace("caobang-2310-2016", "khong-co-2099"))
    with pytest.raises(RubricError, match="khong-co-2099"):
        load_cycle(tmp_path)


def test_a_missing_folder(tmp_path):
    with pytest.raises(CycleError, match="does not exist"):
        load_cycle(tmp_path / "2099")


def test_a_correction_for_an_unknown_agency_or_field_is_rejected_not_fatal(tmp_path):
    """docs/contracts.md §10: one bad row of corrections.csv is reported by the overlay; the cycle goes on."""
    import pandas as pd

    from ictaudit.intake.values import VALUE_COLUMNS
    from ictaudit.rules.rubric import load_rubric
    from ictaudit.validate.corrections import apply_corrections

    extra = "so-noi-vu,F99,1,2,x,L01,A,2017-11-20\nso-khong-co,F01,1,2,x,L01,A,2017-11-20\n"
    cycle = load_cycle(make_cycle(tmp_path, corrections_csv=CORRECTIONS + extra))
    rubric = load_rubric(cycle.rubric_id)
    agencies = cycle.agencies.rename(columns={"name": "agency_name"}).assign(status="ranked", status_reason="")
    _, report = apply_corrections(pd.DataFrame(columns=list(VALUE_COLUMNS)), cycle.corrections, rubric, agencies)
    rejected = report.set_index("correction_id").loc[["K002", "K003"]]
    assert (rejected["status"] == "rejected").all()
    assert rejected["status_reason"].str.len().gt(0).all()


def test_yaml_is_read_as_pyyaml_safe_load_reads_it():
    """The rubric and cycle files are parsed on LibYAML when PyYAML has it: the same data, the same errors."""
    import yaml

    from ictaudit.common.paths import PROJECT_ROOT, RUBRICS_DIR
    from ictaudit.rules.rubric import SAFE_LOADER, load_yaml

    assert SAFE_LOADER is getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    files = [*RUBRICS_DIR.glob("*.yaml"), *(PROJECT_ROOT / "data" / "raw").glob("*/cycle.yaml")]
    assert len(files) >= 4
    for path in files:
        text = path.read_text(encoding="utf-8-sig")
        assert load_yaml(text) == yaml.safe_load(text), path
    for text, error in [("year: [2017\n", yaml.YAMLError), ("deadline: 2017-11-31\n", ValueError), ("a: !!python/object:os.system x\n", yaml.YAMLError)]:
        with pytest.raises(error):
            load_yaml(text)
        with pytest.raises(error):
            yaml.safe_load(text)
