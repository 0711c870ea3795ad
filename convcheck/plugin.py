"""The pytest plugin: which implementation is checked, Hypothesis profiles, check families,
thread policy, and the summary table / JSON report at the end of a run."""

from __future__ import annotations

import os

# One BLAS / OpenMP thread per process, set before NumPy or torch start their pools: two xdist
# workers on two cores must not oversubscribe them.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import dataclasses  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import zlib  # noqa: E402
from collections import defaultdict  # noqa: E402

import hypothesis  # noqa: E402
import hypothesis.errors  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, Phase, settings  # noqa: E402

if sys.version_info < (3, 11):  # noqa: E402 - Hypothesis depends on the backport there
    from exceptiongroup import BaseExceptionGroup  # noqa: A004

from .implementations import DEFAULT_IMPLEMENTATIONS, ImplementationError, isolated, load  # noqa: E402

FAMILIES = ("forward", "backward", "gradient", "metamorphic", "contract")
# 3: "findings" (one per kind and rule, worst first); rows list every kind a test found
# 4: rows count "unsupported" draws by feature; implementations name their framework and declared space
REPORT_SCHEMA = 4
CI_EXAMPLES = 40
MUTATION_EXAMPLES = 15

# report_multiple_bugs: a found defect does not end a test's exploration; each distinct finding
# (CheckFailure's class per kind and rule) is shrunk on its own
_common = dict(
    deadline=None,
    report_multiple_bugs=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("dev", max_examples=15, **_common)
settings.register_profile(
    "ci", max_examples=CI_EXAMPLES, derandomize=True, database=None, print_blob=True, **_common
)
settings.register_profile(
    "thorough", max_examples=10 * CI_EXAMPLES, phases=list(Phase), print_blob=True, **_common
)
# Mutation testing runs the suite once per mutant: few examples, the same ones every run, and no
# shrinking (any failure kills the mutant; its minimal form is not needed). The explicit edge
# cases are the tables of tests/test_reference_*.py, in [tool.mutmut]'s test selection.
settings.register_profile(
    "mutation",
    max_examples=MUTATION_EXAMPLES,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    **{**_common, "report_multiple_bugs": False},
)
# Replays what the example database holds (every failure Hypothesis saved, here or, with
# --example-db, on any machine sharing it) and shrinks it; generates nothing new.
settings.register_profile("replay", phases=[Phase.explicit, Phase.reuse, Phase.shrink], print_blob=True, **_common)
settings.load_profile("dev")


def _explore_past_the_first_finding() -> None:
    """Where several findings are reported, a test goes on generating after its first finding
    until it has run its example budget (max_examples calls, failing ones included: Hypothesis
    counts only passing ones towards max_examples). Hypothesis itself stops soon after a finding
    (at twice the call count of the last new one, or 10 s after the first): too soon to find a
    defect of another region, and dependent on the machine's speed. Its stopping rule is internal
    (ConjectureRunner), so this applies where it is found as expected; elsewhere Hypothesis's own
    rule stays."""
    from hypothesis.internal.conjecture import engine

    runner = getattr(engine, "ConjectureRunner", None)
    original = getattr(runner, "should_generate_more", None)
    if original is None or getattr(original, "_convcheck", False):
        return

    @functools.wraps(original)
    def should_generate_more(self):
        found = getattr(self, "interesting_test_cases", None)
        if not found or not self.settings.report_multiple_bugs or Phase.shrink not in self.settings.phases:
            return original(self)
        self.interesting_test_cases = {}  # its budget limits alone: as if nothing was found yet
        try:
            return original(self) and self.call_count < self.settings.max_examples
        finally:
            self.interesting_test_cases = found

    should_generate_more._convcheck = True
    runner.should_generate_more = should_generate_more


_explore_past_the_first_finding()
# An implementation's worker grown past this resident size is replaced before the next test (a
# framework's caches: JAX's adapter reached 4.1 GB within 14 minutes of a thorough run, still
# growing, two xdist workers side by side): what it keeps must not exhaust the machine.
WORKER_RSS_LIMIT = 6 << 30
# A backstop per test (pytest-timeout, thread method: it ends the process with a stack dump);
# hanging implementation calls are cut off much sooner, per call, by --call-timeout.
TIMEOUTS = {"dev": 900, "ci": 900, "thorough": 7200, "mutation": 900, "replay": 900}


def pytest_addoption(parser):
    group = parser.getgroup("convcheck")
    group.addoption(
        "--impl",
        default=None,
        help="implementation to check: a dotted module name or a path to a .py file "
        "(default: both bundled references, loops and fast)",
    )
    group.addoption(
        "--family",
        default=None,
        help=f"comma-separated check families to run, of {', '.join(FAMILIES)} (default: all)",
    )
    group.addoption(
        "--api",
        choices=("tutorial", "full"),
        default=None,
        help="hyperparameter space: 'tutorial' (square f, one stride, one symmetric int pad, no optional keys) "
        "or 'full' (torch's whole conv/pool space); default: full for the bundled references, tutorial for --impl",
    )
    group.addoption(
        "--call-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="cut off any single call into the implementation after SECONDS (default 60; 0 = never)",
    )
    group.addoption(
        "--isolation",
        choices=("process", "none"),
        default="process",
        help="'process' (default): the implementation is imported and called only in a worker process of its own, "
        "so crashes, hangs and whatever it changes at import cannot reach the suite; 'none': in this process (for pdb, mutation testing)",
    )
    group.addoption(
        "--repro-dir",
        default=os.path.join(".convcheck", "repros"),
        metavar="DIR",
        help="write a replayable case (case.json, arrays.npz, repro.py) per failing test here (default .convcheck/repros)",
    )
    group.addoption("--report-json", default=None, metavar="PATH", help="write the summary as JSON to PATH")
    group.addoption(
        "--strict-warnings",
        action="store_true",
        help="a warning (DeprecationWarning included) raised from the implementation's own code during a call "
        "is a failed check of kind 'warning'; warnings from NumPy, torch or the suite are not",
    )
    group.addoption(
        "--example-db",
        default=None,
        metavar="URL",
        help="share failing examples through Redis (redis://HOST:PORT/N), multiplexed with the local "
        "directory database, in every profile (ci included): a failure any machine finds is replayed first by all",
    )
    group.addoption(
        "--check",
        action="append",
        default=None,
        metavar="PATTERN",
        help="run only the checks whose id without the implementation matches PATTERN ('*' the only wildcard, as in "
        "the rule table: e.g. 'test_contract_rejects[*-bool]'); repeatable; a pattern that matches no check is an error",
    )
    group.addoption(
        "--shard",
        default=None,
        metavar="K/N",
        help="run only shard K of N (1 <= K <= N): tests split by a hash of their id, the same on every machine",
    )
    group.addoption(
        "--max-examples",
        type=int,
        default=None,
        metavar="N",
        help="an example budget: each property test runs at most N examples, whatever the profile's own number "
        "(for frameworks whose every new shape compiles); the profile's other settings stay",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    _prefer_worksteal(config)
    config.addinivalue_line("markers", "family(name): the check family of a property test")
    config.addinivalue_line("markers", "regression: a replay of a promoted case (runs before fuzzing)")
    from convcheck.repro_template import NON_FINITE_WARNINGS, own_source

    # NaN/inf inputs are drawn on purpose: NumPy's warnings about them are expected there
    for message in NON_FINITE_WARNINGS:
        config.addinivalue_line("filterwarnings", f"ignore:{message}:RuntimeWarning")
    try:
        spec = config.getoption("--impl")
        api = config.getoption("--api") or ("tutorial" if spec else "full")
        strict = bool(config.getoption("--strict-warnings"))
        make = (lambda s: isolated(s, strict)) if config.getoption("--isolation") == "process" else load
        config._convcheck_impls = [dataclasses.replace(make(s), api=api) for s in ([spec] if spec else DEFAULT_IMPLEMENTATIONS)]
    except ImplementationError as exc:
        raise pytest.UsageError(str(exc)) from None
    families = config.getoption("--family")
    if families:
        chosen = [f.strip() for f in families.split(",") if f.strip()]
        unknown = sorted(set(chosen) - set(FAMILIES))
        if unknown:
            raise pytest.UsageError(f"--family: unknown famil{'ies' if len(unknown) > 1 else 'y'} {unknown}; choose from {FAMILIES}")
        config._convcheck_families = chosen
    else:
        config._convcheck_families = list(FAMILIES)
    profile = config.getoption("hypothesis_profile", None) or "dev"
    config._convcheck_profile = profile
    config._convcheck_shard = _parse_shard(config.getoption("--shard"))
    _use_example_database(config.getoption("--example-db"), profile)
    if config.getoption("maxfail", 0) == 1:  # -x: the first failure is all that is asked for
        _change_profile(profile, report_multiple_bugs=False)
    budget = config.getoption("--max-examples")
    if budget is not None:
        if budget < 1:
            raise pytest.UsageError(f"--max-examples must be at least 1, got {budget}")
        _change_profile(profile, max_examples=budget)
    config._convcheck_budget = budget
    _choose_seed(config, profile)
    if getattr(config.option, "timeout", None) is None and profile in TIMEOUTS:
        config.option.timeout = TIMEOUTS[profile]
        config.option.timeout_method = "thread"
    from convcheck.properties.asserts import CallLimit, StrictWarnings
    from convcheck.repro import Recorder

    CallLimit.seconds = config.getoption("--call-timeout")
    if config.getoption("--strict-warnings"):  # in-process implementations (a worker collects its own)
        StrictWarnings.sources = tuple({own_source(i.module) for i in config._convcheck_impls if i.worker is None})
    Recorder.inflight = _inflight_path(config, getattr(config, "workerinput", {}).get("workerid", "main"))
    config._convcheck_leaves = []
    config._convcheck_summary = defaultdict(
        lambda: {"passed": 0, "failed": 0, "skipped": 0, "worst": 0.0, "kinds": [], "repros": [], "failures": [], "unsupported": {}, "conventions": {}})
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


def pytest_unconfigure(config):
    for impl in getattr(config, "_convcheck_impls", []):
        if impl.worker is not None:
            impl.worker.stop()


def _prefer_worksteal(config) -> None:
    """With -n and no --dist: worksteal, not xdist's default (load). load hands tests out in chunks
    and never takes them back: on the gate, one worker sat idle for 293 of 428 s while the other
    worked through a queue of long tests (the bug-zoo runs). With worksteal an idle worker takes
    half of another's queue (benchmarks/bench_xdist.py measures both). xdist has turned "no" into
    "load" by now; the arguments as given tell whether the user chose it. The scheduler is made at
    session start, after this."""
    asked = getattr(config.known_args_namespace, "dist", "no")
    if getattr(config.option, "numprocesses", None) and asked == "no" and not getattr(config.option, "distload", False):
        config.option.dist = "worksteal"


def _parse_shard(value):
    """(K, N) of a "K/N" shard option, or None."""
    if value is None:
        return None
    k, _, n = value.partition("/")
    if not (k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
        raise pytest.UsageError(f"--shard must be K/N with 1 <= K <= N, got {value!r}")
    return int(k), int(n)


def _use_example_database(url, profile: str) -> None:
    """With --example-db, the profile (whatever its own database) reads and writes the shared one."""
    if url is None:
        return
    from .example_db import example_database

    try:
        database = example_database(url)
        settings.register_profile(profile, settings.get_profile(profile), database=database)
    except ValueError as exc:
        raise pytest.UsageError(f"--example-db: {exc}") from None
    except hypothesis.errors.InvalidArgument:  # an unknown profile: Hypothesis itself reports it
        return
    settings.load_profile(profile)


def _change_profile(profile: str, **changes) -> None:
    """The profile with some settings changed, e.g. under -x (report_multiple_bugs=False: a run
    that stops at the first failing test does not look for a test's other findings) or with
    --max-examples."""
    try:
        settings.register_profile(profile, settings.get_profile(profile), **changes)
    except hypothesis.errors.InvalidArgument:  # an unknown profile: Hypothesis itself reports it
        return
    settings.load_profile(profile)


def _choose_seed(config, profile: str) -> None:
    """Random profiles run from one seed per run, chosen here (by the xdist controller, handed to
    its workers) or given with --hypothesis-seed, and reported. It is applied to each test
    (pytest_collection_modifyitems), not as Hypothesis's global seed: a global seed turns the
    example database off, and with it the replay of earlier failures."""
    try:
        derandomized = settings.get_profile(profile).derandomize
    except hypothesis.errors.InvalidArgument:  # an unknown profile: Hypothesis itself reports it
        derandomized = False
    if derandomized:
        config._convcheck_seed = "derandomized"
        return
    worker = getattr(config, "workerinput", None)
    given = config.getoption("hypothesis_seed", None)
    config.option.hypothesis_seed = None
    config._convcheck_seed = str(worker["convcheck_seed"] if worker else (given or random.getrandbits(32)))


def _inflight_path(config, worker: str) -> str:
    folder = os.path.join(os.path.dirname(os.path.abspath(config.getoption("--repro-dir"))), "inflight")
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, f"{worker}.txt")


@pytest.hookimpl(optionalhook=True)
def pytest_handlecrashitem(crashitem, report, sched):  # xdist: a worker process died
    """Say which configuration the dead worker was running, from its in-flight file."""
    from convcheck.repro import Recorder

    path = _inflight_path(report.node.config, report.node.gateway.id)
    try:
        test, example = Recorder.read_inflight(path)
    except OSError:
        return
    if test == crashitem:
        report.longrepr = f"{report.longrepr}\nit was running this example (an oracle or the implementation crashed the process):\n{example}"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):  # xdist controller -> worker
    node.workerinput["convcheck_seed"] = node.config._convcheck_seed


def pytest_report_header(config):
    seed = getattr(config, "_convcheck_seed", None)
    if seed and seed != "derandomized":
        return f"convcheck: Hypothesis seed {seed} (repeat this run with --hypothesis-seed={seed})"
    return f"convcheck: Hypothesis profile {config._convcheck_profile}, derandomized"


def pytest_generate_tests(metafunc):
    if "impl" in metafunc.fixturenames:
        impls = metafunc.config._convcheck_impls
        metafunc.parametrize("impl", impls, ids=[i.name for i in impls], scope="session")


def _check_id(item) -> str:
    """The item's id as the rule table names checks: test name and parameters, the implementation left out."""
    from convcheck.properties import rules

    impl = item.callspec.params.get("impl") if hasattr(item, "callspec") else None
    return rules.test_id(item.nodeid, impl.name) if impl is not None else item.nodeid.split("::", 1)[-1]


def _family(item) -> str | None:
    marker = item.get_closest_marker("family")
    return marker.args[0] if marker else None


def _function(item) -> str:
    params = getattr(item, "callspec", None)
    for param in ("op", "spec", "entry", "function", "case"):
        value = params.params.get(param) if params else None
        function = value if isinstance(value, str) else getattr(value, "function", None)
        if isinstance(value, dict):  # a regression case
            function = value.get("function")
        if function:
            return function
    layer = params.params.get("layer") if params else None  # metamorphic laws: named by law and layer
    name = item.originalname.removeprefix("test_")
    return f"{name}[{layer}]" if layer else name


def pytest_collection_modifyitems(config, items):
    from convcheck.properties import rules

    families, shard, patterns = config._convcheck_families, config._convcheck_shard, config.getoption("--check")
    keep, drop, matched = [], [], set()
    for item in items:
        family = _family(item)
        chosen = family is None or family in families
        if shard is not None:
            chosen = chosen and zlib.crc32(item.nodeid.encode()) % shard[1] == shard[0] - 1
        if patterns:
            hits = {p for p in patterns if rules.matches(p, _check_id(item))}
            matched |= hits
            chosen = chosen and bool(hits)
        (keep if chosen else drop).append(item)
    unmatched = [p for p in patterns or () if p not in matched]
    if unmatched:
        raise pytest.UsageError(f"--check: no check matches {unmatched}")
    if drop:
        config.hook.pytest_deselected(items=drop)
    # cheapest, most telling families first: with -x a defect is found soonest
    keep.sort(key=_order)
    items[:] = keep
    for item in keep:
        _settle_deferred_per_example(getattr(item, "obj", None))
    if config._convcheck_seed != "derandomized":
        for item in keep:  # what @seed does: this run's examples, the database still on
            if hypothesis.is_hypothesis_test(getattr(item, "obj", None)):
                item.obj._hypothesis_internal_use_seed = _seed_value(config._convcheck_seed)


def _settle_deferred_per_example(test) -> None:
    """Each example of a property test starts with no deferred finding and ends by raising what
    it found: the failure that ended it and the deferred findings (a wrong dtype, whose values
    were compared all the same), each carrying what the example recorded, for its own repro.
    Hypothesis runs each example through `test.hypothesis.inner_test`, which is there to be
    wrapped."""
    handle = getattr(test, "hypothesis", None)
    inner = getattr(handle, "inner_test", None)
    if inner is None or getattr(inner, "_convcheck_settles", False):
        return
    from convcheck.properties.asserts import CallCrashed, CallHung
    from convcheck.properties.results import CheckFailure, Deferred
    from convcheck.repro import Recorder

    @functools.wraps(inner)
    def example(*args, **kwargs):
        Deferred.reset()
        Recorder.called = set()
        found = None
        try:
            outcome = inner(*args, **kwargs)
        except pytest.skip.Exception:  # skipped after a call (no torch to go on with): what it found still counts
            _raise_with_record(Deferred.settle)
            raise
        except (CallHung, CallCrashed) as exc:  # the test ends here: no group, no further examples
            exc._convcheck_record = Recorder.snapshot()
            raise
        except CheckFailure as exc:
            found = exc
        _raise_with_record(lambda: Deferred.settle(found))
        return outcome

    example._convcheck_settles = True
    handle.inner_test = example


def _raise_with_record(settle) -> None:
    from convcheck.repro import Recorder

    try:
        settle()
    except BaseException as exc:
        record = Recorder.snapshot()
        for leaf in (exc, *getattr(exc, "also", ())):
            leaf._convcheck_record = record
        raise


def _seed_value(seed: str):
    return int(seed) if seed.lstrip("-").isdigit() else seed


def _order(item) -> int:
    """Regression replays first, then families cheapest and most telling first (with -x a
    defect is found soonest); tests outside the families (the suite's own) before all."""
    if item.get_closest_marker("regression"):
        return -1
    family = _family(item)
    return FAMILIES.index(family) if family in FAMILIES else -2


def replace_if_large(impl) -> bool:
    """Before a test (never within an example): stop an implementation's worker grown past
    WORKER_RSS_LIMIT; its next call starts a new one."""
    worker = getattr(impl, "worker", None)
    if worker is None or worker.resident_bytes() <= WORKER_RSS_LIMIT:
        return False
    worker.stop()
    return True


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    from convcheck import capabilities
    from convcheck.properties.asserts import CrashLimit, Stats
    from convcheck.repro import Recorder

    impl = item.callspec.params.get("impl") if hasattr(item, "callspec") else None
    replace_if_large(impl)
    capabilities.activate(getattr(impl, "space", capabilities.FULL))
    CrashLimit.seen = 0
    Stats.reset()
    Recorder.clear()
    Recorder.test = item.nodeid
    Recorder.law = _function(item)
    try:
        yield
    finally:
        item.user_properties.append(("convcheck_worst", (Stats.worst_ratio, Stats.worst_what)))
        item.user_properties.append(("convcheck_unsupported", capabilities.counted()))
        item.user_properties.append(("convcheck_conventions", capabilities.conventions_followed()))
        capabilities.activate(capabilities.FULL)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    family = _family(item)
    if family is None:
        return
    report.user_properties.append(("convcheck_check", (_function(item), family)))
    if report.failed and call.excinfo is not None:
        leaves = _leaves(call.excinfo.value)
        kinds = [leaf.kind if _is_finding(leaf) else f"internal error ({type(leaf).__name__})" for leaf in leaves]
        report.user_properties.append(("convcheck_kinds", kinds))
        report.user_properties.append(("convcheck_failure", (item.nodeid, kinds[0])))
        found = [_finding_of(item, leaf) for leaf in leaves if _is_finding(leaf)]
        report.user_properties.append(("convcheck_findings", found))
        if found:
            lines = [f"[{f['kind']}] {f['words']}\n    replay: {f['replay']}" for f in found]
            report.sections.append(("convcheck repro", "\n".join(lines)))


def _is_finding(exc: BaseException) -> bool:
    from convcheck.properties.asserts import CallCrashed, CallHung, CheckFailure

    return isinstance(exc, (CheckFailure, CallHung, CallCrashed))


def _leaves(exc: BaseException) -> list:
    """The findings a failed test raised, one per distinct failure Hypothesis found and shrank
    (it raises several as an ExceptionGroup), each with the others its example found (`also`),
    most severe first; anything else is the suite's own error. A Flaky failure -- an example
    that failed, then passed when Hypothesis replayed it -- made of the implementation's
    failures is nondeterminism of the implementation."""
    from convcheck.properties.results import SEVERITY, CheckFailure
    from convcheck.repro import Recorder

    if isinstance(exc, hypothesis.errors.FlakyFailure):
        inner = [leaf for e in exc.exceptions for leaf in _leaves(e)]
        if inner and all(map(_is_finding, inner)):
            flaky = CheckFailure("nondeterministic", f"an example failed, then passed when replayed: {inner[0]}",
                                 rule=f"{Recorder.law}: flaky", words=f"{Recorder.law}: an example failed, then passed when replayed")
            flaky._convcheck_record = getattr(inner[0], "_convcheck_record", None)
            flaky.__notes__ = list(getattr(exc, "__notes__", []))
            return [flaky]
        return [exc]
    if isinstance(exc, BaseExceptionGroup):
        leaves = [leaf for e in exc.exceptions for leaf in _leaves(e)]
        for leaf in leaves:  # Hypothesis adds the failing example to each failure it reports, or to its group
            if not getattr(leaf, "__notes__", None):
                leaf.__notes__ = list(getattr(exc, "__notes__", []))
        return sorted(leaves, key=lambda e: SEVERITY.index(e.kind) if _is_finding(e) else -1)
    also = list(getattr(exc, "also", ())) if isinstance(exc, CheckFailure) else []
    for leaf in also:  # found in the same example: its notes, its record
        leaf.__notes__ = list(getattr(exc, "__notes__", []))
    return [exc, *also]


def _finding_of(item, leaf) -> dict:
    """One failure as data for the findings summary: its kind and rule, what shows it, its
    example (written as a candidate repro folder, if it can be replayed) and how to replay it."""
    from convcheck import repro

    impl = item.callspec.params.get("impl") if hasattr(item, "callspec") else None
    record = getattr(leaf, "_convcheck_record", None) or {}
    context = record.get("context") or {}
    function = context.get("function") or getattr(leaf, "function", None) or (_function(item) if item.get_closest_marker("regression") else None)
    rule = getattr(leaf, "rule", "") or _function(item)
    impl_name = impl.name if impl else ""
    key = [impl_name, leaf.kind, rule]
    notes = "\n".join(n for n in getattr(leaf, "__notes__", []) if not n.startswith("You can add @seed"))
    found = {
        "implementation": impl_name,
        "kind": leaf.kind,
        "rule": rule,
        "words": getattr(leaf, "words", "") or str(leaf).splitlines()[0].removeprefix(f"[{leaf.kind}] ")[:200],
        "function": function,
        "functions": sorted((set(record.get("called", ())) | {function}) - {None}),
        "test": item.nodeid,
        "family": _family(item),
        "primary": _family(item) in PRIMARY_FAMILIES and not item.get_closest_marker("regression"),
        "message": str(leaf)[:2000],
        "example": notes[:4000],
    }
    root = item.config.getoption("--repro-dir")
    final = os.path.join(root, finding_folder(key))
    if item.get_closest_marker("regression"):  # the promoted case, now recorded against this implementation
        built = repro.case_from_regression(item.callspec.params["folder"], impl.source, leaf, versions())
    else:
        built = repro.case_from_record(record or None, item.nodeid, impl.source if impl else "", impl.api if impl else "tutorial",
                                       leaf, versions(), seed=item.config._convcheck_seed)
    if built is not None:
        case, arrays = built
        size = sum(int(np.size(v)) for k, v in arrays.items() if not k.startswith("tol__"))
        text = json.dumps(case["args"], sort_keys=True, default=str)
        found["size"] = [0, size, len(text), text, item.nodeid]
        candidate = repro.folder_name(f"{item.nodeid}::{text}")
        found["candidate"] = repro.write_folder(os.path.join(root, CANDIDATES, finding_folder(key)), candidate, case, arrays)
        found["replay"] = f"python {_shown(final)}/repro.py"
    else:
        found["size"] = [1, 0, len(notes), notes, item.nodeid]
        found["candidate"] = None
        found["replay"] = _rerun_command(item)
    found["repro"] = final
    return found


PRIMARY_FAMILIES = ("forward", "backward", "contract")  # a law's or a gradient's finding joins theirs where it can
CANDIDATES = ".candidates"  # every failing example's folder, until the run keeps the smallest per finding


def finding_folder(key) -> str:
    """The folder of a finding (implementation, kind, rule): readable, and unique."""
    from convcheck.repro import folder_name

    return folder_name("-".join(str(k) for k in key))


def _rerun_command(item) -> str:
    path = item.path if hasattr(item, "path") else item.fspath
    options = [f"--hypothesis-profile={item.config._convcheck_profile}"]
    if item.config._convcheck_budget is not None:
        options.append(f"--max-examples={item.config._convcheck_budget}")
    spec = item.config.getoption("--impl")
    if spec:
        options.insert(0, f"--impl={spec}")
    if item.config.getoption("--api"):
        options.append(f"--api={item.config.getoption('--api')}")
    if item.config._convcheck_seed != "derandomized":
        options.append(f"--hypothesis-seed={item.config._convcheck_seed}")
    return f"python -m pytest '{path}::{item.nodeid.split('::', 1)[-1]}' -p convcheck.plugin {' '.join(options)}"


def _short(nodeid: str) -> str:
    return nodeid.split("::", 1)[-1]


def _shown(path: str) -> str:
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def pytest_runtest_logreport(report):
    props = dict(report.user_properties)
    if "convcheck_check" not in props or (report.when != "call" and not (report.skipped or report.failed)):
        return
    config = _CONFIG[0]
    row = config._convcheck_summary[tuple(props["convcheck_check"])]
    outcome = "passed" if report.passed else ("failed" if report.failed else "skipped")
    row[outcome] += 1
    if "convcheck_worst" in props:
        row["worst"] = max(row["worst"], props["convcheck_worst"][0])
    if "convcheck_kinds" in props:
        row["kinds"].extend(props["convcheck_kinds"])
    for feature, n in props.get("convcheck_unsupported", {}).items():  # draws replaced: outside the declared space
        row["unsupported"][feature] = row["unsupported"].get(feature, 0) + n
    for name, n in props.get("convcheck_conventions", {}).items():  # results that followed a declared convention
        row["conventions"][name] = row["conventions"].get(name, 0) + n
    for found in props.get("convcheck_findings", ()):
        row["repros"].append(found["repro"])
        config._convcheck_leaves.append(found)
    if "convcheck_failure" in props:
        row["failures"].append(props["convcheck_failure"][0])


_CONFIG: list = []


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session):
    _CONFIG[:] = [session.config]


