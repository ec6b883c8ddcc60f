"""A synthetic but realistic cycle folder: ``write_sample_cycle(2017, Path("data/raw/2017"))``.

The roster is Cao Bằng's of 2017 (docs/domain.md §2): 20 departments (``so_ban_nganh``, form PL1), 13
districts (``ubnd_huyen``, form PL2) and two units kept on the roster but not ranked (provincial
Police and Military Command). With ``agencies`` above 33, made-up units are added to both groups in
the same proportion; below 33 the roster is cut in the same proportion.

Every submission is written by the real form writer (:func:`ictaudit.intake.forms.write_form`) with column
D pre-filled, so the sample has exactly the layout agencies receive. What real cycles contain is
planted on purpose and described in ``planted.csv`` (and by :func:`planted_errors`):

- one ``late`` and one ``missing`` agency, the two ``excluded`` units;
- logic errors of docs/domain.md §5 (L03 F02 > F01, L05 F04 > F03, L11 F15 > F14, L15 F33 > F29 + F30,
  L20 F20 = Không with an F21 item = Có, L25 a blank required field), some of them fixed in
  ``corrections.csv`` with reason, check id, who confirmed and when, source (the agency's reply) and
  its document; ``cycle.yaml`` says where and by when replies go (``reply_to``, ``reply_by``);
- numbers typed as text the Vietnamese way (``1.234``, ``45,5``, ``12 máy``) and Có/Không as text.

``planted.csv`` columns: ``agency_id, kind, check_id, field, cell, raw_value, expected,
correction_id, description``. ``kind`` is ``status`` (``expected`` = the status intake must give;
one row per roster agency), ``logic`` (``check_id`` = the logic check that must fire on
``field``; ``correction_id`` = the correction fixing it, or empty) or ``text`` (``raw_value`` typed
as text; ``expected`` = the number intake must read).

Everything comes from ``random.Random`` seeded with strings (stable across machines and
``PYTHONHASHSEED``) and fixed dates: the same year and seed give byte-identical files.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from ictaudit.common.numfmt import fmt_date
from ictaudit.intake.cycle import AGENCY_COLUMNS, CORRECTION_COLUMNS, RECEIPT_COLUMNS, SUBMISSIONS_DIR, CycleError
from ictaudit.intake.forms import HEADER_ROW, cell_address, write_form
from ictaudit.year.plants import TEXT_STYLES, YESNO, Plant, logic_plants, show, text_fits, text_value

RUBRIC_ID = "caobang-2310-2016"
PROVINCE = "Cao Bằng"
PLANTED_COLUMNS = (
    "agency_id", "kind", "check_id", "field", "cell", "raw_value", "expected", "correction_id", "description",
)
DEPARTMENTS_2017 = (
    ("van-phong-ubnd-tinh", "Văn phòng UBND tỉnh"),
    ("so-noi-vu", "Sở Nội vụ"),
    ("so-tu-phap", "Sở Tư pháp"),
    ("so-khdt", "Sở Kế hoạch và Đầu tư"),
    ("so-tai-chinh", "Sở Tài chính"),
    ("so-cong-thuong", "Sở Công Thương"),
    ("so-nnptnt", "Sở Nông nghiệp và Phát triển nông thôn"),
    ("so-gtvt", "Sở Giao thông vận tải"),
    ("so-xay-dung", "Sở Xây dựng"),
    ("so-tnmt", "Sở Tài nguyên và Môi trường"),
    ("so-tttt", "Sở Thông tin và Truyền thông"),
    ("so-ldtbxh", "Sở Lao động - Thương binh và Xã hội"),
    ("so-vhttdl", "Sở Văn hóa, Thể thao và Du lịch"),
    ("so-khcn", "Sở Khoa học và Công nghệ"),
    ("so-gddt", "Sở Giáo dục và Đào tạo"),
    ("so-y-te", "Sở Y tế"),
    ("so-ngoai-vu", "Sở Ngoại vụ"),
    ("thanh-tra-tinh", "Thanh tra tỉnh"),
    ("ban-dan-toc", "Ban Dân tộc"),
    ("ban-qlkkt", "Ban Quản lý Khu kinh tế tỉnh"),
)
DISTRICTS_2017 = (
    ("tp-cao-bang", "UBND thành phố Cao Bằng"),
    ("huyen-bao-lam", "UBND huyện Bảo Lâm"),
    ("huyen-bao-lac", "UBND huyện Bảo Lạc"),
    ("huyen-thong-nong", "UBND huyện Thông Nông"),
    ("huyen-ha-quang", "UBND huyện Hà Quảng"),
    ("huyen-tra-linh", "UBND huyện Trà Lĩnh"),
    ("huyen-trung-khanh", "UBND huyện Trùng Khánh"),
    ("huyen-ha-lang", "UBND huyện Hạ Lang"),
    ("huyen-quang-uyen", "UBND huyện Quảng Uyên"),
    ("huyen-phuc-hoa", "UBND huyện Phục Hòa"),
    ("huyen-hoa-an", "UBND huyện Hòa An"),
    ("huyen-nguyen-binh", "UBND huyện Nguyên Bình"),
    ("huyen-thach-an", "UBND huyện Thạch An"),
)
EXCLUDED_2017 = (
    ("bo-chqs-tinh", "Bộ Chỉ huy Quân sự tỉnh", "Đơn vị quốc phòng: không xếp hạng vì lý do bảo mật (giữ trong danh sách để theo dõi)."),
    ("cong-an-tinh", "Công an tỉnh", "Đơn vị an ninh: không xếp hạng vì lý do bảo mật (giữ trong danh sách để theo dõi)."),
)
CHANNELS = ("Hệ thống QLVB&ĐH", "Thư điện tử công vụ", "Bưu chính")
CONTACT = "Phòng Công nghệ thông tin, Sở Thông tin và Truyền thông tỉnh Cao Bằng (số liệu mẫu, không có thật)"
REPLY_TO = (
    "Phòng Công nghệ thông tin, Sở Thông tin và Truyền thông tỉnh Cao Bằng, thư điện tử cntt.stttt@example.vn "
    "(địa chỉ mẫu, không có thật)"
)


@dataclass
class SampleAgency:
    agency_id: str
    name: str
    group: str
    ranked: bool = True
    note: str = ""


@dataclass
class SampleCycle:
    """The whole synthetic cycle in memory; :func:`write_sample_cycle` writes it out."""

    year: int
    seed: int
    deadline: date
    roster: list[SampleAgency]
    receipts: list[dict]
    values: dict[str, dict[str, object]]  # agency_id → field → raw cell (number, text or None)
    corrections: list[dict]
    planted: list[dict] = field(default_factory=list)


def random_values(fields, rng) -> dict[str, float]:
    """Type-correct random values for one agency's form, for benchmarks and tests at any size.

    A staff count (F01, and X01 for communes) between 20 and 299; every other count between 0 and
    the staff count; yes/no fields yes with probability 0.7. ``rng`` is a numpy Generator. Not the
    realistic profiles of the bundled samples (see :func:`clean_values`).
    """
    staff = float(rng.integers(20, 300))
    row = {}
    for f in fields:
        if f.type == "yesno":
            row[f.code] = float(rng.random() < 0.7)
        elif f.code in ("F01", "X01"):
            row[f.code] = staff
        else:
            row[f.code] = float(rng.integers(0, int(staff) + 1))
    return row


def sample_deadline(year: int) -> date:
    """The last accepted day: the 2017 notice said "trước ngày 03/11/2017", so 02/11 each year."""
    return date(year, 11, 2)


def sample_roster(agencies: int | None = None) -> list[SampleAgency]:
    """The 2017 roster (or ``agencies`` ranked units in the same proportion) plus the two excluded."""
    depts, dists = list(DEPARTMENTS_2017), list(DISTRICTS_2017)
    if agencies is not None:
        if agencies < 2:
            raise ValueError(f"a sample needs at least 2 agencies (one per group), not {agencies}")
        n_dept = max(1, min(agencies - 1, round(agencies * len(depts) / (len(depts) + len(dists)))))
        n_dist = agencies - n_dept
        depts += [(f"so-mau-{i:03d}", f"Sở mẫu số {i}") for i in range(len(depts) + 1, n_dept + 1)]
        dists += [(f"huyen-mau-{i:03d}", f"UBND huyện mẫu số {i}") for i in range(len(dists) + 1, n_dist + 1)]
        depts, dists = depts[:n_dept], dists[:n_dist]
    roster = [SampleAgency(a, n, "so_ban_nganh") for a, n in depts]
    roster += [SampleAgency(a, n, "ubnd_huyen") for a, n in dists]
    roster += [SampleAgency(a, n, "so_ban_nganh", ranked=False, note=note) for a, n, note in EXCLUDED_2017]
    return sorted(roster, key=lambda a: a.agency_id)


# -- values --------------------------------------------------------------------------------


def _clip(x: float, lo: float = 0.0, hi: float = 1.0) -> float:
    return min(hi, max(lo, x))


def _share(rng: random.Random, base: float, noise: float = 0.06) -> float:
    return _clip(base + rng.uniform(-noise, noise))


def _yes(rng: random.Random, p: float) -> int:
    return 1 if rng.random() < p else 0


def clean_values(group: str, maturity: float, profile: str, fields: list, size: float = 1.0) -> dict[str, float]:
    """Plausible values of one agency that pass every logic check of docs/domain.md §5 (E and W).

    Each field draws from its own stream seeded by ``profile`` and the field code, so that the same
    agency in another year (another ``maturity`` and ``size``) gets close values: year-over-year
    comparisons (L24) stay quiet unless something was planted.
    """
    m = maturity
    dept = group == "so_ban_nganh"

    def r(code: str) -> random.Random:
        return random.Random(f"{profile}:{code}")

    v: dict[str, float] = {}
    v["F01"] = round((r("F01").randint(35, 180) if dept else r("F01").randint(90, 260)) * size)
    v["F02"] = round(v["F01"] * _share(r("F02"), 0.55 + 0.45 * m))
    v["F03"] = max(v["F02"], round(v["F02"] * r("F03").uniform(1.0, 1.12)), 1)
    v["F04"] = max(1, round(v["F03"] * _share(r("F04"), 0.45 + 0.55 * m)))
    v["F05"] = round(v["F01"] * r("F05").uniform(0.15, 0.5) * (0.4 + m), 1)
    v["F06"] = 1 if m > 0.15 else _yes(r("F06"), 0.5)
    v["F07"] = _yes(r("F07"), 0.3 + 0.7 * m) if v["F06"] else 0
    v["F08"] = round(v["F03"] * _share(r("F08"), 0.25 + 0.75 * m))
    v["F09"] = _yes(r("F09"), 0.1 + 0.9 * m)
    v["F10"] = _yes(r("F10"), 0.2 + 0.7 * m)
    v["F11"] = r("F11").randint(1, 4) if v["F10"] else 0
    v["F12"] = round(v["F01"] * _share(r("F12"), 0.25 + 0.75 * m))
    v["F13"] = _yes(r("F13"), 0.4 + 0.8 * m)
    v["F14"] = round((r("F14").randint(600, 4000) if dept else r("F14").randint(1500, 6500)) * size)
    share15 = _share(r("F15"), 0.15 + 0.8 * m) if v["F13"] else _share(r("F15"), 0.1 + 0.2 * m, 0.05)
    v["F15"] = round(v["F14"] * share15)
    v["F16"] = round(r("F16").randint(0, 2) + 14 * m) if m > 0.2 else r("F16").randint(0, 2)
    v["F17"] = round(v["F15"] * _share(r("F17"), 0.85 * m - 0.1)) if v["F16"] > 0 else 0
    v["F18"] = min(8, round(r("F18").uniform(1, 6) * m) + r("F18b").randint(0, 2))
    v["F19"] = round(r("F19").uniform(2, 10) * m)
    v["F20"] = _yes(r("F20"), 0.5 + 0.6 * m)
    for code in ("F21a", "F21b", "F21c", "F21d", "F21dd", "F21e", "F21h", "F21i", "F21k", "F21l"):
        v[code] = _yes(r(code), 0.3 + 0.7 * m) if v["F20"] else 0
    for code in ("F22a", "F22b", "F22c", "F22d"):
        v[code] = _yes(r(code), 0.3 + 0.7 * m) if v["F20"] else 0
    v["F23"] = round(r("F23").uniform(20, 200) * (0.3 + m)) if v["F20"] else 0
    v["F24"] = _yes(r("F24"), 0.35 + 0.7 * m)
    v["F25"] = round((r("F25").randint(150, 3000) if dept else r("F25").randint(1000, 8000)) * size)
    v["F26"] = round(v["F25"] * _share(r("F26"), 0.3 + 0.7 * m)) if v["F24"] else 0
    v["F27"] = r("F27").randint(40, 180) if dept else r("F27").randint(150, 300)
    v["F29"] = round(v["F27"] * 0.45 * m**2 * r("F29").uniform(0.6, 1.1))
    v["F30"] = round(v["F27"] * 0.2 * m**2 * r("F30").uniform(0.3, 1.2))
    v["F28"] = round((v["F27"] - v["F29"] - v["F30"]) * r("F28").uniform(0.4, 1.0))
    v["F31"] = round(v["F25"] * r("F31").uniform(0.1, 0.4))
    level34 = v["F29"] + v["F30"]
    if level34 == 0:
        v["F32"] = v["F33"] = 0
    else:
        v["F32"] = round(v["F31"] * _share(r("F32"), 0.05 + 0.75 * m**2))
        v["F33"] = 0 if v["F32"] == 0 else max(1, min(level34, v["F32"], round(level34 * _share(r("F33"), 0.2 + 0.7 * m))))
    for code in ("F34", "F35", "F36", "F37", "F38"):
        v[code] = _yes(r(code), 0.15 + 0.85 * m)
    v["F39"] = r("F39").randint(1, 3) if m > 0.2 else r("F39").randint(0, 1)
    v["F40"] = r("F40").randint(0, v["F39"])
    v["F41"] = round(v["F01"] * _share(r("F41"), 0.1 + 0.5 * m))
    v["F42"] = _yes(r("F42"), 0.3 + 0.7 * m)
    v["F43"] = _yes(r("F43"), 0.2 + 0.8 * m)
    v["F44"] = round(r("F44").uniform(30, 500) * (0.3 + m), 1)
    if not dept:
        v["X00"] = r("X00").randint(14, 30)
        v["X01"] = round(v["X00"] * r("X01").randint(18, 24) * size)
        v["X02"] = round(v["X01"] * _share(r("X02"), 0.3 + 0.6 * m))
        v["X03"] = max(1, round(v["X02"] * r("X03").uniform(0.9, 1.1)))
        v["X04"] = round(v["X00"] * _share(r("X04"), 0.3 + 0.7 * m))
        v["X05"] = round(v["X01"] * _share(r("X05"), 0.1 + 0.6 * m))
        v["X06"] = round(v["X00"] * _share(r("X06"), 0.9 * m))
        v["X07"] = round(v["X00"] * _share(r("X07"), 0.7 * m - 0.1))
        v["X08"] = round(v["X00"] * _share(r("X08"), 0.6 * m - 0.1))
    return {f.code: v[f.code] for f in fields}


def as_typed(values: dict[str, float], fields: list) -> dict[str, object]:
    """Values as a tidy agency types them: numbers as numbers, yes/no as the text Có/Không."""
    out: dict[str, object] = {}
    for spec in fields:
        x = values[spec.code]
        if x is None:
            out[spec.code] = None
        elif spec.type == "yesno":
            out[spec.code] = YESNO[int(x)]
        elif spec.type == "count":
            out[spec.code] = int(x)
        else:
            out[spec.code] = float(x)
    return out


# -- the cycle -------------------------------------------------------------------------------


def build_sample(year: int, seed: int = 2017, agencies: int | None = None, rubric=None) -> SampleCycle:
    """The whole synthetic cycle in memory (no file written)."""
    rubric = _rubric_for(year, rubric)
    rng = random.Random(f"ictaudit-sample:{year}:{seed}")
    deadline = sample_deadline(year)
    roster = sample_roster(agencies)
    ranked = [a for a in roster if a.ranked]
    order = ranked[:]
    rng.shuffle(order)
    late = order[0] if len(order) >= 3 else None
    missing = order[1] if len(order) >= 3 else None
    sample = SampleCycle(year, seed, deadline, roster, [], {}, [])
    fields_of = {g: list(rubric.fields_for_form(rubric.form_of(g))) for g in rubric.group_ids}
    clean = {a.agency_id: _agency_values(a, year, seed, fields_of[a.group]) for a in ranked}
    typed = {a.agency_id: as_typed(clean[a.agency_id], fields_of[a.group]) for a in ranked}
    for a in roster:
        expected = "excluded" if not a.ranked else "late" if a is late else "missing" if a is missing else "ranked"
        sample.planted.append(_planted(a.agency_id, "status", expected=expected, description=_status_text(expected)))
    # logic errors and text values, each on its own on-time agency
    hosts = [a for a in order if a not in (late, missing)]
    sample.corrections = _plant_logic_errors(sample, hosts, clean, typed, rubric, fields_of)
    _plant_text_values(sample, hosts, clean, typed, fields_of)
    for a in sorted(ranked, key=lambda a: a.agency_id):
        if a is not missing:
            sample.receipts.append(_receipt(a, a is late, deadline, rng))
            sample.values[a.agency_id] = typed[a.agency_id]
    sample.receipts.sort(key=lambda r: (r["received_on"], r["agency_id"]))
    return sample


def _rubric_for(year: int, rubric):
    """The sample's rubric (:data:`RUBRIC_ID` unless one is given), refusing a year it does not cover."""
    if rubric is None:
        from ictaudit.rules.rubric import load_rubric

        rubric = load_rubric(RUBRIC_ID)
    if rubric.years and year not in rubric.years:
        years = ", ".join(map(str, rubric.years))
        raise CycleError(f"dữ liệu mẫu năm {year}: bộ tiêu chí {rubric.id} chỉ áp dụng cho các năm {years}")
    return rubric


