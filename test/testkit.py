# SPDX-License-Identifier: MIT
"""What the integration and interop suites share: the failure type, the
check and poll helpers, and the /proc/net/tcp states they look for."""
import time

TCP_LISTEN, TCP_TIME_WAIT = '0A', '06'


class Fail(Exception):
    """A test expectation did not hold (or something could not be set up)."""


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def poll(fn, timeout, interval=0.1):
    """Call fn until it returns something truthy or timeout passes; return the last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def read_text(path):
    """A log file's text, or '' when it cannot be read (not written yet)."""
    try:
        with open(path, errors='replace') as f:
            return f.read()
    except OSError:
        return ''
