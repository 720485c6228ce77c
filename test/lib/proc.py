# SPDX-License-Identifier: MIT
"""A child process of a test: its output in a log file, a session of its
own, stopped by PID (never by name)."""
import re
import signal
import subprocess
import time

from .testkit import check, poll, read_text


# Exit statuses of a clean stop: 0, or killed by the SIGTERM it was sent.
CLEAN_EXIT = (0, -signal.SIGTERM)


class Proc:
    """One child process with stdout and stderr in log_path (appended to:
    a process started again keeps its earlier output). The log starts with
    '# ARGV' (every string of `hide` replaced by '<secret>').

    Stopped by PID: terminate() sends SIGTERM, reap() waits until a deadline
    and then sends SIGKILL; stop() is both. Split so that a caller can
    SIGTERM several processes first and then reap them against one deadline.
    The problems found (exited on its own, unclean exit, killed) are returned
    as a list of strings, each starting with the name."""

    def __init__(self, name, argv, log_path, hide=(), **popen_kw):
        self.name, self.argv, self.log_path, self.popen_kw = name, list(argv), log_path, popen_kw
        self.hide = [h for h in hide if h]
        self.proc = None
        # 'reported' once start-up failure was reported (stop then stays quiet about it)
        self.exit_problem = None
        self.died = None            # set by terminate(): had it exited on its own?
        self.stopped = False        # stopped by the test itself (stop_now)
        self._term_at = None

    def start(self):
        header = ' '.join(self.argv)
        for h in self.hide:
            header = header.replace(h, '<secret>')
        with open(self.log_path, 'a') as log:
            log.write('# ' + header + '\n')
            log.flush()
            self.died = self._term_at = None
            self.stopped = False
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         **self.popen_kw)
        return self

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def terminate(self):
        """SIGTERM (first half of stop), unless it already exited."""
        if self.proc is None or self.stopped:
            return
        self._term_at = time.monotonic()
        self.died = self.proc.poll() is not None
        if not self.died:
            self.proc.send_signal(signal.SIGTERM)

    def reap(self, deadline, ok_status=CLEAN_EXIT):
        """Wait for it until deadline (monotonic), then SIGKILL. Returns a list of problems."""
        problems = []
        if self.proc is None:
            return problems
        if self.died is None:
            self.terminate()
        if self.died:
            if self.exit_problem != 'reported':     # start() already said why
                problems.append(f'{self.name}: exited on its own during the test '
                                f'(status {self.proc.returncode})')
            return problems
        try:
            rc = self.proc.wait(max(0.0, deadline - time.monotonic()))
            if rc not in ok_status:
                problems.append(f'{self.name}: exit status {rc} after SIGTERM')
        except subprocess.TimeoutExpired:
            problems.append(f'{self.name}: still running {deadline - self._term_at:.0f} s after '
                            f'SIGTERM, killed')
            self.proc.kill()
            self.proc.wait(5)
        return problems

    def stop_now(self, timeout=5):
        """SIGTERM now and wait for the exit, as `systemctl stop` does;
        returns the exit status (Fail if still running after timeout).
        reap() then checks the status as usual."""
        check(self.alive(), f'{self.name}: not running before SIGTERM (status {self.proc.poll()})')
        self._term_at = time.monotonic()
        self.died, self.stopped = False, True
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Fail(f'{self.name}: still running {timeout} s after SIGTERM')

    def signal(self, sig):
        """Send sig (e.g. signal.SIGHUP) to the running process."""
        check(self.alive(), f'{self.name}: not running (status {self.proc.poll()})')
        self.proc.send_signal(sig)

    def stop(self, grace=5, ok_status=CLEAN_EXIT):
        """SIGTERM, wait up to grace seconds, then SIGKILL. Returns a list of problems."""
        self.terminate()
        return self.reap(time.monotonic() + grace, ok_status)

    # ---- its log ----

    def log_text(self):
        return read_text(self.log_path)

    def log_tail(self, n=40):
        return self.log_text().splitlines()[-n:]

    def find_log(self, regex, flags=re.I):
        """Its log lines matching regex (case-insensitive unless flags say
        otherwise), without the '# ARGV' lines."""
        r = re.compile(regex, flags)
        return [ln for ln in self.log_text().splitlines()
                if r.search(ln) and not ln.startswith('# ')]

    def wait_log(self, regex, timeout=5, what=None):
        """The log lines matching regex, once there is one (Fail after timeout)."""
        lines = poll(lambda: self.find_log(regex), timeout, 0.1)
        check(lines, f'{self.name}: no log line matching /{regex}/ within {timeout}s'
              + (f' ({what})' if what else ''))
        return lines
