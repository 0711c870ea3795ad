"""`convcheck matrix`'s table: one line per tox env, one cell per check family, from the envs'
JSON reports (running the envs themselves is tox's part)."""

from __future__ import annotations

from convcheck.matrix import family_outcomes, table
from convcheck.plugin import FAMILIES


def _row(family, passed=0, failed=0, skipped=0, kinds=()):
    return {"function": "conv_forward", "family": family, "passed": passed, "failed": failed, "skipped": skipped,
            "worst": 0.0, "kinds": list(kinds), "repros": []}


def _report(rows, numpy="2.4.6", findings=()):
    return {"versions": {"python": "3.11.7", "numpy": numpy, "hypothesis": "6.170.17", "torch": None}, "rows": rows, "exitstatus": 0,
            "findings": list(findings)}


def test_a_family_fails_when_any_of_its_checks_failed_and_passes_when_one_ran():
    report = _report([_row("forward", failed=1, kinds=["raised"]), _row("forward", passed=3), _row("forward", failed=2, kinds=["values"]),
                      _row("backward", passed=1, skipped=4), _row("gradient", skipped=2)])
    assert family_outcomes(report) == {"forward": "FAIL (raised, values)", "backward": "pass", "gradient": "skip",
                                       "metamorphic": "-", "contract": "-"}


def test_the_table_aligns_the_cells_under_their_family_and_says_why_a_report_is_missing():
    reports = {
        "py311-np126": _report([_row("forward", passed=1), _row("contract", passed=1)], numpy="1.26.4"),
        "py311-np24": _report([_row("forward", failed=1, kinds=["raised"]), _row("contract", passed=1)],
                              findings=[{"kind": "raised", "rule": "conv_forward: TypeError"}]),
        "py310-notorch": "no report: convcheck verify exited 3",
    }
    header, old, new, missing = table(reports).splitlines()
    assert header.split() == ["env", "python", "numpy", "torch", "hypothesis", *FAMILIES, "findings"]
    column = {name: header.index(name) for name in (*FAMILIES, "findings")}
    assert old[column["forward"]:].startswith("pass") and new[column["forward"]:].startswith("FAIL (raised)")
    assert old[column["contract"]:].startswith("pass") and new[column["contract"]:].startswith("pass")
    assert old[column["findings"]:] == "0" and new[column["findings"]:] == "1, worst [raised] conv_forward: TypeError"
    assert old[column["backward"]:].startswith("-") and "1.26.4" in old and " - " in old  # torch absent
    assert missing.split(None, 1) == ["py310-notorch", "no report: convcheck verify exited 3"]