def _agency_values(agency: SampleAgency, year: int, seed: int, fields: list) -> dict[str, float]:
    """The clean values of one ranked agency: its profile does not depend on the year or seed; the
    year moves it a little."""
    profile = f"ictaudit-sample-profile:{agency.agency_id}"
    u = random.Random(f"{profile}:maturity").random()
    base = 0.4 + 0.62 * u**0.6 if agency.group == "so_ban_nganh" else 0.08 + 0.92 * u
    yrng = random.Random(f"ictaudit-sample:{year}:{seed}:{agency.agency_id}")
    maturity = _clip(base + 0.04 * (year - 2017) + yrng.uniform(-0.03, 0.03))
    size = 1 + yrng.uniform(-0.06, 0.06)
    return clean_values(agency.group, maturity, profile, fields, size)


def _cell_of(fields: list, code: str) -> str:
    """The value cell of field ``code`` on a form of ``fields``."""
    return cell_address(HEADER_ROW + 1 + [f.code for f in fields].index(code), 3)


def _plant_logic_errors(
    sample: SampleCycle, hosts: list, clean: dict, typed: dict, rubric, fields_of: dict
) -> list[dict]:
    """Plant each of :func:`logic_plants` in the first host it fits (taking it from ``hosts``);
    the corrections that fix the corrected ones, in planting order."""
    corrections: list[dict] = []
    for plant in logic_plants():
        host = next((a for a in hosts if plant.fits(clean[a.agency_id])), None)
        if host is None:
            continue
        hosts.remove(host)
        v = clean[host.agency_id]
        _code, old_text, new_text = plant.apply(v, rubric.field_by_code[plant.field].type)
        typed[host.agency_id] = as_typed(v, fields_of[host.group])
        cid = ""
        if plant.corrected:
            confirmed_on = sample.deadline + timedelta(days=12 + len(corrections))
            corrections.append(_correction(host, plant, old_text, new_text, confirmed_on))
            cid = f"K{len(corrections):03d}"
        sample.planted.append(
            _planted(host.agency_id, "logic", check_id=plant.check_id, field=plant.field,
                     cell=_cell_of(fields_of[host.group], plant.field), raw_value=old_text, correction_id=cid,
                     description=plant.description.format(**{k: show(x) for k, x in v.items()}))
        )  # fmt: skip
    return corrections


