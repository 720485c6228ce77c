# SPDX-License-Identifier: MIT
"""The test library of both Python suites, test/integration and test/interop.

A suite puts test/ on sys.path and imports `lib.<module>`:

  testkit   Fail, Skip, check(), poll(), read_text(), kconfig(): how a test
            says what went wrong, waits for something, reads a log or the
            build's .config
  tcp       the kernel's socket tables (/proc/net/tcp, tcp6, udp): who is
            bound or listening where, free ports, closes left unfinished
  proc      Proc: a child process with its output in a log file, started in
            a session of its own, stopped by PID
  pki       the test certificates (test/tools/mkcerts.sh)
  dnsmasq   a DNS server answering only the .test zone, never forwarding
  netsim    the lwIP host simulation's network namespace and TAP devices
  xs2sd     Xs2sd: one xs2sd process, its readiness, xs2sctl views, its stop
            (sanitizer reports, lwIP TAP devices)
  runner    the run loop: test discovery, a time limit per test, failure
            reasons, log tails, the 'N passed, N failed' line

Each suite keeps only what is its own on top: test/integration/harness.py
(the per-test context, the address pool, the raw peers' helpers) and
test/interop/common.py (the address plan, apt, the XMPP client)."""