def versions() -> dict:
    out = {"python": platform.python_version(), "numpy": np.__version__, "hypothesis": hypothesis.__version__}
    torch = sys.modules.get("torch")
    out["torch"] = torch.__version__ if torch else None
    return out


def summary_rows(config) -> list[dict]:
    return [
        {"function": fn, "family": fam, **counts}
        for (fn, fam), counts in sorted(config._convcheck_summary.items(), key=lambda kv: (kv[0][0], FAMILIES.index(kv[0][1])))
    ]


def _verified(config) -> bool | None:
    """Whether some check that calls the implementation passed; None if the run had none."""
    rows = summary_rows(config)
    return None if not rows else any(r["passed"] for r in rows)


def findings(config) -> list[dict]:
    """The run's findings: one per (implementation, kind, rule), worst first, each listing the
    functions and checks that show it, its smallest example and how to replay it.

    Two kinds of failure join another finding instead of making their own, where there is one to
    join: non-finite values routed wrongly in an output whose finite values are wrong too (the
    same defect, at a NaN); and a law's, a gradient check's or a regression case's failure of the
    same kind as an oracle or contract check's finding on a function it called (the same defect,
    seen from elsewhere). Alone, each is a finding of its own."""
    from convcheck.properties.asserts import non_finite_base
    from convcheck.properties.results import SEVERITY

    groups: dict = {}
    for leaf in config._convcheck_leaves:
        groups.setdefault((leaf["implementation"], leaf["kind"], leaf["rule"]), []).append(leaf)
    joined: dict = {}
    for key in [k for k in groups if non_finite_base(k[2]) is not None]:
        base = (*key[:2], non_finite_base(key[2]))
        if base in groups:
            joined.setdefault(base, []).extend(groups.pop(key))

    def order(item):
        (impl, kind, rule), leaves = item
        first = min(FAMILIES.index(leaf["family"]) for leaf in leaves)
        return (not any(leaf["primary"] for leaf in leaves), SEVERITY.index(kind), first, impl, rule)

    out: list[dict] = []
    for (impl, kind, rule), leaves in sorted(groups.items(), key=order):
        shown_by = leaves + joined.get((impl, kind, rule), [])
        functions = {f for leaf in shown_by for f in leaf["functions"]}
        primary = any(leaf["primary"] for leaf in leaves)
        # the most specific finding it can join: the fewest functions under test
        hosts = [f for f in out if f["primary"] and (f["implementation"], f["kind"]) == (impl, kind) and functions & set(f["tested"])]
        host = None if primary or not hosts else min(hosts, key=lambda f: len(f["tested"]))
        if host is not None:
            host["functions"] = sorted(set(host["functions"]) | functions)
            host["checks"] = sorted(set(host["checks"]) | {leaf["test"] for leaf in shown_by})
            continue
        kept = min(leaves, key=lambda leaf: leaf["size"])
        out.append({
            "tested": sorted({leaf["function"] for leaf in shown_by if leaf["function"]}),
            "implementation": impl, "kind": kind, "rule": rule, "words": kept["words"], "primary": primary,
            "functions": sorted(functions), "checks": sorted({leaf["test"] for leaf in shown_by}),
            "example": kept["example"], "message": kept["message"], "replay": kept["replay"], "repro": kept["repro"],
            "candidate": kept["candidate"],
        })
    return sorted(out, key=lambda f: (SEVERITY.index(f["kind"]), not f["primary"]))


