"""zero_pad writes a malformed answer into every pipe its process holds open for writing (the
worker's answers among them): the suite cannot read it, so the call counts as a crash."""
import os
import stat
import struct

from convcheck.reference.loops import *  # noqa: F401,F403
from convcheck.reference.loops import zero_pad as _zero_pad

KIND = "crashed"


def zero_pad(X, pad):
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if fd > 2 and stat.S_ISFIFO(os.fstat(fd).st_mode):
                os.write(fd, struct.pack("<QQ", 5, 0) + b"{bad}")
        except OSError:  # the read end, or an fd closed since the listing
            pass
    return _zero_pad(X, pad)