def _correction(host: SampleAgency, plant: Plant, old: str, new: str, confirmed_on: date) -> dict:
    return {"agency_id": host.agency_id, "field": plant.field, "old_value": old, "new_value": new,
            "reason": plant.reason, "check_id": plant.check_id, "confirmed_by": f"Chánh Văn phòng — {host.name}",
            "confirmed_on": confirmed_on.isoformat(), "source": "agency reply",
            "document": f"Công văn trả lời ngày {fmt_date(confirmed_on)} (văn bản mẫu)"}  # fmt: skip


def _plant_text_values(sample: SampleCycle, hosts: list, clean: dict, typed: dict, fields_of: dict) -> None:
    """Type one value as text in each of :data:`TEXT_STYLES`, each in the first host it fits."""
    for style in TEXT_STYLES:
        host = next((a for a in hosts if text_fits(style, clean[a.agency_id])), None)
        if host is None:
            continue
        hosts.remove(host)
        code, text, expected = text_value(style, clean[host.agency_id])
        typed[host.agency_id][code] = text
        sample.planted.append(
            _planted(host.agency_id, "text", field=code, cell=_cell_of(fields_of[host.group], code), raw_value=text,
                     expected=show(expected),
                     description=f"{code} gõ dạng chữ kiểu Việt Nam: “{text}” = {show(expected)}")
        )  # fmt: skip


