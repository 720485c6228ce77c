# SPDX-License-Identifier: MIT
"""What the integration and interop suites share: the failure type, the
check and poll helpers, and the /proc/net/tcp states they look for."""
import json
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


class Xs2sctlViews:
    """What both suites ask xs2sd through xs2sctl. The class provides
    name and ctl(*args) (runs xs2sctl, returns its stdout, Fail on error)."""

    def ctl_json(self, *args):
        out = self.ctl(*args, '--json')
        try:
            return json.loads(out)
        except ValueError as e:
            raise Fail(f'{self.name}: xs2sctl {args[0]} --json printed invalid JSON ({e}): {out[:300]!r}')

    def status(self):
        return self.ctl_json('status')

    def links(self, **want):
        """Links of the status table whose fields equal every keyword given."""
        return [ln for ln in self.status().get('links', [])
                if all(ln.get(k) == v for k, v in want.items())]

    def send(self, frm, to, body):
        self.ctl('send', '--from', frm, '--to', to, '--body', body)


def read_text(path):
    """A log file's text, or '' when it cannot be read (not written yet)."""
    try:
        with open(path, errors='replace') as f:
            return f.read()
    except OSError:
        return ''
