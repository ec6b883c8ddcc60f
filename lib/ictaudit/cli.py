"""The ``ictaudit`` command line (docs/contracts.md §8).

Each sub-command is a thin wrapper: parse, call one library function, print where the results went.
Exit codes: 0 done; 1 the inputs cannot be processed (named file and problem); 2 usage error (argparse's
own); 3 ``verify`` found differences.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

EXIT_OK, EXIT_INPUT, EXIT_DIFFERENT = 0, 1, 3


def _cmd_rubric(args: argparse.Namespace) -> int:
    from ictaudit.rules.rubric import load_rubric, rubric_path, summary_table
    from ictaudit.rules.versions import RegistryError, record_version, version_check

    rubric = load_rubric(args.rubric)
    print(summary_table(rubric))
    try:
        if args.record:
            print(f"\nrecorded {rubric.id} {rubric.version} in {record_version(rubric, rubric_path(args.rubric))}")
        check = version_check(rubric, rubric_path(args.rubric))
    except RegistryError as exc:
        print(f"ictaudit rubric: {exc}", file=sys.stderr)
        return EXIT_INPUT
    if check.state == "changed":
        print(f"\nCẢNH BÁO: {check.message_vi()}", file=sys.stderr)
        print(f"FAILED: {args.rubric} changed without a new version (see {check.registry})")
        return EXIT_INPUT
    print(f"\n{check.message_vi()}")
    print(f"OK: {args.rubric} passes every check")
    return EXIT_OK


def _cmd_sample(args: argparse.Namespace) -> int:
    from ictaudit.year.sample import write_sample_cycle

    out = write_sample_cycle(year=args.year, out=Path(args.out), agencies=args.agencies, seed=args.seed)
    print(f"sample cycle written to {out}")
    if args.link_previous:
        from ictaudit.year.link import link_previous_results

        link_previous_results(out, Path(args.link_previous))
        print(f"last year's published results of {args.link_previous} linked in {out / 'previous'}")
    return EXIT_OK


def _cmd_forms(args: argparse.Namespace) -> int:
    from ictaudit.intake.cycle import load_cycle
    from ictaudit.intake.forms import write_forms

    paths = write_forms(Path(args.cycle), Path(args.out))
    cycle = load_cycle(Path(args.cycle), for_run=False)
    unranked = cycle.agencies[~cycle.agencies["ranked"]]["agency_id"].tolist()
    print(f"Đã ghi {len(paths)} phiếu trắng vào {args.out}: một phiếu cho mỗi đơn vị được xếp hạng.")
    if unranked:
        print(f"Không có phiếu cho {len(unranked)} đơn vị không xếp hạng theo danh sách: {', '.join(unranked)}.")
    if cycle.deadline is None:
        print("Lưu ý: cycle.yaml chưa ghi hạn nộp (deadline): phiếu ghi “theo văn bản đề nghị của Sở”.")
    return EXIT_OK


def _cmd_init(args: argparse.Namespace) -> int:
    from ictaudit.intake.cycle import load_cycle
    from ictaudit.run.suite import default_dirs
    from ictaudit.year.init import init_cycle

    previous = Path(args.previous)
    if args.results:
        results, explicit = Path(args.results), True
    else:
        results, explicit = default_dirs(previous, load_cycle(previous, for_run=False).year)[0], False
    r = init_cycle(args.year, previous, Path(args.out), results=results, explicit_results=explicit, rubric=args.rubric)
    print(f"Đã tạo thư mục đợt đánh giá năm {r.year} tại {r.out} (từ đợt năm {r.previous_year}: {previous}):")
    print(f"  agencies.csv    {r.agencies} đơn vị ({r.ranked} được xếp hạng), giữ mã; cột predecessor = mã năm "
          f"{r.previous_year} (sửa khi đơn vị đổi tên, sáp nhập: xem README)")  # fmt: skip
    print("  receipts.csv, corrections.csv  chỉ có dòng tiêu đề; submissions/ trống")
    if r.previous is not None:
        print(f"  previous/       kết quả đã công bố năm {r.previous_year} ({r.previous.run_dir}), sha256 ghi trong "
              "cycle.yaml")  # fmt: skip
    print("Việc tiếp theo: điền các mục ĐIỀN trong cycle.yaml (deadline, reply_to, notice…), kiểm tra agencies.csv, "
          f"rồi `ictaudit forms --cycle {r.out} --out THƯ_MỤC_PHIẾU`.")  # fmt: skip
    if r.warning:
        print(r.warning, file=sys.stderr)
    return EXIT_OK


def _cmd_receive(args: argparse.Namespace) -> int:
    from ictaudit.common.numfmt import fmt_date
    from ictaudit.intake.cycle import load_cycle
    from ictaudit.year.receive import receive_mail, report_text, write_report

    cycle = load_cycle(Path(args.cycle), for_run=False)
    if args.report and Path(args.report).resolve().is_relative_to(cycle.root.resolve()):
        print(
            f"ictaudit receive: --report {args.report} nằm trong thư mục đợt đánh giá; hãy ghi ra chỗ khác", file=sys.stderr
        )
        return EXIT_INPUT
    deadline = f"hạn cuối {fmt_date(cycle.deadline)}" if cycle.deadline else "chưa ghi hạn cuối"
    print(f"Nhận thư vào {cycle.root} ({deadline}, xét theo giờ {cycle.timezone}):")
    result = receive_mail(cycle.root, [Path(m) for m in args.mail])
    print(report_text(result))
    if args.report:
        print(f"Báo cáo nhận thư: {write_report(result, Path(args.report))}")
    return EXIT_OK


def _cmd_run(args: argparse.Namespace) -> int:
    from ictaudit.run.suite import run_cycle

    cycle = Path(args.cycle)
    result = run_cycle(
        cycle,
        out=Path(args.out) if args.out else None,
        scored=Path(args.scored) if args.scored else None,
        seed=args.seed,
        draws=args.draws,
        spread=args.spread,
        progress=not args.quiet,
        kernel_tricks=False if args.plain_papermill else None,
    )
    if result.summary:
        print(result.summary)
    print(f"report: {result.report_html}")
    _print_documents_note(result.out_dir)
    return EXIT_OK


def _print_documents_note(out_dir: Path) -> None:
    from ictaudit.report.documents import DOCUMENTS_DIR, pending_note

    print(f"documents: {out_dir / DOCUMENTS_DIR}")
    for line in pending_note(out_dir):
        print(line)


def _cmd_document(args: argparse.Namespace) -> int:
    import warnings

    from ictaudit.run.documents import reissue_documents

    with warnings.catch_warnings():  # the note below lists them, without Python's source lines
        warnings.simplefilter("ignore", UserWarning)
        written = reissue_documents(Path(args.run), pdf_any_size=args.pdf_any_size)
    for path in sorted(written.values()):
        print(f"đã viết: {path}")
    _print_documents_note(Path(args.run).resolve())
    print("manifest.json đã ghi mã băm mới của văn bản; các kết quả khác của lần chạy không đổi")
    return EXIT_OK


def _cmd_confirm(args: argparse.Namespace) -> int:
    from ictaudit.year.confirm import confirm_replies

    result = confirm_replies(Path(args.cycle), [Path(f) for f in args.files], dry_run=args.dry_run)
    print(result.text())
    return EXIT_OK if result.ok else EXIT_INPUT


def _cmd_status(args: argparse.Namespace) -> int:
    from ictaudit.report.status import STATUS_PAGE
    from ictaudit.report.status_views import status_text, write_status_page
    from ictaudit.run.status import cycle_status

    status, run = cycle_status(Path(args.cycle), Path(args.run) if args.run else None)
    page = run.out / STATUS_PAGE if run.out is not None and (run.out / STATUS_PAGE).exists() else None
    if args.html:
        page = write_status_page(status, Path(args.html), agency_links=False, run_note=run.note())
    print(status_text(status, page, run.note()))
    return EXIT_OK


def _cmd_trace(args: argparse.Namespace) -> int:
    from ictaudit.run.suite import trace_agency

    path = trace_agency(args.agency_id, Path(args.run), Path(args.out) if args.out else None)
    print(f"trace: {path}")
    print(f"executed notebook (the record): {path.with_suffix('.ipynb')}")
    return EXIT_OK


def _cmd_verify(args: argparse.Namespace) -> int:
    from ictaudit.run.verify import verify_run

    report = verify_run(Path(args.run_dir))
    print(report.text())
    return EXIT_OK if report.ok else EXIT_DIFFERENT


def _add_init(sub) -> None:
    s = sub.add_parser(
        "init", help="start a new year's cycle folder from last year's (roster, rubric, last year's results)"
    )
    s.add_argument("--year", type=int, required=True, help="the new cycle's year")
    s.add_argument("--from", dest="previous", required=True, help="last year's cycle folder (data/raw/<year>)")
    s.add_argument("--out", required=True, help="the new cycle folder: absent or empty")
    s.add_argument("--results", default=None,
                   help="the output folder of the run of last year's cycle (default: outputs/<last year>)")  # fmt: skip
    s.add_argument("--rubric", default=None, help="the rubric id for the new year (default: last year's)")
    s.set_defaults(func=_cmd_init)


def _add_forms(sub) -> None:
    s = sub.add_parser("forms", help="write the blank data forms, one per agency to be ranked")
    s.add_argument("--cycle", required=True)
    s.add_argument("--out", required=True)
    s.set_defaults(func=_cmd_forms)


def _add_receive(sub) -> None:
    s = sub.add_parser(
        "receive", help="register the forms found in mail (.eml files, folders of them, mbox) into a cycle folder"
    )
    s.add_argument("--cycle", required=True, help="the cycle folder (data/raw/<year>)")
    s.add_argument("mail", nargs="+", help="an .eml file, a folder of them, or an mbox file")
    s.add_argument(
        "--report", default=None, help="also write the receive report to this CSV (outside the cycle folder)"
    )
    s.set_defaults(func=_cmd_receive)


def _add_run(sub) -> None:
    s = sub.add_parser("run", help="run the whole audit of one cycle through the notebooks")
    s.add_argument("--cycle", required=True)
    s.add_argument("--out", default=None, help="default: outputs/<year>")
    s.add_argument("--scored", default=None, help="default: data/scored/<year>")
    s.add_argument("--seed", type=int, default=20171103, help="seed of the robustness analysis")
    s.add_argument("--draws", type=int, default=1000, help="Monte Carlo draws of the robustness analysis")
    s.add_argument("--spread", type=float, default=0.25, help="relative spread of the criterion weights")
    s.add_argument("--quiet", action="store_true", help="no progress display")
    s.add_argument(
        "--plain-papermill", action="store_true",
        help="run each notebook through plain papermill, without the kernel speed tricks (as "
        "ICTAUDIT_KERNEL_TRICKS=off does): the same tables and reports, a few seconds slower",
    )  # fmt: skip
    s.set_defaults(func=_cmd_run)


def _add_confirm(sub) -> None:
    s = sub.add_parser(
        "confirm",
        help="read the agencies' answered confirmation workbooks into the cycle's corrections.csv",
        description="Each returned workbook (renamed or re-saved: .xlsx, .xls, .ods) is recognised from its "
        "contents, checked against the agency's current data, and each answer appended to corrections.csv "
        "(docs/confirmations.md). A refused file writes nothing; the same files again change no byte.",
    )
    s.add_argument("--cycle", required=True, help="the cycle folder (data/raw/<year>)")
    s.add_argument("files", nargs="+", metavar="FILE", help="returned confirmation workbooks")
    s.add_argument("--dry-run", action="store_true", help="say what would be recorded, write nothing")
    s.set_defaults(func=_cmd_confirm)


def _add_status(sub) -> None:
    s = sub.add_parser(
        "status",
        help="the year so far: each agency's form (received when, how) or missing, its status, confirmation "
        "sent / answered / outstanding, corrections; whom to chase (works before any run)",
    )
    s.add_argument("--cycle", required=True)
    s.add_argument(
        "--run", default=None, help="the run's output folder (default: outputs/<year>, if it is a run of this cycle)"
    )
    s.add_argument("--html", default=None, help="also write the status page to this file")
    s.set_defaults(func=_cmd_status)


def _add_document(sub) -> None:
    s = sub.add_parser(
        "document",
        help="write a finished run's official documents again (after filling in cycle.yaml's documents: and notice)",
    )
    s.add_argument("--run", required=True, help="the run's output folder (outputs/<year>)")
    s.add_argument(
        "--pdf-any-size", action="store_true",
        help="print the PDFs even when more than 300 agencies are ranked (LibreOffice then needs minutes)",
    )  # fmt: skip
    s.set_defaults(func=_cmd_document)


def _add_trace(sub) -> None:
    s = sub.add_parser("trace", help="trace one agency's score step by step (HTML)")
    s.add_argument("agency_id")
    s.add_argument("--run", required=True, help="the run's output folder (outputs/<year>)")
    s.add_argument(
        "--out", default=None,
        help="where the page and the executed notebook go, outside the run folder (default: the run folder's "
        "sibling <run>-traces, e.g. outputs/2017-traces)",
    )  # fmt: skip
    s.set_defaults(func=_cmd_trace)


def _add_verify(sub) -> None:
    s = sub.add_parser("verify", help="recompute a run from its recorded inputs and compare")
    s.add_argument("run_dir")
    s.set_defaults(func=_cmd_verify)


def _add_rubric(sub) -> None:
    s = sub.add_parser("rubric", help="check a rubric file and print its summary table")
    s.add_argument("rubric", help="rubric id (caobang-2310-2016) or path to a YAML file")
    s.add_argument(
        "--record", action="store_true",
        help="record this version's content in the versions.yaml beside the rubric file (refused when the "
        "version is already recorded with other content: a changed scale needs a new version)",
    )  # fmt: skip
    s.set_defaults(func=_cmd_rubric)


def _add_sample(sub) -> None:
    s = sub.add_parser("sample", help="write a synthetic but realistic cycle folder")
    s.add_argument("--year", type=int, required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--agencies", type=int, default=None, help="number of agencies (default: the 2017 roster)")
    s.add_argument("--seed", type=int, default=2017)
    s.add_argument(
        "--link-previous", metavar="RUN_DIR", default=None,
        help="link the published results of this finished run of last year (its output folder) into the "
        "sample's previous/ and cycle.yaml, as ictaudit init does for a real year",
    )  # fmt: skip
    s.set_defaults(func=_cmd_sample)


#: the sub-commands, in the order a year uses them
COMMANDS = (
    _add_init,
    _add_forms,
    _add_receive,
    _add_run,
    _add_confirm,
    _add_status,
    _add_document,
    _add_trace,
    _add_verify,
    _add_rubric,
    _add_sample,
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ictaudit",
        description="The reproducible audit of state agencies' IT application, one cycle at a time "
        "(the commands' contract: docs/contracts.md §8).",
    )
    sub = p.add_subparsers(dest="command", required=True)
    for add in COMMANDS:  # in the order of the year
        add(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    from ictaudit.intake.cycle import CycleError
    from ictaudit.rules.rubric import RubricError
    from ictaudit.run.notebooks import NotebookFailed, UnknownParameters
    from ictaudit.run.suite import RunError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (RubricError, CycleError, RunError, NotebookFailed, UnknownParameters, FileNotFoundError) as exc:
        print(f"ictaudit {args.command}: {exc}", file=sys.stderr)
        return EXIT_INPUT


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
