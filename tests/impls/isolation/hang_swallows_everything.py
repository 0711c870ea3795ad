"""zero_pad spins forever in a loop that catches every exception, BaseException included (an alarm-based timeout cannot end it)."""
import time

from convcheck.reference.loops import *  # noqa: F401,F403

KIND = "timeout"


def zero_pad(X, pad):
    while True:
        try:
            time.sleep(0.05)
        except BaseException:  # noqa: BLE001 - on purpose
            pass
