"""`convcheck findings-table REPORT.json ...`: the findings of verify runs as one Markdown table.

    convcheck verify adapters/jax_lax.py --api full --report-json jax.json
    convcheck findings-table jax.json mygrad.json ... > findings.md

One row per finding (kind and rule, worst first, as the run reported them): the framework and
its version (from the implementation's CAPABILITIES), the class of defect, the rule broken, the
minimal example as Hypothesis shrank it, what differed (the implementation's answer against
torch's), and the repro folder that replays it. Then one row per framework for what it declares
unsupported, with how many draws the checks replaced, and one per declared convention (CONVENTIONS)
with how many results followed it. A finding (framework, class, rule) that several of the reports
hold -- a ci run's and a campaign's shards' -- gets the row of the first report given. With --replay each finding's case is replayed (convcheck repro) and its row says
whether it reproduces (exit 1). Exit status 0, or 2 when a report cannot
be read or records an internal error of the suite -- a table of a broken run would be a forged one.
A relative repro path is read from the report's own folder.

    convcheck findings-keep REPORT.json DEST

keeps a run's findings: each finding's repro folder (case.json and arrays.npz, or example.txt for
a finding with no standalone case) is copied into DEST, and DEST/report.json is the report with
its repro paths pointing there (relative to DEST), so that DEST can be committed and tabled on
another machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys

# kind of finding -> class of defect
CLASSES = {
    "raised": "crash on valid input",
    "rejected valid": "rejects valid input",
    "accepted invalid": "accepts invalid input",
    "structure": "wrong shape",
    "shape": "wrong shape",
    "dtype": "wrong dtype",
    "values": "wrong value",
    "nondeterministic": "stale/uninitialized memory",
    "input modified": "modifies its input",
    "timeout": "hang on valid input",
    "crashed": "crash or abort on valid input",
    "warning": "warning",
    "convention": "convention",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("reports", nargs="+", help="--report-json files of convcheck verify runs")
    parser.add_argument("--replay", action="store_true",
                        help="replay each finding's case (convcheck repro, with this Python) and say in its row whether it reproduces (exit 1)")


def add_keep_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("report", help="--report-json file of a convcheck verify run")
    parser.add_argument("dest", help="folder to keep the findings in (created; its report.json is replaced)")


KEPT_FILES = (("case.json", "arrays.npz"), ("example.txt",))  # a standalone case, or the example only


def _read_report(path: str) -> dict | None:
    """The report at `path`, or None (and why, on stderr) when it cannot be read or records an
    internal error of the suite."""
    try:
        with open(path, encoding="utf-8") as fh:
            report = json.load(fh)
        report["rows"], report["findings"]  # noqa: B018 - a report of the current schema
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"convcheck: cannot read {path}: {exc}", file=sys.stderr)
        return None
    internal = [k for r in report["rows"] for k in r.get("kinds", []) if k.startswith("internal error")]
    if internal:
        print(f"convcheck: {path} records an internal error of the suite ({internal[0]}): not the findings of a run", file=sys.stderr)
        return None
    return report


def _repro_path(report_path: str, repro: str) -> str:
    return repro if not repro or os.path.isabs(repro) else os.path.join(os.path.dirname(os.path.abspath(report_path)), repro)


def keep(args: argparse.Namespace) -> int:
    report = _read_report(args.report)
    if report is None:
        return 2
    os.makedirs(args.dest, exist_ok=True)
    kept = {}
    for f in report["findings"]:
        source = _repro_path(args.report, f.get("repro") or "")
        if not source:
            continue
        files = next((names for names in KEPT_FILES if all(os.path.isfile(os.path.join(source, n)) for n in names)), None)
        if files is None:
            print(f"convcheck findings-keep: {source} holds neither a case nor an example: not kept", file=sys.stderr)
            return 2
        name = os.path.basename(os.path.normpath(source))
        target = os.path.join(args.dest, name)
        shutil.rmtree(target, ignore_errors=True)
        os.makedirs(target)
        for n in files:
            shutil.copyfile(os.path.join(source, n), os.path.join(target, n))
        kept[name] = f["repro"] = name
    for row in report["rows"]:  # a row's repros: its findings' folders (those of findings joined into others are not kept)
        row["repros"] = [kept[n] for n in (os.path.basename(os.path.normpath(p)) for p in row.get("repros", [])) if n in kept]
    with open(os.path.join(args.dest, "report.json"), "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=2)
    print(f"kept {len(kept)} findings in {args.dest}")
    return 0


def replays(folder: str) -> str:
    """What replaying a repro folder says (`convcheck repro`, the code its repro.py holds):
    'replays (exit 1)', or why not."""
    if not os.path.isdir(folder):
        return "no repro folder"
    if not os.path.isfile(os.path.join(folder, "case.json")):
        return "no standalone replay: the example only"
    try:
        code = subprocess.run([sys.executable, "-m", "convcheck.cli", "repro", os.path.abspath(folder)], capture_output=True,
                              timeout=600).returncode
    except subprocess.TimeoutExpired:
        return "replay timed out"
    return "replays (exit 1)" if code == 1 else f"DOES NOT REPLAY (exit {code})"


def shrunk_example(finding: dict) -> str:
    """The shrunk example's first drawn line (the case), without Hypothesis's prefix."""
    draws = [line.strip() for line in finding.get("example", "").splitlines() if line.strip().startswith("Draw")]
    text = re.sub(r"^Draw \d+ \([^)]*\): ", "", draws[0]) if draws else ""
    return text[:400] + ("..." if len(text) > 400 else "")


def _shown_path(path: str) -> str:
    """A repro folder as the table shows it: relative to here when it lies below, else its name."""
    relative = os.path.relpath(path) if path else ""
    return relative if relative and not relative.startswith("..") else os.path.basename(path)


def _differed(finding: dict) -> str:
    """What differed: the finding's words; for an exception on valid input, what it said."""
    words = finding.get("words", "")
    if finding.get("kind") in ("raised", "crashed", "timeout") and finding.get("message"):
        said = re.sub(r"^(\[[a-z ]+\] )+", "", finding["message"].splitlines()[0])  # the kind's prefix: the class column says it
        return said[:300] or words
    return words


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def rows(report: dict, path: str, replay: bool = False) -> list[tuple[tuple, str]]:
    """(key, Markdown row) per finding, declared convention and declared space of the report;
    the key says what the row is about (framework, class, rule), whichever run found it."""
    impls = {i["name"]: i for i in report.get("implementations", [])}
    out = []
    for f in report.get("findings", []):
        impl = impls.get(f.get("implementation"), {})
        framework = " ".join(impl.get("framework") or []) or f.get("implementation", "?")
        folder = _repro_path(path, f.get("repro") or "")
        repro = _shown_path(folder) or "-"
        if replay and folder:
            repro += f" ({replays(folder)})"
        out.append(((framework, f["kind"], f["rule"]), "| " + " | ".join(_cell(c) for c in (
            framework, CLASSES.get(f["kind"], f["kind"]), f["rule"], f"`{shrunk_example(f)}`" if shrunk_example(f) else "-",
            _differed(f), repro)) + " |"))
    counted: dict = {}
    followed: dict = {}
    for row in report.get("rows", []):
        for feature, n in row.get("unsupported", {}).items():
            counted[feature] = counted.get(feature, 0) + n
        for name, n in row.get("conventions", {}).items():
            followed[name] = followed.get(name, 0) + n
    for impl in impls.values():
        framework = " ".join(impl.get("framework") or [impl["name"]])
        for c in impl.get("conventions", []):
            out.append(((framework, "convention", c["convention"]),
                        f"| {_cell(framework)} | convention | {_cell(c['convention'])}: {_cell(c['says'])} ({_cell(c['source'])}) | - "
                        f"| results that followed it: {followed.get(c['convention'], 0)} | - |"))
        if impl.get("declared"):
            replaced = ", ".join(f"{k} ({v} draws)" for k, v in sorted(counted.items())) or "none drawn"
            out.append(((framework, "unsupported"), f"| {_cell(framework)} | unsupported | {_cell(impl['declared'].split(': ', 2)[-1])} | - | "
                       f"replaced in the checks: {_cell(replaced)} | - |"))
    return out


def main(args: argparse.Namespace) -> int:
    lines = ["| framework | class | rule broken | minimal example (as shrunk) | what differed | repro |", "|---|---|---|---|---|---|"]
    seen: set = set()
    for path in args.reports:
        report = _read_report(path)
        if report is None:
            return 2
        for key, line in rows(report, path, args.replay):
            if key not in seen:  # the same finding of several runs (ci, then a campaign's shards): the first run's row
                seen.add(key)
                lines.append(line)
    print("\n".join(lines))
    return 0
