"""`convcheck oracles`: the oracle's defects found by machine.

    convcheck oracles                     # thorough profile, the whole space
    convcheck oracles --profile ci -n 2

torch's own operators (adapters/torch_functional.py: every call in the inputs' dtype, its max-pool
backward called everywhere) are verified, in a worker process of their own, against the second
routes of the op table -- JAX (where installed; it abstains where its semantics differ, as data)
and the loops reference (a flat NumPy reading of the contract) -- over torch's whole
hyperparameter space. An abort of torch's process counts as a disagreement like a wrong value.

Each disagreement class (op and output, with the routes that showed it) is printed once, with its
shrunk example and the hyperparameter features it uses, and matched against
properties.ops.ORACLE_DEFECTS (the known defects of torch, with the predicate that excuses torch
there) and the engines' declared conventions: KNOWN, or NEW. Exit status 0 when every class is
known, 1 when one is new, 2 on a bad command line, 3 when the run itself broke.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

SUBJECT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "adapters", "torch_functional.py")
ROUTES = ("jax", "loops reference")
CHECKS = tuple(f"test_{family}_matches_torch[*-{route}]" for family in ("forward", "backward") for route in ROUTES)
EXIT_KNOWN, EXIT_NEW, EXIT_USAGE, EXIT_BROKEN = 0, 1, 2, 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default="thorough", choices=("dev", "ci", "thorough"), help="Hypothesis profile (default: thorough)")
    parser.add_argument("-n", "--workers", default="0", help="xdist workers (default: 0, in process)")
    parser.add_argument("--check", action="append", metavar="PATTERN",
                        help=f"only these checks (default: every route of {', '.join(ROUTES)}); repeatable")
    parser.add_argument("--report-json", metavar="PATH", help="keep the verify run's JSON report at PATH")
    parser.add_argument("--repro-dir", metavar="DIR", help="where each disagreement's replayable case goes (default .convcheck/repros)")


def _sample(folder: str):
    """(function, the op table's Sample of a recorded case, the call's arguments, the answers of
    the route recorded with it by output) -- None for what cannot be read."""
    from . import repro_template as R
    from .properties import strategies as S
    from .properties.ops import Sample

    try:
        case, arrays = R.load_case(folder), R.load_arrays(folder)
        args = [R.decode(a, arrays) for a in case["args"]]
    except R.CaseError:
        return None, None, None, {}
    function = case["function"]
    answers = {name[len("want__"):]: value for name, value in arrays.items() if name.startswith("want__")}
    if function == "conv_forward":
        sample = Sample(S.ConvCase(*args[:4]))
    elif function == "conv_backward":
        sample = Sample(S.ConvCase(*args[1]), {"dZ": args[0]})
    elif function == "pool_forward":
        sample = Sample(S.PoolCase(args[0], args[1], args[2] if len(args) > 2 else "max"))
    elif function == "pool_backward":
        A_prev, hp = args[1]
        sample = Sample(S.PoolCase(A_prev, hp, args[2] if len(args) > 2 else "max"), {"dA": args[0]})
    else:
        sample = None
    return function, sample, args, answers


def features(function: str, sample) -> list:
    """The hyperparameter features a case uses, by the capability names (capabilities.FLAGS)."""
    from . import capabilities

    nothing = capabilities.Space(lacks=frozenset((op, f) for op in capabilities.OPS for f in capabilities.FLAGS[op]), pad_forms=("int",))
    case = sample.case
    arrays = [case.A_prev] + ([case.W] if function.startswith("conv") else [])
    used = nothing.outside(function, [a.dtype for a in arrays], case.hparameters, getattr(case, "mode", "max"))
    pad = case.hparameters.get("pad", 0)
    if function.startswith("conv") and not capabilities.is_all(pad, 0) and isinstance(pad, (int, tuple, list)):
        used.append("conv pad")
    return [f for f in used if f not in ("max_pool", "average_pool")] or ["none"]


def classify(function: str | None, sample, disagreement=None) -> str:
    """'KNOWN: <defect>' where an ORACLE_DEFECTS predicate covers the case; 'KNOWN (convention)'
    where the disagreeing route's recorded answer follows a convention its engine declares; else
    'NEW' (saying so where that answer follows a known convention its engine does not declare).
    disagreement: (route, output, the call's arguments, the route's answer for that output, the
    conventions its engine declares) or None."""
    from .properties import conventions
    from .properties.ops import OPS_BY_NAME, ORACLE_DEFECTS

    if sample is None:
        return "NEW (no replayable case to match against the known defects)"
    for defect in ORACLE_DEFECTS:
        op = OPS_BY_NAME[defect.route.rsplit("-", 1)[0]]
        if op.function == function and defect.applies(sample):
            return f"KNOWN: {defect.route}: {defect.reason} (minimal case: {defect.minimal_case})"
    if disagreement is None or disagreement[3] is None:
        return "NEW"
    route, output, args, answer, declared = disagreement
    name = conventions.followed(declared, function, output, args, answer)
    if name is not None:
        says, source = next((says, source) for n, says, source in declared if n == name)
        return f"KNOWN (convention): {route} follows {name}, which it declares: {says} ({source})"
    everything = tuple((n, "", "") for n in conventions.KNOWN)
    name = conventions.followed(everything, function, output, args, answer)
    if name is not None:
        return f"NEW ({route}'s answer follows the known convention {name}, which it does not declare)"
    return "NEW"


def _output(rule: str) -> str:
    """The output a finding's rule names: "pool_backward(mode='max'): dA_prev: NaN / inf propagation" -> dA_prev."""
    parts = rule.split(": ")
    return parts[1] if len(parts) > 1 else ""


