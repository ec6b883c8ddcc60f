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
    from ictaudit.rules.rubric import load_rubric, summary_table

    rubric = load_rubric(args.rubric)
    print(summary_table(rubric))
    print(f"\nOK: {args.rubric} passes every check")
    return EXIT_OK


def _cmd_sample(args: argparse.Namespace) -> int:
    from ictaudit.year.sample import write_sample_cycle

    out = write_sample_cycle(year=args.year, out=Path(args.out), agencies=args.agencies, seed=args.seed)
    print(f"sample cycle written to {out}")
    return EXIT_OK


def _cmd_forms(args: argparse.Namespace) -> int:
    from ictaudit.intake.forms import write_forms

    paths = write_forms(Path(args.cycle), Path(args.out))
    print(f"{len(paths)} forms written to {args.out}")
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


def _cmd_trace(args: argparse.Namespace) -> int:
    from ictaudit.run.suite import trace_agency

    path = trace_agency(args.agency_id, Path(args.run))
    print(f"trace: {path}")
    return EXIT_OK


def _cmd_verify(args: argparse.Namespace) -> int:
    from ictaudit.run.verify import verify_run

    report = verify_run(Path(args.run_dir))
    print(report.text())
    return EXIT_OK if report.ok else EXIT_DIFFERENT


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ictaudit",
        description="The reproducible audit of state agencies' IT application, one cycle at a time "
        "(the commands' contract: docs/contracts.md §8).",
    )
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("rubric", help="check a rubric file and print its summary table")
    s.add_argument("rubric", help="rubric id (caobang-2310-2016) or path to a YAML file")
    s.set_defaults(func=_cmd_rubric)

    s = sub.add_parser("sample", help="write a synthetic but realistic cycle folder")
    s.add_argument("--year", type=int, required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--agencies", type=int, default=None, help="number of agencies (default: the 2017 roster)")
    s.add_argument("--seed", type=int, default=2017)
    s.set_defaults(func=_cmd_sample)

    s = sub.add_parser("forms", help="write the blank data forms, one per agency to be ranked")
    s.add_argument("--cycle", required=True)
    s.add_argument("--out", required=True)
    s.set_defaults(func=_cmd_forms)

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

    s = sub.add_parser("trace", help="trace one agency's score step by step (HTML)")
    s.add_argument("agency_id")
    s.add_argument("--run", required=True, help="the run's output folder (outputs/<year>)")
    s.set_defaults(func=_cmd_trace)

    s = sub.add_parser(
        "document", help="write a finished run's official documents again (after filling in cycle.yaml's documents: and notice)"
    )
    s.add_argument("--run", required=True, help="the run's output folder (outputs/<year>)")
    s.add_argument(
        "--pdf-any-size", action="store_true",
        help="print the PDFs even when more than 300 agencies are ranked (LibreOffice then needs minutes)",
    )  # fmt: skip
    s.set_defaults(func=_cmd_document)

    s = sub.add_parser("verify", help="recompute a run from its recorded inputs and compare")
    s.add_argument("run_dir")
    s.set_defaults(func=_cmd_verify)
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
