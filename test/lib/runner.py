# SPDX-License-Identifier: MIT
"""The run loop of both runners: finding the tests, running each within a
time limit, turning what it raised into a reason, the log tails shown under
a FAIL line, the closing 'N passed, N failed[, N skipped]' line and the run
directory (kept when something failed). Each runner prints its own
PASS/FAIL/SKIP lines with these pieces."""
import importlib
import os
import re
import shutil
import signal
import sys
import traceback

from .testkit import Fail, Skip

PASS, FAIL, SKIP = 'pass', 'fail', 'skip'


def discover(directory, order=()):
    """[(name, function)] of the test_* functions of the test_*.py modules
    in directory (which must be on sys.path): the modules named in order
    first, in that order, then the others by name; functions in file order."""
    mods = [f[:-3] for f in os.listdir(directory) if f.startswith('test_') and f.endswith('.py')]
    mods.sort(key=lambda m: (order.index(m) if m in order else len(order), m))
    tests = []
    for m in mods:
        mod = importlib.import_module(m)
        for name, fn in vars(mod).items():
            if name.startswith('test_') and callable(fn) and getattr(fn, '__module__', '') == m:
                tests.append((name, fn))
    return tests


class time_limit:
    """`with time_limit(seconds, 'test'):` raises Fail('test did not finish
    within N s') in the body once seconds have passed (SIGALRM; main thread)."""

    def __init__(self, seconds, what):
        self.seconds, self.what = seconds, what

    def _expired(self, signum, frame):
        raise Fail(f'{self.what} did not finish within {self.seconds} s')

    def __enter__(self):
        signal.signal(signal.SIGALRM, self._expired)
        signal.alarm(self.seconds)
        return self

    def __exit__(self, *exc):
        signal.alarm(0)
        return False


def reason_of(e, where=None):
    """Why a test failed: a Fail's message; anything else as 'Type: message
    (at FILE:LINE)', the innermost frame, or the innermost one in a file
    whose name starts with `where` (none: no 'at')."""
    if isinstance(e, Fail):
        return str(e)
    frames = [f for f in traceback.extract_tb(e.__traceback__)
              if where is None or os.path.basename(f.filename).startswith(where)]
    at = f' (at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno})' if frames else ''
    return f'{type(e).__name__}: {e}{at}'


def attempt(fn, *args, limit, what='test', where=None):
    """Run fn(*args) within limit seconds: (PASS, None), (SKIP, why) when it
    raised Skip, (FAIL, reason_of(...)) for anything else it raised (a
    time-out included). Ctrl-C is not caught."""
    try:
        with time_limit(limit, what):
            fn(*args)
    except KeyboardInterrupt:
        raise
    except Skip as e:
        return SKIP, str(e)
    except BaseException as e:  # noqa: BLE001 - anything a test raises fails it
        return FAIL, reason_of(e, where)
    return PASS, None


def print_tail(label, path, n, skip=None, width=None):
    """Under a FAIL line: '  --- LABEL, last K lines (PATH)', then the last
    n lines of the file (without those matching regex skip, each cut to
    width characters), each as '  | LINE'. Nothing when it cannot be read."""
    try:
        with open(path, errors='replace') as f:
            lines = [ln for ln in f.read().splitlines() if not (skip and re.search(skip, ln))][-n:]
    except OSError:
        return
    print(f'  --- {label}, last {len(lines)} lines ({path})')
    for ln in lines:
        print('  | ' + (ln[:width] if width else ln))


class Tally:
    """How many tests passed, failed, were skipped."""

    def __init__(self):
        self.passed = self.failed = self.skipped = 0

    def add(self, result):
        self.passed += result == PASS
        self.failed += result == FAIL
        self.skipped += result == SKIP

    def line(self):
        return f'{self.passed} passed, {self.failed} failed' + (f', {self.skipped} skipped' if self.skipped else '')


def run_each(items, run_one):
    """run_one(index, item) for each item (index from 1), each returning
    PASS, FAIL or SKIP (and printing its own line). Ctrl-C ends the loop:
    'interrupted', counted as a failure. Returns the Tally."""
    tally = Tally()
    try:
        for i, item in enumerate(items, 1):
            tally.add(run_one(i, item))
            sys.stdout.flush()
    except KeyboardInterrupt:
        print('interrupted')
        tally.failed += 1
    return tally


def finish(tally, rundir, keep):
    """The end of a run: 'logs kept in RUNDIR' when something failed (or
    keep), else the directory goes; then the tally line. Returns the exit
    status (1 when something failed)."""
    if tally.failed or keep:
        print(f'logs kept in {rundir}')
    else:
        shutil.rmtree(rundir, ignore_errors=True)
    print(tally.line())
    return 1 if tally.failed else 0
