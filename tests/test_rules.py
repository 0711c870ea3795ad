"""The rule table (properties/rules.py) is complete and true to the README and the suite.

- The README's rule tables and open points are exactly what the tables render (regenerate with
  `python -m convcheck.properties.rules README.md`).
- Every check pattern of every rule names at least one collected property test.
- Every rule names at least one zoo member, every named member exists, and every member (but a
  composition defect, BREAKS = ()) proves some rule. tests/test_zoo.py checks that the check
  which catches each member is one of its rules' checks.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from convcheck.properties import rules

ROOT = Path(__file__).resolve().parent.parent
MEMBERS = {p.stem: p for p in (ROOT / "zoo").glob("*.py") if not p.name.startswith("_")}


def test_readme_rule_blocks_are_generated_from_the_tables():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = rules.readme_blocks(text)
    assert set(blocks) == set(rules.BLOCKS), f"README blocks {sorted(blocks)}, expected {sorted(rules.BLOCKS)}"
    assert rules.render_readme(text) == text, "README rule blocks are stale: run python -m convcheck.properties.rules README.md"


def _collected_test_ids() -> list[str]:
    out = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "properties"), "--collect-only", "-q", "--impl=convcheck.reference.fast",
         "-p", "no:randomly"], capture_output=True, text=True, cwd=ROOT,
    ).stdout
    return [rules.test_id(line, "fast") for line in out.splitlines() if "::" in line]


def test_every_check_names_collected_tests():
    ids = _collected_test_ids()
    assert len(ids) > 50, ids
    unmatched = sorted({c for r in rules.RULES for c in r.checks if not any(rules.matches(c, t) for t in ids)})
    assert not unmatched, f"check patterns that name no test: {unmatched}"


def test_every_rule_is_proven_by_existing_zoo_members():
    assert all(r.zoo for r in rules.RULES), [r.text for r in rules.RULES if not r.zoo]
    named = {z for r in rules.RULES for z in r.zoo}
    assert named <= set(MEMBERS), f"rules name members that do not exist: {sorted(named - set(MEMBERS))}"
    composition = {m for m, p in MEMBERS.items() if "BREAKS = ()" in p.read_text()}
    assert set(MEMBERS) - composition <= named, f"members that prove no rule: {sorted(set(MEMBERS) - composition - named)}"


def test_test_ids_drop_the_implementation():
    assert rules.test_id("properties/test_oracles.py::test_forward_matches_torch[fast-conv_forward-F.conv2d]", "fast") == \
        "test_forward_matches_torch[conv_forward-F.conv2d]"
    assert rules.test_id("properties/test_metamorphic.py::test_pooling_laws[loops]", "loops") == "test_pooling_laws"
