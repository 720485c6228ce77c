# SPDX-License-Identifier: MIT
"""What every test of both suites uses: the failure and skip types, the
check and poll helpers, reading a log file and the build's .config."""
import os
import re
import time


class Fail(Exception):
    """A test expectation did not hold (or something could not be set up)."""


class Skip(Exception):
    """A test that cannot run in this run (says why); not a pass, not a failure."""


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


def kconfig(build, name):
    """Value of CONFIG_<name> in BUILD/.config: an int if it is one (decimal
    or 0x hex), else the string without quotes ('y' for a bool that is on);
    None when unset or when there is no .config."""
    try:
        with open(os.path.join(build, '.config')) as f:
            text = f.read()
    except OSError:
        return None
    m = re.search(rf'^CONFIG_{re.escape(name)}=(.*)$', text, re.M)
    if not m:
        return None
    v = m.group(1).strip().strip('"')
    if re.fullmatch(r'0x[0-9a-fA-F]+', v):
        return int(v, 16)
    return int(v) if re.fullmatch(r'-?\d+', v) else v
