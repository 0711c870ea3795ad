"""Mutation testing of the reference implementations with mutmut.

mutmut names a mutant after its file's path (convcheck/reference/loops.py gives
convcheck.reference.loops.x_zero_pad__mutmut_1) and activates it only inside the module of
that name. Here the package convcheck.reference lives in reference/ (the package-dir mapping
of pyproject.toml), so this script first lays the tree out as it is installed, in
build/mutation/, and runs mutmut there. Its mutated copy, build/mutation/mutants/, is first
on sys.path, so the tests import the mutants instead of the editable install.

    python mutation/run.py                  # mutmut run --max-children 2 (earlier verdicts kept)
    python mutation/run.py --fresh          # forget earlier verdicts: a full run
    python mutation/run.py results          # any other mutmut command, e.g. show NAME

After a run it prints the score, killed / mutants, and fails below MIN_SCORE percent or when a
surviving mutant is not named in SURVIVORS.md. The
configuration is [tool.mutmut] in pyproject.toml; the Hypothesis profile "mutation".
SURVIVORS.md lists the mutants that survive, each with the reason it is equivalent.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGE = ROOT / "build" / "mutation"
# besides the packages: what pytest needs to run the selected tests from the staged root
TEST_FILES = ("pyproject.toml", "conftest.py", "tests")
DEFAULT_COMMAND = ("run", "--max-children", "2")
MIN_SCORE = 90.0
SURVIVORS = ROOT / "mutation" / "SURVIVORS.md"
PACKAGE = "convcheck.reference"
# mutmut forks one process per mutant, two at a time: each must use one BLAS / OpenMP thread
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def installed_layout() -> dict[str, Path]:
    """Staged path -> source folder, from pyproject's package-dir mapping."""
    with open(ROOT / "pyproject.toml", "rb") as fh:
        package_dir = tomllib.load(fh)["tool"]["setuptools"]["package-dir"]
    layout = {package.replace(".", "/"): ROOT / folder for package, folder in package_dir.items()}
    layout.update({name: ROOT / name for name in TEST_FILES})
    return layout


def stage() -> None:
    """Copy the tree into STAGE, keeping mutmut's own folder (its verdicts) and the files'
    modification times (mutmut regenerates the mutants of a file only when it changed)."""
    ignore = shutil.ignore_patterns("__pycache__", ".hypothesis")
    for staged, source in sorted(installed_layout().items()):  # parents before their subpackages
        target = STAGE / staged
        if target.is_dir():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=ignore, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target)


def score() -> int:
    """Print the verdicts of the last run and the score; 1 if it is below MIN_SCORE."""
    mutmut("export-cicd-stats")
    with open(STAGE / "mutants" / "mutmut-cicd-stats.json", encoding="utf-8") as fh:
        stats = json.load(fh)
    # a mutant that hangs is detected (mutmut stops it): a timeout counts as killed
    detected = stats["killed"] + stats["timeout"]
    percent = 100.0 * detected / stats["total"]
    print(", ".join(f"{key} {value}" for key, value in stats.items()))
    print(f"mutation score: {detected} of {stats['total']} mutants killed, {percent:.1f} % (at least {MIN_SCORE:g} % required)")
    missing = unexplained()
    for name in missing:
        print(f"survived, and not explained in {SURVIVORS.relative_to(ROOT)}: {name}")
    return 0 if percent >= MIN_SCORE and not missing else 1


def unexplained() -> list[str]:
    """The surviving mutants that SURVIVORS.md does not name (it names them without the package)."""
    listing = subprocess.run(mutmut_command("results"), cwd=STAGE, env=mutmut_env(), capture_output=True, text=True, check=True).stdout
    survivors = [line.split(":")[0].strip() for line in listing.splitlines() if line.strip().endswith(": survived")]
    explained = SURVIVORS.read_text(encoding="utf-8")
    return [name for name in survivors if f"`{name.removeprefix(PACKAGE + '.')}`" not in explained]


def mutmut_command(*command: str) -> list[str]:
    return [shutil.which("mutmut", path=os.path.dirname(sys.executable)) or "mutmut", *command]


def mutmut_env() -> dict[str, str]:
    return dict(os.environ, **{name: "1" for name in THREAD_VARIABLES})


def mutmut(*command: str) -> int:
    return subprocess.call(mutmut_command(*command), cwd=STAGE, env=mutmut_env())


def main(argv: list[str]) -> int:
    fresh = "--fresh" in argv
    command = [arg for arg in argv if arg != "--fresh"] or list(DEFAULT_COMMAND)
    if fresh:
        shutil.rmtree(STAGE / "mutants", ignore_errors=True)
    stage()
    status = mutmut(*command)
    if status or command[0] != "run":
        return status
    return score()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
