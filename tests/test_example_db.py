"""--example-db: a failure that one machine finds is replayed first by every other one.

Two runs share a real redis-server on loopback (started here). Each runs in its own empty
directory, so each has its own local directory database, as a fresh clone on another machine
would: what the second run replays can only have come through Redis.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MEMBER = REPO / "zoo" / "flipped_kernel.py"  # any member will do: one the forward check catches at once


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unavailable(reason: str) -> None:
    """CI must run this test for real; elsewhere a missing server or client only skips it."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (the CI gate provides it: see .ci/run)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    server = shutil.which("redis-server")
    if server is None:
        _unavailable("redis-server not installed")
    try:
        import redis
    except ImportError:
        _unavailable("the redis package is not installed (pip install 'convcheck[redis]')")
    port = _free_port()
    folder = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail(f"redis-server did not answer on {url}")
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(timeout=10)


def _verify_member(cwd: Path, database: str, profile: str) -> subprocess.CompletedProcess:
    cwd.mkdir()
    command = [
        sys.executable, "-m", "pytest", str(REPO / "properties" / "test_oracles.py"), f"--rootdir={REPO}",
        "-c", str(REPO / "pyproject.toml"), f"--impl={MEMBER}", "-k", "conv_forward and F.conv2d", "-p", "no:xdist",
        f"--hypothesis-profile={profile}", f"--example-db={database}", "--hypothesis-show-statistics",
        f"--repro-dir={cwd / 'repros'}",
    ]  # fmt: skip
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)


def test_failure_found_by_one_run_is_replayed_by_another_through_redis(redis_url, tmp_path):
    found = _verify_member(tmp_path / "a", f"{redis_url}/1", "ci")  # ci: derandomized, and still the database
    assert found.returncode == 1, found.stdout[-3000:] + found.stderr[-3000:]
    assert "during generate phase" in found.stdout

    # replay generates nothing: it can fail only on an example the database hands it
    replayed = _verify_member(tmp_path / "b", f"{redis_url}/1", "replay")
    assert replayed.returncode == 1, replayed.stdout[-3000:] + replayed.stderr[-3000:]
    reuse = replayed.stdout.split("during reuse phase", 1)
    # one saved example per distinct failure run A found (a values one, a NaN-routing one, ...)
    replayed_counts = re.search(r"(\d+) passing, (\d+) failing", reuse[1].split("phase", 1)[0]) if len(reuse) == 2 else None
    assert replayed_counts and int(replayed_counts.group(2)) >= 1, replayed.stdout[-3000:]

    # the control: the same replay from an empty shared database finds nothing
    control = _verify_member(tmp_path / "c", f"{redis_url}/2", "replay")
    assert control.returncode == 0, control.stdout[-3000:] + control.stderr[-3000:]


@pytest.mark.parametrize(
    ("url", "message"),
    [("http://127.0.0.1:1/0", "expected a URL redis://HOST:PORT/N"), ("redis://127.0.0.1:1/0", "cannot reach the Redis server")],
)
def test_example_db_refuses_what_it_cannot_use(url, message, tmp_path):
    pytest.importorskip("redis")
    command = [sys.executable, "-m", "pytest", str(REPO / "properties" / "test_regressions.py"), f"--rootdir={REPO}",
               "-c", str(REPO / "pyproject.toml"), f"--example-db={url}", "-p", "no:xdist"]  # fmt: skip
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 4 and message in result.stderr, result.stdout[-2000:] + result.stderr[-2000:]
