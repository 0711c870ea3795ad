"""`convcheck verify [IMPL]`: run the property suite against an implementation.

Exit status: 0 every selected check holds; 1 a check failed (or none could run: nothing
verified); 2 IMPL cannot be loaded or the command line is wrong; 3 an internal error of the
suite or its oracles.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

from . import findings_table, matrix, oracles_campaign, text_cnn_train
from .implementations import ImplementationError, isolated, load
from .plugin import FAMILIES

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="convcheck", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    verify = sub.add_parser("verify", help="run the property suite against an implementation")
    verify.add_argument("impl", nargs="?", help="dotted module or path to a .py file (default: the bundled references)")
    verify.add_argument("--profile", default="ci", choices=("dev", "ci", "thorough", "replay"),
                        help="Hypothesis profile (default: ci; replay: only what the example database holds)")
    verify.add_argument("--api", choices=("tutorial", "full"),
                        help="hyperparameter space (default: full for the bundled references, tutorial for IMPL)")
    verify.add_argument("--family", help=f"comma-separated check families of {', '.join(FAMILIES)} (default: all)")
    verify.add_argument("--check", action="append", metavar="PATTERN",
                        help="run only checks whose id (implementation left out) matches PATTERN, '*' a wildcard; repeatable")
    verify.add_argument("-n", "--workers", default="0", help="xdist workers, e.g. 2 or auto (default: 0, in process)")
    verify.add_argument("--report-json", metavar="PATH", help="also write the summary as JSON to PATH")
    verify.add_argument("--repro-dir", metavar="DIR", help="where failing checks write replayable cases (default .convcheck/repros)")
    verify.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failing check")
    verify.add_argument("--strict", action="store_true",
                        help="a warning raised from IMPL's own code (DeprecationWarning included) is a failed check")
    verify.add_argument("--call-timeout", type=float, metavar="SECONDS",
                        help="cut off any single call into IMPL after SECONDS (default 60; 0 = never): kind 'timeout'")
    verify.add_argument("--isolation", choices=("process", "none"), default="process",
                        help="'process' (default): IMPL runs in a worker process of its own; 'none': in the test process")
    verify.add_argument("--example-db", metavar="URL", help="share failing examples through Redis: redis://HOST:PORT/N")
    verify.add_argument("--shard", metavar="K/N", help="run only shard K of N of the checks (split by test id)")
    verify.add_argument("--max-examples", type=int, metavar="N",
                        help="example budget: at most N examples per property test, whatever the profile's number")
    replay = sub.add_parser("repro", help="replay a recorded failure folder (exit 0 gone, 1 still there, 125 cannot run)")
    replay.add_argument("path", help="folder with case.json and arrays.npz")
    replay.add_argument("--impl", help="run on this implementation instead of the recorded one")
    replay.add_argument("--plot", metavar="PNG", help="draw implementation, oracle and difference")
    replay.add_argument("--no-poison", action="store_true", help="do not first leave a sentinel in the implementation's freed memory")
    promote = sub.add_parser("promote", help="move a recorded failure into the regression corpus")
    promote.add_argument("path", help="folder with case.json and arrays.npz")
    promote.add_argument("name", help="name of the regression case (letters, digits, _ and -)")
    promote.add_argument("--corpus", default=None, help="corpus folder (default: properties/regressions of this checkout)")
    matrix.add_arguments(sub.add_parser(
        "matrix", help="run IMPL in the tox envs of this checkout; print env x check family -> pass / FAIL / skip"))
    findings_table.add_arguments(sub.add_parser(
        "findings-table", help="the findings of --report-json files (one per framework run) as one Markdown table"))
    findings_table.add_keep_arguments(sub.add_parser(
        "findings-keep", help="copy a --report-json run's repro folders and report into a folder to commit"))
    oracles_campaign.add_arguments(sub.add_parser(
        "oracles", help="fuzz torch against JAX and the loops reference; print each disagreement: a known oracle defect, or new"))
    text_cnn_train.add_arguments(sub.add_parser(
        "text-cnn-train", help="train the NumPy text CNN and its torch twin side by side; plot both loss curves to a PNG"))
    return parser


def replay(args: argparse.Namespace) -> int:
    from . import repro_template

    argv = ["--case", args.path] + (["--impl", args.impl] if args.impl else []) + (["--plot", args.plot] if args.plot else [])
    argv += ["--no-poison"] if args.no_poison else []
    return repro_template.main(argv)


def promote(args: argparse.Namespace) -> int:
    import re
    import shutil

    from . import properties, repro_template

    if not re.fullmatch(r"[A-Za-z0-9_\-]{1,80}", args.name):
        print(f"convcheck: promote: bad name {args.name!r} (letters, digits, _ and - only)", file=sys.stderr)
        return EXIT_USAGE
    try:  # only a case that loads cleanly enters the corpus
        repro_template.load_case(args.path)
        repro_template.load_arrays(args.path)
    except repro_template.CaseError as exc:
        print(f"convcheck: promote: {exc}", file=sys.stderr)
        return EXIT_USAGE
    corpus = args.corpus or os.path.join(os.path.dirname(os.path.abspath(properties.__file__)), "regressions")
    target = os.path.join(corpus, args.name)
    if os.path.exists(target):
        print(f"convcheck: promote: {target} exists already", file=sys.stderr)
        return EXIT_USAGE
    os.makedirs(target)
    for name in ("case.json", "arrays.npz"):
        shutil.copyfile(os.path.join(args.path, name), os.path.join(target, name))
    shutil.rmtree(args.path)
    print(f"promoted to {target}")
    return EXIT_OK


def _outcome(returncode: int, report_path: str) -> int:
    if returncode == 0:
        return EXIT_OK
    if returncode in (4, 5):  # usage error / nothing selected
        return EXIT_USAGE
    if returncode != 1:
        return EXIT_INTERNAL
    try:
        with open(report_path, encoding="utf-8") as fh:
            report = json.load(fh)
        rows = report["rows"]
    except (OSError, ValueError, KeyError, TypeError):
        return EXIT_INTERNAL
    kinds = [k for r in rows for k in r["kinds"]]  # every kind each failed test found
    if any(k.startswith("internal error") for k in kinds):
        return EXIT_INTERNAL
    if report.get("findings") or report.get("verified") is False:  # a finding, or nothing verified (every check skipped)
        return EXIT_CHECK_FAILED
    return EXIT_INTERNAL


def verify(args: argparse.Namespace) -> int:
    if args.impl:  # loadable? (in a worker process: importing it must not be able to take this one down)
        try:
            impl = isolated(args.impl) if args.isolation == "process" else load(args.impl)
        except ImplementationError as exc:
            print(f"convcheck: {exc}", file=sys.stderr)
            return EXIT_USAGE
        if impl.worker is not None:
            impl.worker.stop()
    from . import properties

    tests = os.path.dirname(os.path.abspath(properties.__file__))
    with tempfile.TemporaryDirectory(prefix="convcheck-") as tmp:
        report = args.report_json or os.path.join(tmp, "report.json")
        # --assert=plain: the checks word their own failures (asserts.py); pytest would otherwise
        # rewrite every module of each installed pytest plugin's package (all of Hypothesis), again
        # in every run where bytecode is not written (PYTHONDONTWRITEBYTECODE): about 2 s per run
        command = [sys.executable, "-m", "pytest", tests, "-p", "convcheck.plugin", "--import-mode=importlib",
                   "-p", "no:cacheprovider", "--assert=plain", "-q", "--tb=short", f"--hypothesis-profile={args.profile}", f"--report-json={report}"]
        if args.impl:
            command.append(f"--impl={os.path.abspath(args.impl) if args.impl.endswith('.py') else args.impl}")
        if args.family:
            command.append(f"--family={args.family}")
        if args.api:
            command.append(f"--api={args.api}")
        command += [f"--check={pattern}" for pattern in args.check or ()]
        if args.workers not in ("0", ""):
            command += ["-n", args.workers]
        if args.repro_dir:
            command.append(f"--repro-dir={os.path.abspath(args.repro_dir)}")
        if args.exitfirst:
            command.append("-x")
        if args.strict:
            command.append("--strict-warnings")
        options = (("example_db", args.example_db), ("shard", args.shard), ("max_examples", args.max_examples), ("call_timeout", args.call_timeout), ("isolation", args.isolation))
        command += [f"--{name.replace('_', '-')}={value}" for name, value in options if value is not None]
        returncode = subprocess.call(command)
        return _outcome(returncode, report)


def main(argv=None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse: 2 for a wrong command line, 0 for --help
        return int(exc.code or 0)
    commands = {"verify": verify, "repro": replay, "promote": promote, "matrix": matrix.main, "findings-table": findings_table.main,
                "findings-keep": findings_table.keep,
                "oracles": oracles_campaign.run,
                "text-cnn-train": text_cnn_train.main}
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
