#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Run the xs2sd integration tests.

  run.py BUILD [--peer-build DIR] [-k NAME] [--keep]

BUILD holds xs2sd and xs2sctl; its .config says the port. The same tests run
on both ports: on the lwIP port (the host simulation) the run re-executes
itself in a network namespace of its own, where every xs2sd runs lwIP over a
TAP device (test/netsim.py). --peer-build names a build of the other port
for the tests that federate across ports (on the lwIP run: a POSIX build);
without it they are skipped. -k runs only tests whose name contains NAME
(repeatable). Prints PASS/FAIL per test (with the daemons' last log lines on
failure) and ends with 'N passed, N failed'. Exit status 1 if any failed.
Logs stay in a temp dir when something failed (or with --keep)."""
import argparse
import importlib
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402

ORDER = ['test_federation', 'test_tls', 'test_stream', 'test_dialback']
TEST_TIMEOUT_S = 90
TAIL = 40


def discover():
    mods = [f[:-3] for f in os.listdir(HERE) if f.startswith('test_') and f.endswith('.py')]
    mods.sort(key=lambda m: (ORDER.index(m) if m in ORDER else len(ORDER), m))
    tests = []
    for m in mods:
        mod = importlib.import_module(m)
        for name, fn in vars(mod).items():
            if name.startswith('test_') and callable(fn) and getattr(fn, '__module__', '') == m:
                tests.append((name, fn))
    return tests


def _timeout(signum, frame):
    raise harness.Fail(f'test did not finish within {TEST_TIMEOUT_S} s')


def reason_of(e):
    if isinstance(e, harness.Fail):
        return str(e)
    tb = traceback.extract_tb(e.__traceback__)
    where = next((f'{os.path.basename(f.filename)}:{f.lineno}' for f in reversed(tb)
                  if os.path.basename(f.filename).startswith('test_')), None)
    return f'{type(e).__name__}: {e}' + (f' (at {where})' if where else '')


def print_tails(t):
    for d in t.daemons:
        if d.proc is None:
            continue
        lines = d.log_tail(TAIL)
        print(f'  --- {d.name} log, last {len(lines)} lines ({d.log_path})')
        for ln in lines:
            print('  | ' + ln)
    lines = t.trace_tail(TAIL)
    if lines:
        print(f'  --- raw peers, last {len(lines)} lines ({t.trace_path})')
        for ln in lines:
            print('  | ' + ln)


def run_one(run, index, name, fn):
    t = harness.T(run, name, index)
    start = time.monotonic()
    problems = []
    skipped = None
    signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(TEST_TIMEOUT_S)
    try:
        fn(t)
    except KeyboardInterrupt:
        signal.alarm(0)
        t.cleanup()
        raise
    except harness.Skip as e:
        skipped = str(e)
    except BaseException as e:  # noqa: BLE001 - any exception fails the test
        problems.append(reason_of(e))
    finally:
        signal.alarm(0)
    try:
        problems += t.cleanup()
    except Exception as e:  # noqa: BLE001
        problems.append(f'cleanup failed: {e!r}')
    took = time.monotonic() - start
    if problems:
        print(f'FAIL {name}: ' + '; '.join(problems) + f' ({took:.1f}s)')
        print_tails(t)
    elif skipped is not None:
        print(f'SKIP {name}: {skipped}')
    else:
        print(f'PASS {name} ({took:.1f}s)')
    sys.stdout.flush()
    return 'fail' if problems else 'skip' if skipped is not None else 'pass'



def main():
    ap = argparse.ArgumentParser(description='xs2sd integration tests')
    ap.add_argument('build', help='build directory holding xs2sd and xs2sctl')
    ap.add_argument('-k', action='append', default=[], metavar='NAME',
                    help='run only tests whose name contains NAME')
    ap.add_argument('--keep', action='store_true', help='keep the logs even if all pass')
    ap.add_argument('--peer-build', metavar='DIR', help='a build of the other port (cross-port tests)')
    args = ap.parse_args()

    port = harness.netsim.build_port(args.build)
    if port == 'lwip':
        harness.netsim.reexec_in_netns()
    print(f'port: {port}' + (' (lwIP host simulation over TAP devices, own network namespace)'
                             if port == 'lwip' else ''))
    tests = [(n, f) for n, f in discover() if not args.k or any(k in n for k in args.k)]
    if not tests:
        print(f'no test matches {args.k}', file=sys.stderr)
        return 2
    rundir = tempfile.mkdtemp(prefix='xs2s-it-')
    run = harness.Run(args.build, rundir, args.peer_build)
    passed = failed = skipped = 0
    try:
        for i, (name, fn) in enumerate(tests, 1):
            r = run_one(run, i, name, fn)
            passed += r == 'pass'
            failed += r == 'fail'
            skipped += r == 'skip'

    except KeyboardInterrupt:
        print('interrupted')
        failed += 1
    if failed or args.keep:
        print(f'logs kept in {rundir}')
    else:
        shutil.rmtree(rundir, ignore_errors=True)
    print(f'{passed} passed, {failed} failed' + (f', {skipped} skipped' if skipped else ''))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
