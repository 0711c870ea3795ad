"""`convcheck matrix [IMPL]`: run one implementation in several tox envs of this checkout and
print env x check family -> pass / FAIL / skip, from the `--report-json` file of each run.

The envs are made or brought up to date first (one `tox run --notest`); then each runs
`convcheck verify IMPL --report-json ...` through `tox exec`, a few at a time. The strict env sets
--strict-warnings for every pytest run in it, so its column reads "warnings are findings".
Needs tox (not a dependency of convcheck: install it beside, e.g. in its own venv).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib.util
import json
import os
import subprocess
import sys

from .plugin import FAMILIES

# envs of tox.ini that do not run the suite
NOT_SUITES = ("lint", "type")
VERSIONS = ("python", "numpy", "torch", "hypothesis")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("impl", nargs="?", help="dotted module or path to a .py file (default: the bundled references)")
    parser.add_argument("--envs", help="comma-separated tox envs (default: every env of tox.ini that runs the suite)")
    parser.add_argument("--profile", default="ci", choices=("dev", "ci", "thorough"), help="Hypothesis profile (default: ci)")
    parser.add_argument("--api", choices=("tutorial", "full"), help="hyperparameter space, as for verify")
    parser.add_argument("--family", help=f"comma-separated check families of {', '.join(FAMILIES)} (default: all)")
    parser.add_argument("--out", default=os.path.join(".convcheck", "matrix"), metavar="DIR",
                        help="where each env's report (ENV.json) and failing cases go (default .convcheck/matrix)")
    parser.add_argument("--jobs", type=_positive, default=2, help="envs run at once (default 2)")
    parser.add_argument("--tox", help="the tox command (default: python -m tox with this Python if it has tox, else tox on PATH)")


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return int(text)


def family_outcomes(report: dict) -> dict:
    """family -> "pass", "FAIL (kinds)", "skip" or "-" (nothing of it ran) for one report."""
    outcomes = {}
    for family in FAMILIES:
        rows = [r for r in report["rows"] if r["family"] == family]
        kinds = sorted({k for r in rows for k in r["kinds"]})
        if any(r["failed"] for r in rows):
            outcomes[family] = f"FAIL ({', '.join(kinds)})" if kinds else "FAIL"
        elif any(r["passed"] for r in rows):
            outcomes[family] = "pass"
        else:
            outcomes[family] = "skip" if any(r["skipped"] for r in rows) else "-"
    return outcomes


def findings_cell(report: dict) -> str:
    """How many findings the run had, and the worst one's kind and rule."""
    found = report.get("findings")
    if found is None:
        return "-"
    return f"{len(found)}, worst [{found[0]['kind']}] {found[0]['rule']}" if found else "0"


def table(reports: dict) -> str:
    """The matrix as text: one line per env (its versions, then one cell per family); an env
    whose run wrote no report says why instead."""
    header = ["env", *VERSIONS, *FAMILIES, "findings"]
    lines = []
    for env, report in reports.items():
        if isinstance(report, str):  # no report: the reason
            lines.append([env, report])
            continue
        versions = report["versions"]
        outcomes = family_outcomes(report)
        lines.append([env, *(str(versions.get(v) or "-") for v in VERSIONS), *(outcomes[f] for f in FAMILIES), findings_cell(report)])
    full = [row for row in [header, *lines] if len(row) == len(header)]
    widths = [max(len(row[i]) for row in full) for i in range(len(header))]
    return "\n".join("  ".join(f"{cell:<{w}}" for cell, w in zip(row, widths)).rstrip() for row in [header, *lines])


def _tox_command(explicit: str | None) -> list:
    if explicit:
        return explicit.split()
    return [sys.executable, "-m", "tox"] if importlib.util.find_spec("tox") else ["tox"]


def _suite_envs(tox: list) -> list:
    listed = subprocess.run([*tox, "-l"], capture_output=True, text=True, check=True).stdout.split()
    return [e for e in listed if e not in NOT_SUITES]


def _verify_in(env: str, tox: list, args: argparse.Namespace, out: str) -> str | dict:
    report_path = os.path.join(out, f"{env}.json")
    if os.path.exists(report_path):
        os.remove(report_path)
    command = [*tox, "exec", "-e", env, "--skip-pkg-install", "-qq", "--", "convcheck", "verify",
               f"--profile={args.profile}", f"--report-json={report_path}", f"--repro-dir={os.path.join(out, env + '-repros')}"]
    if args.impl:
        command.append(os.path.abspath(args.impl) if args.impl.endswith(".py") else args.impl)
    command += [f"--api={args.api}"] * bool(args.api) + [f"--family={args.family}"] * bool(args.family)
    result = subprocess.run(command, capture_output=True, text=True)
    with open(os.path.join(out, f"{env}.log"), "w", encoding="utf-8") as fh:
        fh.write(result.stdout + result.stderr)
    if not os.path.exists(report_path):
        return f"no report: convcheck verify exited {result.returncode} (see {os.path.join(out, env + '.log')})"
    with open(report_path, encoding="utf-8") as fh:
        return json.load(fh)


def main(args: argparse.Namespace) -> int:
    tox = _tox_command(args.tox)
    envs = [e.strip() for e in args.envs.split(",") if e.strip()] if args.envs else _suite_envs(tox)
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    prepared = subprocess.run([*tox, "run-parallel", "-p", str(args.jobs), "--notest", "-e", ",".join(envs)], capture_output=True, text=True)
    if prepared.returncode:
        print(prepared.stdout[-3000:] + prepared.stderr[-2000:], file=sys.stderr)
        print("convcheck matrix: preparing the tox envs failed", file=sys.stderr)
        return 2
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        reports = dict(zip(envs, pool.map(lambda env: _verify_in(env, tox, args, out), envs)))
    print(f"convcheck matrix: {args.impl or 'the bundled references'} (profile {args.profile}; reports in {out})")
    print(table(reports))
    return 0 if all(isinstance(r, dict) and r["exitstatus"] == 0 for r in reports.values()) else 1