def _keep_repro_folders(config, found: list[dict]) -> None:
    """One folder per finding, named after it, holding its smallest example (whichever xdist
    worker found it); the folders of the previous run's findings that are gone are removed."""
    import shutil

    root = config.getoption("--repro-dir")
    index = os.path.join(root, "findings.json")
    try:
        with open(index, encoding="utf-8") as fh:
            previous = set(json.load(fh))
    except (OSError, ValueError, TypeError):
        previous = set()
    kept = set()
    for finding in found:
        final = finding["repro"]
        shutil.rmtree(final, ignore_errors=True)
        if finding["candidate"] and os.path.isdir(finding["candidate"]):
            os.replace(finding["candidate"], final)
        else:  # a law's example: no standalone case, the example and the command that replays it
            os.makedirs(final, exist_ok=True)
            with open(os.path.join(final, "example.txt"), "w", encoding="utf-8") as fh:
                fh.write(f"[{finding['kind']}] {finding['words']}\n\n{finding['message']}\n\n{finding['example']}\n\nreplay: {finding['replay']}\n")
        kept.add(os.path.basename(final))
    for name in previous - kept:
        if name and os.sep not in name and name not in (".", ".."):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
    shutil.rmtree(os.path.join(root, CANDIDATES), ignore_errors=True)
    if found or previous:
        os.makedirs(root, exist_ok=True)
        with open(index, "w", encoding="utf-8") as fh:
            json.dump(sorted(kept), fh)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    """A run in which no check of the implementation passed (all skipped: missing functions, no
    torch, ...) verified nothing: it is not a pass (except under the replay profile, where a test
    with no saved example to replay is skipped)."""
    config = session.config
    if hasattr(config, "workerinput") or not hasattr(config, "_convcheck_summary"):
        return
    config._convcheck_findings = findings(config)
    _keep_repro_folders(config, config._convcheck_findings)
    # the replay profile generates nothing: a test with nothing saved to replay is skipped, and that is a pass
    if session.exitstatus == 0 and _verified(config) is False and config._convcheck_profile != "replay":
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        config._convcheck_nothing_verified = True


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if hasattr(config, "workerinput") or not hasattr(config, "_convcheck_summary"):
        return
    rows = summary_rows(config)
    if not rows:
        return
    tr = terminalreporter
    impls = ", ".join(i.name for i in config._convcheck_impls)
    found = getattr(config, "_convcheck_findings", [])
    if found:
        tr.section(f"convcheck findings: {len(found)}, worst first")
        for n, f in enumerate(found, 1):
            who = f" ({f['implementation']})" if len(config._convcheck_impls) > 1 else ""
            tr.write_line(f"{n}. [{f['kind']}] {f['words']}{who}", red=True, bold=True)
            tr.write_line(f"   rule: {f['rule']}; functions: {', '.join(f['functions'])}")
            tr.write_line(f"   shown by {len(f['checks'])} check(s): {', '.join(_short(c) for c in f['checks'][:4])}"
                          + (", ..." if len(f["checks"]) > 4 else ""))
            example = [line for line in f["example"].splitlines() if line.startswith("Draw")]
            for line in example[:2]:
                tr.write_line(f"   {line[:300]}")
            tr.write_line(f"   replay: {f['replay']}")
    budget = "" if config._convcheck_budget is None else f", at most {config._convcheck_budget} examples per test"
    tr.section(f"convcheck summary ({impls}; profile {config._convcheck_profile}{budget}, seed {config._convcheck_seed})")
    width = max(34, 2 + max(len(r["function"]) for r in rows))
    for impl in config._convcheck_impls:
        if impl.space.framework:
            tr.write_line(f"{impl.name}: {impl.space.describe()}")
    tr.write_line(f"{'function / law':<{width}}{'family':<13}{'passed':>7}{'failed':>7}{'skipped':>8}  {'worst/tol':>9}  "
                  f"{'unsupported':>11}  failure kinds")
    for r in rows:
        kinds = ", ".join(sorted(set(r["kinds"])))
        tr.write_line(f"{r['function']:<{width}}{r['family']:<13}{r['passed']:>7}{r['failed']:>7}{r['skipped']:>8}  "
                      f"{r['worst']:>9.3g}  {sum(r['unsupported'].values()):>11}  {kinds}")
    unsupported = defaultdict(int)
    for r in rows:
        for feature, n in r["unsupported"].items():
            unsupported[feature] += n
    followed = defaultdict(int)
    for r in rows:
        for name, n in r["conventions"].items():
            followed[name] += n
    for impl in config._convcheck_impls:
        for name, says, source in impl.conventions:
            tr.write_line(f"{impl.name} declares convention {name}: {says} ({source}); results that followed it: {followed.get(name, 0)}")
    from convcheck.properties.conventions import OPEN

    for name, says, source in OPEN:  # either answer passes, undeclared: say how often the other one was given
        if followed.get(name):
            tr.write_line(f"open point {name}: {says} (as {source}); results that followed it: {followed[name]}")
    if unsupported:  # what the checks would have drawn but the implementation declares it lacks: not verified
        tr.write_line("unsupported (drawn outside the declared space, replaced; not verified): "
                      + ", ".join(f"{feature} {n}" for feature, n in sorted(unsupported.items())))
    if getattr(config, "_convcheck_nothing_verified", False):
        tr.write_line("NOTHING VERIFIED: no check that calls the implementation passed (every one skipped); this run is not a pass", red=True)
    path = config.getoption("--report-json")
    if path:
        report = {
            "schema": REPORT_SCHEMA,
            "verified": _verified(config),
            "implementations": [{"name": i.name, "source": i.source, "framework": list(i.space.framework),
                                 "declared": i.space.describe() if i.space.framework else None,
                                 "conventions": [{"convention": n, "says": says, "source": source} for n, says, source in i.conventions]}
                                for i in config._convcheck_impls],
            "families": config._convcheck_families,
            "profile": {"name": config._convcheck_profile, "seed": config._convcheck_seed,
                        "max_examples": settings.get_profile(config._convcheck_profile).max_examples},
            "versions": versions(),
            "exitstatus": int(pytest.ExitCode.TESTS_FAILED) if getattr(config, "_convcheck_nothing_verified", False) else int(exitstatus),
            "findings": [{k: v for k, v in f.items() if k not in ("candidate", "tested")} for f in found],
            "rows": rows,
        }
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=2)
