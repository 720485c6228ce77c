#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Run the xs2sd integration tests.

  run.py BUILD [--peer-build DIR] [-k NAME] [--keep]

BUILD holds xs2sd and xs2sctl; its .config says the port. The same tests run
on both ports: on the lwIP port (the host simulation) the run re-executes
itself in a network namespace of its own, where every xs2sd runs lwIP over a
TAP device (test/lib/netsim.py). --peer-build names a build of the other port
for the tests that federate across ports (on the lwIP run: a POSIX build);
without it they are skipped. -k runs only tests whose name contains NAME
(repeatable). Prints PASS/FAIL per test (with the daemons' last log lines on
failure) and ends with 'N passed, N failed'. Exit status 1 if any failed.
Logs stay in a temp dir when something failed (or with --keep)."""
import argparse
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402  (puts test/ on sys.path for lib)
from lib import netsim, runner  # noqa: E402

ORDER = ['test_federation', 'test_tls', 'test_stream', 'test_dialback']
TEST_TIMEOUT_S = 90
TAIL = 40


def print_tails(t):
    for d in t.daemons:
        if d.proc is not None:
            runner.print_tail(f'{d.name} log', d.log_path, TAIL)
    runner.print_tail('raw peers', t.trace_path, TAIL)


def run_one(run, index, name, fn):
    t = harness.T(run, name, index)
    start = time.monotonic()
    try:
        result, why = runner.attempt(fn, t, limit=TEST_TIMEOUT_S, what='test', where='test_')
    except KeyboardInterrupt:
        t.cleanup()
        raise
    problems = [why] if result == runner.FAIL else []
    try:
        problems += t.cleanup()
    except Exception as e:  # noqa: BLE001
        problems.append(f'cleanup failed: {e!r}')
    took = time.monotonic() - start
    if problems:
        print(f'FAIL {name}: ' + '; '.join(problems) + f' ({took:.1f}s)')
        print_tails(t)
        return runner.FAIL
    if result == runner.SKIP:
        print(f'SKIP {name}: {why}')
        return runner.SKIP
    print(f'PASS {name} ({took:.1f}s)')
    return runner.PASS


def main():
    ap = argparse.ArgumentParser(description='xs2sd integration tests')
    ap.add_argument('build', help='build directory holding xs2sd and xs2sctl')
    ap.add_argument('-k', action='append', default=[], metavar='NAME',
                    help='run only tests whose name contains NAME')
    ap.add_argument('--keep', action='store_true', help='keep the logs even if all pass')
    ap.add_argument('--peer-build', metavar='DIR', help='a build of the other port (cross-port tests)')
    args = ap.parse_args()

    port = netsim.build_port(args.build)
    if port == 'lwip':
        netsim.reexec_in_netns()
    print(f'port: {port}' + (' (lwIP host simulation over TAP devices, own network namespace)'
                             if port == 'lwip' else ''))
    tests = [(n, f) for n, f in runner.discover(HERE, ORDER) if not args.k or any(k in n for k in args.k)]
    if not tests:
        print(f'no test matches {args.k}', file=sys.stderr)
        return 2
    rundir = tempfile.mkdtemp(prefix='xs2s-it-')
    run = harness.Run(args.build, rundir, args.peer_build)
    tally = runner.run_each(tests, lambda i, test: run_one(run, i, *test))
    return runner.finish(tally, rundir, args.keep)


if __name__ == '__main__':
    sys.exit(main())
