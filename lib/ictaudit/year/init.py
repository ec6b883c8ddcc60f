"""A new year's cycle folder from last year's: ``ictaudit init --year 2018 --from data/raw/2017 --out DIR``.

In: last year's cycle folder and, when there is one, the finished run of it (its ``manifest.json``,
found in ``outputs/<last year>`` or given). Out: a new cycle folder (docs/contracts.md §3):

- ``cycle.yaml`` for the new year: the rubric, province, contact, clock and reply address carried
  over, the title's year changed; ``deadline``, ``reply_by``, ``notice`` and the official documents'
  number and date left empty, each with a comment telling the DIC what to write (forms can go out
  without them, a run cannot go without the deadline);
- ``agencies.csv``: last year's roster with its ids (stable ids are what links the years), and a
  ``predecessor`` column holding each agency's own id: for a renamed unit the DIC changes the id
  and keeps the old one there; for a merger it lists the old ids separated by ``;``;
- ``receipts.csv`` and ``corrections.csv`` with their headers only, an empty ``submissions/``;
- ``previous/``: last year's published results, the files :data:`PREVIOUS_FILES` (``scores.csv`` and
  ``values.csv`` of the run's scored folder, ``agencies.csv`` of last year's folder, the run's
  ``manifest.json``), each checked against the sha256 the run recorded, and listed with its sha256
  under ``previous:`` in ``cycle.yaml``. Without a finished run of last year's folder as it is now,
  the folder is written without ``previous:`` and :attr:`InitResult.warning` says what that means
  and how to fix it.

The folder is written whole or not at all (built beside ``DIR`` and renamed into place), into a
``DIR`` that is absent or empty; an existing folder is never changed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from ictaudit.intake.cycle import (
    AGENCIES_FILE,
    AGENCY_COLUMNS,
    CORRECTION_COLUMNS,
    CORRECTION_OPTIONAL_COLUMNS,
    CORRECTIONS_FILE,
    CYCLE_FILE,
    PREVIOUS_DIR,
    PREVIOUS_FILES,
    RECEIPT_COLUMNS,
    RECEIPT_MAIL_COLUMNS,
    RECEIPTS_FILE,
    SUBMISSIONS_DIR,
    Cycle,
    CycleError,
    load_cycle,
)

MANIFEST_FILE = "manifest.json"
#: particulars of the official documents that change every year: emptied when carried over
YEARLY_PARTICULARS = ("number", "date")


@dataclass(frozen=True)
class PreviousLink:
    """Last year's published results as found: where each file comes from, and its sha256."""

    year: int
    run_dir: Path  # resolved
    sources: dict[str, Path]
    sha256: dict[str, str]


@dataclass(frozen=True)
class InitResult:
    """What ``init`` wrote: the folder, the roster's size, the link to last year (or why there is none)."""

    out: Path
    year: int
    previous_year: int
    agencies: int
    ranked: int
    previous: PreviousLink | None
    warning: str  # why there is no link to last year's results, what it means, how to fix it; "" with one


class NoPublishedResults(Exception):
    """No usable finished run of last year's folder; the message says why."""


def init_cycle(
    year: int, previous_cycle: Path | str, out: Path | str, *, results: Path | str, explicit_results: bool = False,
    rubric: str | None = None,
) -> InitResult:  # fmt: skip
    """Write the new cycle folder ``out`` for ``year`` from ``previous_cycle``; see the module's docstring.

    ``results`` is the output folder of the run of ``previous_cycle`` (``outputs/<year>`` by default,
    chosen by the caller); when ``explicit_results`` is true (the user named it), a folder that cannot
    be used is an error instead of a warning. ``rubric`` replaces the rubric carried over. Raises
    :class:`CycleError` naming the problem; nothing is written then.
    """
    out = Path(out)
    _check_out(out)
    prev = load_cycle(Path(previous_cycle), for_run=False)
    if out.resolve().is_relative_to(prev.root.resolve()):
        raise CycleError(f"--out {out} nằm trong thư mục đợt năm trước {prev.root}: hãy chỉ một thư mục bên cạnh")
    if year <= prev.year:
        raise CycleError(f"--year {year}: đợt mới phải sau năm của đợt làm gốc ({prev.year})")
    rubric_id = rubric or prev.rubric_id
    _check_rubric(rubric_id, year)
    try:
        link = find_published_results(prev, Path(results))
        warning = ""
    except NoPublishedResults as exc:
        if explicit_results:
            raise CycleError(f"--results {results}: không dùng được làm kết quả đã công bố: {exc}") from None
        link, warning = None, _warning_without_results(prev, Path(results), out, str(exc))
    stage = out.parent / f".{out.name}.init-{os.getpid()}"
    if stage.exists():
        shutil.rmtree(stage)
    try:
        _write_folder(stage, year, prev, rubric_id, link)
        load_cycle(stage, for_run=False)  # what was written reads back as a cycle (and previous/ checks)
        if out.exists():
            out.rmdir()  # empty (checked above)
        stage.rename(out)
    finally:
        if stage.exists():
            shutil.rmtree(stage)
    ranked = int(prev.agencies["ranked"].sum())
    return InitResult(out, year, prev.year, len(prev.agencies), ranked, link, warning)


