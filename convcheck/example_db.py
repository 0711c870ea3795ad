"""The shared example database behind --example-db: Redis, multiplexed with the local directory.

Hypothesis saves every failing example (and its shrunk form) to the database, and replays what
the database holds for a test before generating anything new. Writing to Redis as well as to
`.hypothesis/examples` lets every machine that points at the same Redis replay a failure that any
of them found; reading from both keeps the local failures too.
"""

from __future__ import annotations

from urllib.parse import urlparse

from hypothesis.configuration import storage_directory
from hypothesis.database import DirectoryBasedExampleDatabase, MultiplexedDatabase


def example_database(url: str) -> MultiplexedDatabase:
    """The local directory database and the Redis one at `url` (redis://HOST:PORT/N), which must
    answer now: a campaign that silently shares nothing would defeat its purpose."""
    if urlparse(url).scheme not in ("redis", "rediss", "unix"):
        raise ValueError(f"expected a URL redis://HOST:PORT/N, got {url!r}")
    try:
        import redis
        from hypothesis.extra.redis import RedisExampleDatabase
    except ImportError:
        raise ValueError(f"{url!r} needs the redis package: pip install 'convcheck[redis]'") from None
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise ValueError(f"cannot reach the Redis server at {url!r}: {exc}") from None
    local = storage_directory("examples")
    local = getattr(local, "path", local)  # a StorageDirectory in newer Hypothesis, a Path in older ones
    return MultiplexedDatabase(DirectoryBasedExampleDatabase(local), RedisExampleDatabase(client))
