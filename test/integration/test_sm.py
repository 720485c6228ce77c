# SPDX-License-Identifier: MIT
"""XEP-0198 stream management between two xs2sd, through a TCP proxy that
cuts the connection while stanzas are unacknowledged: none is lost."""
import socket
import struct
import threading
import time

from harness import check, poll

PORT = 5269


class CutProxy:
    """Forwards ip:PORT to target:PORT. hold_acks() stops forwarding what
    the target sends back (its XEP-0198 acks stay in the proxy); cut()
    resets every connection (RST both ways, what the proxy held is lost)."""

    def __init__(self, ip, target):
        self.target = target
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind((ip, PORT))
        self.ls.listen(8)
        self.pairs, self.lock = [], threading.Lock()
        self.held = False
        self.stopped = False
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            try:
                t = socket.create_connection((self.target, PORT), timeout=5)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.pairs.append((c, t))
                self.accepted += 1
            threading.Thread(target=self._pump, args=(c, t, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(t, c, True), daemon=True).start()

    def _pump(self, src, dst, back):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                return
            if not data:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            while back and self.held and not self.stopped:
                time.sleep(0.01)   # acks (and anything else) wait here ...
            if self.held is None:
                return             # ... and are dropped by the cut
            try:
                dst.sendall(data)
            except OSError:
                return

    def hold_acks(self):
        self.held = True

    def cut(self):
        self.held = None
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for c, t in pairs:
            for s in (c, t):
                try:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
                    s.close()
                except OSError:
                    pass
        time.sleep(0.05)
        self.held = False

    def stop(self):
        self.stopped = True
        self.held = False
        self.ls.close()
        self.cut()
        return []


def _sm(d, **want):
    return [ln.get('sm') for ln in d.links(**want)]


def test_sm_cut_with_stanzas_in_flight(t):
    """a.test -> proxy -> b.test, SASL EXTERNAL, stream management on both
    sides (the status shows it). While b.test's acks are held in the proxy,
    20 messages go out; the connection is then reset: a.test takes them
    back (sm_resent), opens a new link at once and sends them again, then
    10 more. Every message reaches b.test (a duplicate is allowed: b.test
    handled it, its ack died in the cut), a.test gets no bounce."""
    ip_a, ip_b, ip_p = t.ip(), t.ip(), t.ip()
    px = t.own(CutProxy(ip_p, ip_b))
    a = t.daemon('a.test', ip=ip_a, host_map={'b.test': ip_p})
    b = t.daemon('b.test', ip=ip_b, host_map={'a.test': ip_a})
    first = f'first {t.nonce}'
    a.send('alice@a.test', 'bob@b.test', first)
    b.wait_body(first, 15, frm='alice@a.test')
    poll(lambda: _sm(a, direction='out', remote='b.test') == ['on'], 10,
         lambda: f'a.test: want one outbound link with sm on: {a.status().get("links")}')
    poll(lambda: 'on' in _sm(b, direction='in', remote='a.test'), 10,
         lambda: f'b.test: want its inbound link with sm on: {b.status().get("links")}')
    px.hold_acks()
    bodies = [f'm{i:02d} {t.nonce}' for i in range(30)]
    for body in bodies[:20]:
        a.send('alice@a.test', 'bob@b.test', body)
    poll(lambda: all(m in [x.get('body') for x in b.drain()] for m in bodies[:20]), 15,
         lambda: 'b.test did not get the first 20 before the cut')
    un = sum(ln.get('unacked', 0) for ln in a.links(direction='out', remote='b.test'))
    check(un > 0, f'a.test: want unacknowledged stanzas before the cut: {a.status().get("links")}')
    px.cut()
    for body in bodies[20:]:
        a.send('alice@a.test', 'bob@b.test', body)
    for body in bodies:
        b.wait_body(body, 30, frm='alice@a.test')
    st = a.status()
    c = st.get('counters', {})
    check(c.get('sm_resent', 0) >= un, f'a.test: want sm_resent >= {un}: {c}')
    check(c.get('retries', 0) >= 1, f'a.test: want a retry after the cut: {c}')
    check(px.accepted >= 2, f'proxy: want a second connection, got {px.accepted}')
    check(not a.bounces(), f'a.test: bounces: {a.bounces()}')
    got = [m.get('body') for m in b.drain() if m.get('type') != 'error']
    lost = [x for x in bodies if x not in got]
    check(not lost, f'lost: {lost}')
    dups = {x: got.count(x) for x in bodies if got.count(x) > 1}
    t.trace(f'delivered {len(bodies)} of {len(bodies)}, duplicates {dups}')
    poll(lambda: all(ln.get('unacked', 0) == 0 for ln in a.links(direction='out')), 10,
         lambda: f'a.test: unacked left: {a.status().get("links")}')
    pools = st.get('pools', {})
    check(pools.get('unacked', {}).get('high', 0) >= un, f'a.test: unacked pool high-water: {pools.get("unacked")}')