def _check_out(out: Path) -> None:
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise CycleError(f"--out {out} đã có và không phải thư mục; init chỉ tạo thư mục đợt đánh giá mới")
    if out.exists() and any(out.iterdir()):
        raise CycleError(
            f"--out {out} không trống (not empty): init chỉ tạo thư mục đợt đánh giá mới, không sửa thư mục đã có "
            "(hãy chỉ một thư mục chưa có hoặc trống)"
        )
    if not out.parent.is_dir():
        raise CycleError(f"--out {out}: chưa có thư mục chứa nó ({out.parent})")


def _check_rubric(rubric_id: str, year: int) -> None:
    from ictaudit.rules.rubric import load_rubric

    rubric = load_rubric(rubric_id)
    if rubric.years and year not in rubric.years:
        years = ", ".join(map(str, rubric.years))
        raise CycleError(
            f"bộ tiêu chí {rubric.id} chỉ áp dụng cho các năm {years}, không phải {year}: thêm {year} vào years của "
            "bộ tiêu chí nếu thang điểm không đổi, hoặc chỉ bộ tiêu chí của năm đó bằng --rubric ID"
        )


# -- last year's published results ---------------------------------------------------------------


def find_published_results(prev: Cycle, run_dir: Path) -> PreviousLink:
    """Last year's published results: the finished run of ``prev`` in ``run_dir``, checked.

    The run's manifest must be of ``prev``'s year, its recorded inputs must be ``prev``'s files as
    they are now (the published results are those of this very folder), and its scored tables must
    still have the recorded bytes. Raises :class:`NoPublishedResults` saying which check failed.
    """
    manifest_path = run_dir / MANIFEST_FILE
    try:
        manifest_bytes = manifest_path.read_bytes()
    except FileNotFoundError:
        raise NoPublishedResults(f"không có {manifest_path} (chưa có lần chạy hoàn tất)") from None
    except OSError as exc:
        raise NoPublishedResults(f"không đọc được {manifest_path}: {exc.strerror or exc}") from None
    try:
        manifest = json.loads(manifest_bytes.decode("utf-8"))
        recorded_year = manifest["cycle"]["year"]
        recorded_inputs = manifest["inputs"]["cycle"]
        scored = Path(manifest["paths"]["scored"])
        outputs = manifest["outputs"]
    except (ValueError, KeyError, TypeError) as exc:
        raise NoPublishedResults(f"{manifest_path} không phải manifest của `ictaudit run` ({exc})") from None
    if recorded_year != prev.year:
        raise NoPublishedResults(f"{manifest_path} là lần chạy năm {recorded_year}, không phải năm {prev.year}")
    if changed := _changed_since(prev.root, recorded_inputs):
        shown = ", ".join(changed[:5]) + (" …" if len(changed) > 5 else "")
        raise NoPublishedResults(
            f"thư mục {prev.root} đã thay đổi sau lần chạy ghi trong {manifest_path} ({shown}): kết quả đó không "
            "phải của thư mục như hiện nay"
        )
    sources = {
        "scores.csv": scored / "scores.csv",
        "values.csv": scored / "values.csv",
        "agencies.csv": prev.root / AGENCIES_FILE,
        "manifest.json": manifest_path,
    }
    expected = {
        "scores.csv": outputs.get("scored/scores.csv"),
        "values.csv": outputs.get("scored/values.csv"),
        "agencies.csv": recorded_inputs.get(AGENCIES_FILE),
    }
    digests = {"manifest.json": hashlib.sha256(manifest_bytes).hexdigest()}
    for name, source in sources.items():
        if name == "manifest.json":
            continue
        try:
            digest = hashlib.sha256(source.read_bytes()).hexdigest()
        except OSError as exc:
            raise NoPublishedResults(f"không đọc được {source}: {exc.strerror or exc}") from None
        if digest != expected[name]:
            raise NoPublishedResults(
                f"{source} không còn là bảng lần chạy đã ghi (sha256 {digest[:12]}…, manifest ghi "
                f"{str(expected[name])[:12]}…)"
            )
        digests[name] = digest
    assert set(sources) == set(PREVIOUS_FILES)
    return PreviousLink(prev.year, run_dir.resolve(), sources, digests)