def _receipt(agency: SampleAgency, late: bool, deadline: date, rng: random.Random) -> dict:
    """The register's row for an agency's form: after the deadline when ``late``, else up to 18 days before."""
    if late:
        received = deadline + timedelta(days=rng.randint(2, 8))
        note = "Nhận sau hạn; đã báo đơn vị không được xếp hạng."
    else:
        received = deadline - timedelta(days=rng.randint(0, 18))
        note = ""
    return {"agency_id": agency.agency_id, "file": f"{agency.agency_id}.xlsx", "received_on": received.isoformat(),
            "channel": rng.choice(CHANNELS), "note": note}  # fmt: skip


def _status_text(status: str) -> str:
    return {
        "ranked": "gửi đúng hạn, được xếp hạng",
        "late": "gửi sau hạn: không được xếp hạng",
        "missing": "không gửi phiếu: không được xếp hạng",
        "excluded": "không xếp hạng theo danh sách (đơn vị đặc thù)",
    }[status]


def _planted(agency_id, kind, *, check_id="", field="", cell="", raw_value="", expected="", correction_id="",
             description="") -> dict:  # fmt: skip
    return {
        "agency_id": agency_id, "kind": kind, "check_id": check_id, "field": field, "cell": cell,
        "raw_value": raw_value, "expected": expected, "correction_id": correction_id, "description": description,
    }  # fmt: skip


