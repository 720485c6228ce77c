# SPDX-License-Identifier: MIT
"""Liveness (XEP-0199 s2s pings) and per-peer policy (XEP-0205) between
real daemons: a peer whose process stops (SIGSTOP: its kernel still
acknowledges TCP, only an application-level ping can tell) is declared
dead within --ping-idle + --ping-timeout; --deny-domain refuses a domain
both ways."""
import os
import signal
import time

from harness import check, poll

PING_IDLE, PING_TIMEOUT = 2, 2
PING_ARGS = ('--ping-idle', str(PING_IDLE), '--ping-timeout', str(PING_TIMEOUT))


def _counters(d):
    return d.status().get('counters', {})


def test_dead_peer_declared(t):
    """a.test pings b.test after PING_IDLE s without input; a running b
    answers (the link stays); a stopped b does not: a declares it dead
    (connection-timeout, the link closed) within PING_IDLE + PING_TIMEOUT
    (+ slack); the message written into the dead link is not lost: once b
    runs again it arrives (XEP-0198 resend after a retry), and so does the
    next one."""
    ip_a, ip_b = t.ip(), t.ip()
    a = t.daemon('a.test', ip=ip_a, host_map={'b.test': ip_b}, extra_args=PING_ARGS)
    b = t.daemon('b.test', ip=ip_b, host_map={'a.test': ip_a})
    first = f'before the stop {t.nonce}'
    a.send('alice@a.test', 'bob@b.test', first)
    b.wait_body(first, 15, frm='alice@a.test')
    # b is alive: the ping is answered (over b's own stream to a), the link stays
    check(poll(lambda: _counters(a).get('pings_answered', 0) >= 1, 15),
          f'a.test: no ping answered by a running b.test: {_counters(a)}')
    check(a.links(direction='out', remote='b.test', state='open'),
          f'a.test: the link to b.test closed although b answered: {a.status().get("links")}')
    check(_counters(a).get('dead_peers') == 0, f'a.test: a live peer declared dead: {_counters(a)}')
    # b stops: its kernel keeps the TCP connection, nothing answers
    os.kill(b.proc.pid, signal.SIGSTOP)
    try:
        stopped = time.monotonic()
        void = f'into the void {t.nonce}'
        a.send('alice@a.test', 'bob@b.test', void)
        a.wait_log(r'dead peer: b\.test has not answered our ping \(XEP-0199\)', PING_IDLE + PING_TIMEOUT + 6,
                   'the dead peer')
        took = time.monotonic() - stopped
        check(took <= PING_IDLE + PING_TIMEOUT + 6, f'a.test: b.test declared dead after {took:.1f} s')
        a.wait_log(r'peer b\.test is dead: no answer to our ping within 2 s; stream error: connection-timeout', 2)
        check(_counters(a).get('dead_peers') == 1, f'a.test: dead_peers {_counters(a)}')
        check(poll(lambda: not a.links(direction='out', remote='b.test', state='open'), 5),
              f'a.test: the dead link is still open: {a.status().get("links")}')
    finally:
        os.kill(b.proc.pid, signal.SIGCONT)
    # b runs again: the message written into the dead link (never
    # acknowledged: XEP-0198) is resent on a new link (a dead peer is
    # retried before bouncing), and a new link carries the next message
    b.wait_body(void, 30, frm='alice@a.test')
    again = f'after the restart {t.nonce}'
    a.send('alice@a.test', 'bob@b.test', again)
    b.wait_body(again, 20, frm='alice@a.test')
    check(not [m for m in a.drain() if m.get('type') == 'error'], f'a.test: a bounce: {a.messages}')


def test_deny_domain(t):
    """--deny-domain b.test on a.test: a's stanza to b.test bounces with
    not-allowed and opens no connection; b's stream to a.test is refused
    with policy-violation (b's sender gets a bounce); a's log and counters
    say what happened."""
    ip_a, ip_b = t.ip(), t.ip()
    a = t.daemon('a.test', ip=ip_a, host_map={'b.test': ip_b}, extra_args=('--deny-domain', 'b.test'))
    b = t.daemon('b.test', ip=ip_b, host_map={'a.test': ip_a})
    a.send('alice@a.test', 'bob@b.test', f'refused {t.nonce}')
    m = a.wait_message(lambda m: m.get('type') == 'error', 10, 'the not-allowed bounce')
    check(m.get('error') == 'not-allowed', f'a.test: want a not-allowed bounce: {m}')
    check(m.get('error_text') == 'b.test may not federate with this server (on the deny list, XEP-0205)',
          f'a.test: the bounce does not say why: {m}')
    check(not a.links(remote='b.test'), f'a.test: a link to a denied domain: {a.status().get("links")}')
    a.wait_log(r'stanza from a\.test to b\.test refused: b\.test may not federate with this server '
               r'\(on the deny list, XEP-0205\)', 2)
    b.send('bob@b.test', 'alice@a.test', f'knocking {t.nonce}')
    a.wait_log(r'b\.test may not federate with this server \(on the deny list, XEP-0205\); '
               r'stream error: policy-violation', 15)
    m = b.wait_message(lambda m: m.get('type') == 'error', 15, "b's bounce")
    check(m.get('from', '').split('/')[0] == 'alice@a.test', f'b.test: bounce from the wrong JID: {m}')
    check("peer a.test sent stream error <policy-violation/>" in m.get('error_text', ''),
          f"b.test: the bounce does not carry a.test's stream error: {m}")
    a.assert_no_body('knocking')
    c = _counters(a)
    check(c.get('policy_denied_out') == 1 and c.get('policy_denied_in', 0) >= 1,
          f'a.test: policy counters {c}')
