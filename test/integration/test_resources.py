# SPDX-License-Identifier: MIT
"""Admission control (silent connections), and peers that vanish during stream setup."""
import socket

import s2speer
from harness import Skip, check, poll, kconfig, start_b, other_link_works


def _silent(t, addr, label, src=None):
    """A TCP connection to addr that will send nothing (from src if given)."""
    sock = socket.create_connection(addr, timeout=5, source_address=(src, 0) if src else None)
    s = s2speer.Stream(sock, label, t.trace)
    t.streams.append(s)
    return s


def test_silent_connections_do_not_starve(t):
    """XEP-0205 admission control. MAX_LINKS connections from one address that
    send nothing used to hold every link slot until the setup timeout: every
    honest peer was refused and even outbound sends failed. Now at most
    PREAUTH_PER_ADDR of them are admitted (the rest are closed at once), and
    an honest peer federates both ways meanwhile."""
    size = kconfig(t.run, 'XS2S_MAX_LINKS')
    per_addr = kconfig(t.run, 'XS2S_PREAUTH_PER_ADDR')
    check(isinstance(size, int) and isinstance(per_addr, int),
          f'CONFIG_XS2S_MAX_LINKS or CONFIG_XS2S_PREAUTH_PER_ADDR not found in {t.run.build}/.config')
    b, ip_a = start_b(t)
    # On loopback every daemon's outbound connections come from 127.0.0.1:
    # the silent ones from an address of their own (POSIX port).
    src = t.ip() if t.run.port == 'posix' else None
    silent = [_silent(t, b.addr, f'silent {i}', src=src) for i in range(size)]
    for s in silent[per_addr:]:
        check(s.wait_closed(5), f'{s.label}: connection beyond PREAUTH_PER_ADDR={per_addr} not closed')
    counters = b.status()['counters']
    check(counters['admit_per_addr'] >= size - per_addr, f'admit_per_addr not counted: {counters}')
    check(b.status()['pools']['links']['used'] == per_addr,
          f'{per_addr} silent connections should hold slots: {b.status()["pools"]["links"]}')
    other_link_works(t, b, ip_a, both=True)


def test_silent_connections_evicted(t):
    """XEP-0205: MAX_LINKS silent connections from as many addresses hold at
    most MAX_LINKS - PREAUTH_RESERVE slots; the next connection evicts the
    oldest, and honest peers still federate both ways (POSIX port: the
    connections bind loopback addresses of their own)."""
    if t.run.port != 'posix':
        raise Skip('binding loopback source addresses: POSIX port only')
    size = kconfig(t.run, 'XS2S_MAX_LINKS')
    reserve = kconfig(t.run, 'XS2S_PREAUTH_RESERVE')
    b, ip_a = start_b(t)
    silent = [_silent(t, b.addr, f'silent {i}', src=t.ip()) for i in range(size)]
    check(poll(lambda: b.status()['counters']['admit_evicted'] >= reserve, 5, 0.2),
          f'no eviction after {size} silent connections: {b.status()["counters"]}')
    check(silent[0].wait_closed(5), 'the oldest silent connection was not evicted')
    pool = b.status()['pools']['links']
    check(pool['used'] <= size - reserve, f'silent connections hold more than MAX_LINKS - RESERVE slots: {pool}')
    other_link_works(t, b, ip_a, both=True)


def test_peer_closes_during_setup_bounces(t):
    """d.test accepts b's connection, reads its header and hangs up."""
    d = t.raw_listener(lambda s: s.read_header(5), name='d.test')
    # It hangs up every time: b retries (after 1 s) while the 3 s deadline
    # allows, then bounces (retry before bouncing, firmware/route/route.h).
    b, ip_a = start_b(t, hosts={'d.test': d.addr[0]}, extra_args=('--route-deadline', '3'))
    body = f'to a peer that hangs up {t.nonce}'
    b.send('u@b.test', 'x@d.test', body)
    m = b.wait_message(lambda m: m.get('type') == 'error' and m.get('body') == body, 5,
                       'bounce of the message to d.test')
    check(m.get('error') == 'remote-server-not-found',
          f'bounce condition {m.get("error")!r}, expected remote-server-not-found: {m}')
    check(m.get('from', '').split('/')[0] == 'x@d.test' and m.get('to', '').split('/')[0] == 'u@b.test',
          f'bounce wrongly addressed: {m}')
    check(d.handled, f'd.test never got b.test\'s stream header (errors: {d.errors})')
    check(not b.links(remote='d.test'), f'a link to d.test is left: {b.status().get("links")}')
    other_link_works(t, b, ip_a)


def _pipelined_pings(t, n, stall=0):
    """n pings pipelined in one write on a dialback-authenticated stream from
    c.test (a FakeServer, reading slowly when stall): the set of ids
    answered on b's stream back to c.test, and b's counters."""
    cid = t.ident('c.test', client_cert=False)
    c = t.fake_server(cid, stall=stall)
    b, _ = start_b(t, c.addr[0])
    s = t.open_stream(cid, 'b.test', b.addr)
    r = s2speer.dialback(s, cid, 'b.test')
    check(r.is_(s2speer.NS_DB, 'result') and r.attrs.get('type') == 'valid', f'dialback refused: {r.raw}')
    s.sock.settimeout(60)  # b may wait before it reads on (backpressure)
    s.send(''.join(f"<iq type='get' from='x@c.test/r' to='b.test' id='p{i}'><ping xmlns='urn:xmpp:ping'/></iq>"
                   for i in range(n)))

    def results(srv):
        return {x.attrs.get('id') for x in srv.stanzas if x.attrs.get('type') == 'result'}

    c.wait_for(lambda srv: len(results(srv)) >= n, 60)
    got = results(c)
    counters = b.status()['counters']
    t.trace(f'pipelined pings (stall {stall}): {len(got)} of {n} answered; counters {counters}')
    return got, counters


def test_pipelined_pings_all_answered(t):
    """No silent loss under load (RFC 6120 8.2.3: every iq get is answered),
    end to end over real sockets: 20000 pings pipelined in one write each get
    their result, nothing is counted lost."""
    n = 20000
    got, counters = _pipelined_pings(t, n)
    check(len(got) == n, f'{n - len(got)} of {n} pipelined pings unanswered (counters {counters})')
    check(counters['answers_lost'] == 0 and counters['answer_errors'] == 0, f'answers lost: {counters}')


def test_pipelined_pings_slow_reader(t):
    """A larger burst (50000) to a peer that stops reading for 3 s after the
    first result, with a 4 KiB receive buffer: b's output and the route's
    queue fill up, b stops reading the inbound stream (inputs_held) instead
    of dropping results, and every ping is answered."""
    n = 50000
    got, counters = _pipelined_pings(t, n, stall=3)
    check(len(got) == n, f'{n - len(got)} of {n} pipelined pings unanswered (counters {counters})')
    check(counters['answers_lost'] == 0 and counters['answer_errors'] == 0, f'answers lost: {counters}')
    check(counters['inputs_held'] > 0, f'b never had to wait: the test did not exercise backpressure ({counters})')