def planted_errors(year: int, seed: int = 2017, agencies: int | None = None) -> pd.DataFrame:
    """What the sample of ``year`` and ``seed`` plants, as ``planted.csv`` holds it (see module doc)."""
    return _planted_frame(build_sample(year, seed, agencies))


def _planted_frame(sample: SampleCycle) -> pd.DataFrame:
    kind_order = {"status": 0, "logic": 1, "text": 2}
    df = pd.DataFrame(sample.planted, columns=list(PLANTED_COLUMNS))
    df = df.assign(_k=df["kind"].map(kind_order)).sort_values(["_k", "agency_id", "field"], kind="stable")
    return df.drop(columns="_k").reset_index(drop=True)


# -- writing ---------------------------------------------------------------------------------


def write_sample_cycle(year: int, out: Path | str, agencies: int | None = None, seed: int = 2017) -> Path:
    """Write the synthetic cycle folder ``out`` (cycle.yaml, CSVs, submissions/, SAMPLE.md, planted.csv).

    ``out`` must be empty, absent, or an earlier sample (``sample: true``): real data is never
    overwritten (:class:`ictaudit.intake.cycle.CycleError` otherwise, as for a year the rubric does not cover).
    """
    from ictaudit.rules.rubric import load_rubric

    out = Path(out)
    _refuse_real_data(out)
    rubric = load_rubric(RUBRIC_ID)
    sample = build_sample(year, seed, agencies, rubric)
    subdir = out / SUBMISSIONS_DIR
    if subdir.exists():
        shutil.rmtree(subdir)
    subdir.mkdir(parents=True)
    by_id = {a.agency_id: a for a in sample.roster}
    for agency_id, typed in sorted(sample.values.items()):
        a = by_id[agency_id]
        write_form(
            subdir / f"{agency_id}.xlsx", rubric, a.group, a.agency_id, a.name, year,
            deadline=sample.deadline, contact=CONTACT, values=typed,
        )  # fmt: skip
    (out / "cycle.yaml").write_text(_cycle_yaml(sample), encoding="utf-8")
    _write_csv(out / "agencies.csv", AGENCY_COLUMNS,
               [{"agency_id": a.agency_id, "name": a.name, "group": a.group, "ranked": "true" if a.ranked else "false",
                 "note": a.note} for a in sample.roster])  # fmt: skip
    _write_csv(out / "receipts.csv", RECEIPT_COLUMNS, sample.receipts)
    corrections = out / "corrections.csv"
    if sample.corrections:
        _write_csv(corrections, (*CORRECTION_COLUMNS, "source", "document"), sample.corrections)
    elif corrections.exists():
        corrections.unlink()
    planted = _planted_frame(sample)
    _write_csv(out / "planted.csv", PLANTED_COLUMNS, planted.to_dict("records"))
    (out / "SAMPLE.md").write_text(_sample_md(sample, planted), encoding="utf-8")
    return out