def _routes(checks: list) -> list:
    return sorted({route for check in checks for route in ROUTES if check.endswith(f"-{route}]")})


def summarize(report: dict, engine_conventions=None) -> tuple[list[str], int]:
    """The printed classes and the number of new ones. engine_conventions: route -> the
    conventions its engine declares ((name, says, source), ...); the subject's own declared
    conventions are counted by the checks (report rows) and listed as known."""
    from .findings_table import shrunk_example

    engine_conventions = engine_conventions or {}
    lines, new = [], 0
    for i, finding in enumerate(report.get("findings", []), 1):
        function, sample, args, answers = _sample(finding["repro"]) if finding.get("repro") else (None, None, None, {})
        routes = _routes(finding["checks"])
        output = _output(finding["rule"])
        disagreement = None
        if len(routes) == 1 and finding["kind"] == "values":  # one route's answer to match against its engine's conventions
            disagreement = (routes[0], output, args, answers.get(output), engine_conventions.get(routes[0], ()))
        verdict = classify(function, sample, disagreement)
        new += verdict.startswith("NEW")
        lines += [
            f"{i}. [{finding['kind']}] {finding['rule']}: {finding['words']}",
            f"   routes: {', '.join(routes) or ', '.join(finding['checks'])}",
            f"   features: {', '.join(features(function, sample)) if sample is not None else 'unknown'}",
            f"   example: {shrunk_example(finding) or '(not recorded)'}",
            f"   replay: {finding.get('replay') or '(none)'}",
            f"   {verdict}",
        ]
    followed = {}
    for row in report.get("rows", []):
        for name, n in row.get("conventions", {}).items():
            followed[name] = followed.get(name, 0) + n
    for impl in report.get("implementations", []):
        for c in impl.get("conventions", []):
            lines.append(f"KNOWN (convention): {impl['name']} declares {c['convention']}: {c['says']} ({c['source']}); "
                         f"results that followed it: {followed.get(c['convention'], 0)}")
    return lines, new


def run(args: argparse.Namespace) -> int:
    if not os.path.isfile(SUBJECT):
        print(f"convcheck oracles: {SUBJECT} is not in this installation (a source checkout has it)", file=sys.stderr)
        return EXIT_USAGE
    with tempfile.TemporaryDirectory(prefix="convcheck-oracles-") as tmp:
        report_path = args.report_json or os.path.join(tmp, "report.json")
        command = [sys.executable, "-m", "convcheck.cli", "verify", SUBJECT, "--api", "full", f"--profile={args.profile}",
                   f"--workers={args.workers}", f"--report-json={report_path}"]
        command += [f"--check={pattern}" for pattern in args.check or CHECKS]
        if args.repro_dir:
            command.append(f"--repro-dir={args.repro_dir}")
        returncode = subprocess.call(command, env={**os.environ, "CONVCHECK_CAMPAIGN": "oracles"})
        if returncode not in (0, 1):
            print(f"convcheck oracles: the verify run failed (exit {returncode})", file=sys.stderr)
            return EXIT_USAGE if returncode == 2 else EXIT_BROKEN
        try:
            with open(report_path, encoding="utf-8") as fh:
                report = json.load(fh)
        except (OSError, ValueError) as exc:
            print(f"convcheck oracles: no readable report ({exc})", file=sys.stderr)
            return EXIT_BROKEN
    if report.get("verified") is False and not report.get("findings"):  # every check skipped: nothing was compared
        print("convcheck oracles: nothing was verified (every check skipped)", file=sys.stderr)
        return EXIT_BROKEN
    from .oracle.isolated import JAX
    from .properties import conventions
    from .properties.ops import engine_unavailable

    missing = engine_unavailable("jax")
    if missing:
        print(f"convcheck oracles: the JAX routes were skipped: {missing}")
    declared = {"jax": () if missing else conventions.parse(JAX.conventions()), "loops reference": ()}
    lines, new = summarize(report, declared)
    engines = ", ".join(" ".join(i.get("framework") or [i["name"]]) for i in report.get("implementations", []))
    print(f"\n==== convcheck oracles: {engines} against {' and '.join(ROUTES)} (profile {args.profile}) ====")
    print("\n".join(lines) if lines else "no disagreement")
    found = len(report.get("findings", []))
    print(f"{found} disagreement class(es): {found - new} known, {new} new")
    return EXIT_NEW if new else EXIT_KNOWN