def _changed_since(root: Path, recorded: dict[str, str]) -> list[str]:
    """The files of ``root`` whose bytes are not the ones ``recorded`` (path → sha256), those added
    and those gone, as paths relative to ``root``; links are not followed (a link was recorded as one)."""
    now: dict[str, str] = {}
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        here = Path(folder)
        for name in [*files, *(d for d in dirs if (here / d).is_symlink())]:
            path = here / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                now[rel] = f"symlink → {os.readlink(path)}"
                continue
            try:
                now[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError as exc:
                now[rel] = f"unreadable: {exc.strerror or exc}"
    return sorted(rel for rel in set(now) | set(recorded) if now.get(rel) != recorded.get(rel))


def _warning_without_results(prev: Cycle, results: Path, out: Path, why: str) -> str:
    return (
        f"CẢNH BÁO: chưa liên kết được kết quả đã công bố của năm {prev.year}: {why}.\n"
        f"Hậu quả: báo cáo năm sau sẽ không có phần so sánh với năm {prev.year} và không kiểm tra biến động "
        "số liệu so với năm trước (L24).\n"
        f"Cách sửa: chạy `ictaudit run --cycle {prev.root}` (kết quả vào {results}), rồi xóa {out} khi chưa "
        f"nhận gì vào đó và chạy lại `ictaudit init`; hoặc chỉ thư mục kết quả đã công bố bằng --results."
    )


# -- writing the folder -----------------------------------------------------------------------------


def _write_folder(stage: Path, year: int, prev: Cycle, rubric_id: str, link: PreviousLink | None) -> None:
    (stage / SUBMISSIONS_DIR).mkdir(parents=True)
    (stage / CYCLE_FILE).write_text(cycle_yaml_text(year, prev, rubric_id, link), encoding="utf-8")
    (stage / AGENCIES_FILE).write_text(roster_text(prev), encoding="utf-8")
    (stage / RECEIPTS_FILE).write_text(_csv_text([[*RECEIPT_COLUMNS, *RECEIPT_MAIL_COLUMNS]]), encoding="utf-8")
    header = [*CORRECTION_COLUMNS, *CORRECTION_OPTIONAL_COLUMNS]
    (stage / CORRECTIONS_FILE).write_text(_csv_text([header]), encoding="utf-8")
    _copy_wording(prev, stage)
    if link is not None:
        folder = stage / PREVIOUS_DIR
        folder.mkdir()
        for name, source in link.sources.items():
            data = source.read_bytes()
            if hashlib.sha256(data).hexdigest() != link.sha256[name]:  # changed since it was checked
                raise CycleError(f"{source}: changed while it was being copied; run init again")
            (folder / name).write_bytes(data)


def _copy_wording(prev: Cycle, stage: Path) -> None:
    """The documents' wording file last year's ``documents.wording`` names (carried over in cycle.yaml),
    copied beside it: the new year's documents speak as last year's did."""
    name = (prev.documents or {}).get("wording")
    if not isinstance(name, str) or not name.strip():
        return
    source = prev.root / name
    if source.is_file() and source.resolve().is_relative_to(prev.root.resolve()):
        (stage / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, stage / name)


def _csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def roster_text(prev: Cycle) -> str:
    """Last year's roster as this year's ``agencies.csv``: the same ids, ``predecessor`` = the id."""
    rows = [[*AGENCY_COLUMNS, "predecessor"]]
    for a in prev.agencies.itertuples(index=False):
        rows.append([a.agency_id, a.name, a.group, "true" if a.ranked else "false", a.note, a.agency_id])
    return _csv_text(rows)


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON's quoting is valid YAML), Vietnamese kept as it is."""
    return json.dumps(text, ensure_ascii=False)


def _emptied(node):
    """The documents' particulars carried over, with :data:`YEARLY_PARTICULARS` emptied at any depth."""
    if isinstance(node, dict):
        return {k: ("" if k in YEARLY_PARTICULARS else _emptied(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_emptied(v) for v in node]
    return node


def cycle_yaml_text(year: int, prev: Cycle, rubric_id: str, link: PreviousLink | None) -> str:
    """The new ``cycle.yaml``, with comments saying what the DIC fills in before forms go out and before the run."""
    title = prev.title.replace(str(prev.year), str(year))
    lines = [
        f"# Đợt đánh giá năm {year}, tạo bằng `ictaudit init` từ đợt năm {prev.year}.",
        "# Các mục ghi ĐIỀN là việc của Sở: xem README, mục “The cycle folder”.",
        f"year: {year}",
        f"rubric: {_quoted(rubric_id)}  # bộ tiêu chí (rubrics/<id>.yaml)",
        "# ĐIỀN trước khi chạy: ngày cuối cùng nhận phiếu, dạng YYYY-MM-DD. Văn bản ghi “trước ngày 03/11” thì",
        "# ghi ngày 02/11. Để trống vẫn gửi được phiếu trắng (ictaudit forms), nhưng chưa chạy được (ictaudit run).",
        "deadline:",
        f"title: {_quoted(title)}",
        f"province: {_quoted(prev.province)}",
    ]
    if prev.sample:
        lines.append("sample: true  # dữ liệu mẫu (tổng hợp), như năm trước")
    lines += [
        f"timezone: {_quoted(prev.timezone)}  # giờ dùng để xét thư đến trước hay sau hạn",
        f"contact: {_quoted(prev.contact)}  # in trên phiếu: nơi hỏi khi điền phiếu",
        f"reply_to: {_quoted(prev.reply_to)}  # ĐIỀN: địa chỉ thư điện tử nhận phiếu (in trên phiếu)",
        "# ĐIỀN: ngày cuối cùng đơn vị gửi xác nhận, điều chỉnh số liệu (YYYY-MM-DD).",
        "reply_by:",
        "# ĐIỀN: văn bản của Sở mở đợt đánh giá (số, ngày), ví dụ “Công văn số 123/STTTT-CNTT ngày 01/10/2018”.",
        'notice: ""',
    ]
    documents = _emptied(prev.documents)
    if documents:
        dumped = yaml.safe_dump({"documents": documents}, allow_unicode=True, sort_keys=False, width=1000)
        lines += [
            f"# ĐIỀN: thông tin các văn bản chính thức. Chép từ năm {prev.year}; số (number) và ngày (date) đã",
            "# để trống: ghi số, ngày của năm nay và kiểm tra người ký, nơi nhận.",
            *dumped.rstrip("\n").splitlines(),
        ]
    else:
        lines += ["# ĐIỀN khi có: thông tin các văn bản chính thức (documents: số, ngày, người ký, nơi nhận)."]
    if link is not None:
        lines += [
            f"# Kết quả đã công bố của năm {link.year}, chép vào {PREVIOUS_DIR}/ kèm sha256: không sửa các tệp này",
            "# (một tệp bị sửa thì lần chạy dừng và báo tệp đó).",
            "previous:",
            f"  year: {link.year}",
            f"  folder: {PREVIOUS_DIR}",
            f"  source: {_quoted(str(link.run_dir))}",
            "  sha256:",
            *(f"    {name}: {link.sha256[name]}" for name in PREVIOUS_FILES),
        ]
    else:
        lines += [
            f"# Chưa liên kết kết quả đã công bố của năm {prev.year} (không có lần chạy hoàn tất của thư mục năm đó):",
            "# báo cáo sẽ không so sánh với năm trước và không kiểm tra L24. Xem README.",
        ]
    return "\n".join(lines) + "\n"