def _refuse_real_data(out: Path) -> None:
    if not out.exists() or not any(out.iterdir()):
        return
    cycle_yaml = out / "cycle.yaml"
    if cycle_yaml.exists():
        import yaml

        from ictaudit.rules.files import load_yaml

        try:
            data = load_yaml(cycle_yaml.read_text(encoding="utf-8-sig"))
        except yaml.YAMLError:
            data = None
        if isinstance(data, dict) and data.get("sample") is True:
            return
    raise CycleError(f"{out}: thư mục không trống và không phải đợt đánh giá mẫu (cycle.yaml không có 'sample: true'); hãy chọn một thư mục trống")


def _write_csv(path: Path, columns, rows: list[dict]) -> None:
    df = pd.DataFrame(rows, columns=list(columns)).fillna("")
    path.write_text(df.to_csv(index=False, lineterminator="\n"), encoding="utf-8")


def _cycle_yaml(sample: SampleCycle) -> str:
    notice = fmt_date(sample.deadline + timedelta(days=1))
    return (
        f"# DỮ LIỆU MẪU — synthetic sample written by `ictaudit sample --year {sample.year} --seed {sample.seed}`.\n"
        "# Not real figures of any agency. See SAMPLE.md and planted.csv for what was planted.\n"
        f"year: {sample.year}\n"
        f"rubric: {RUBRIC_ID}\n"
        f"deadline: {sample.deadline.isoformat()}  # the notice says \"trước ngày {notice}\": last accepted day\n"
        f'title: "Đánh giá, xếp hạng mức độ ứng dụng CNTT của các cơ quan nhà nước tỉnh Cao Bằng năm {sample.year}'
        ' — DỮ LIỆU MẪU (tổng hợp, không phải số liệu thật)"\n'
        f"province: {PROVINCE}\n"
        "sample: true\n"
        f'contact: "{CONTACT}"\n'
        f"reply_by: {(sample.deadline + timedelta(days=18)).isoformat()}  # the last day for confirmation replies\n"
        f'reply_to: "{REPLY_TO}"\n'
    )


def _sample_md(sample: SampleCycle, planted: pd.DataFrame) -> str:
    statuses = planted[planted["kind"] == "status"]
    counts = statuses["expected"].value_counts()
    lines = [
        f"# Sample cycle {sample.year} (seed {sample.seed}) — DỮ LIỆU MẪU",
        "",
        "Synthetic data written by `ictaudit sample`: realistic in shape, not the figures of any agency.",
        "Every submission was written by the same form writer agencies receive (`ictaudit forms`),",
        "with column D filled in. What was planted on purpose is listed below and, machine-readable,",
        "in `planted.csv` (columns described in `ictaudit.year.sample`).",
        "",
        f"- Deadline (last accepted day): {fmt_date(sample.deadline)}",
        f"- Roster: {len(sample.roster)} units — "
        + ", ".join(f"{counts.get(s, 0)} {s}" for s in ("ranked", "late", "missing", "excluded")),
        "",
        "## Statuses other than ranked",
        "",
    ]
    names = {a.agency_id: a.name for a in sample.roster}
    for row in statuses[statuses["expected"] != "ranked"].itertuples():
        lines.append(f"- `{row.agency_id}` ({names[row.agency_id]}): **{row.expected}** — {row.description}")
    lines += ["", "## Logic errors (docs/domain.md §5)", "", "| agency | check | field | cell | typed | corrected by |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    for row in planted[planted["kind"] == "logic"].itertuples():
        lines.append(
            f"| `{row.agency_id}` | {row.check_id} | {row.field} | {row.cell} | {row.raw_value or '(trống)'} | "
            f"{row.correction_id or '— (not corrected)'} |"
        )
    lines += ["", "## Numbers typed as text (read without a problem)", "", "| agency | field | cell | typed | read as |",
              "|---|---|---|---|---|"]  # fmt: skip
    for row in planted[planted["kind"] == "text"].itertuples():
        lines.append(f"| `{row.agency_id}` | {row.field} | {row.cell} | `{row.raw_value}` | {row.expected} |")
    lines += [
        "",
        "Every yes/no answer is typed as the text Có/Không, as agencies do. Each agency keeps one profile",
        "across sample years (only its maturity and size drift), so year-over-year checks (L24) stay quiet",
        "except where a planted error moved a value (e.g. F23 = 0 with the L20 plant, F17 = 0 with L25).",
        "",
    ]
    return "\n".join(lines)
