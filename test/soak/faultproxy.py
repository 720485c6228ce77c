#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A fault-injecting TCP proxy for the soak (test/soak/soak.py).

  faultproxy.py --map NAME=LISTEN_ADDR:PORT=TARGET_ADDR:PORT ... --events FILE
                [--seed N] [--clean P] [--cut P] [--reset P] [--slow P] [--stall P]

Each --map is a listener; what connects to it is forwarded to its target.
Every accepted connection gets one plan, drawn with the given weights:

  clean   forwarded as is
  cut     after a random number of bytes (log-uniform, 1 B .. 256 KiB, one
          direction), or a random time (5 .. 240 s), both sides are closed
          (FIN): what either side still had in flight through the proxy is
          dropped, as when a middlebox gives up on a connection
  reset   as cut, but both sides are reset (RST)
  slow    one direction is read slowly (256 B per 100 ms) for 10 .. 120 s:
          its sender's buffers fill (a slow reader); then forwarded as is
  stall   after a random number of bytes, nothing moves either way for
          5 .. 90 s, then forwarded as is (a black hole that heals)

A connection whose target refuses is closed at once (event "refused").
SIGUSR1 makes every later connection clean and ends the faults to come on
open ones (the soak's grace period); SIGTERM stops the proxy (status 0).
Events are JSON lines in --events: {"t": unix time, "conn": n, "map": NAME,
"event": open|fault|close|refused|quiet, "plan": ..., "up": bytes client to
target, "down": bytes target to client, "why": ...}."""
import argparse
import errno
import heapq
import json
import math
import random
import selectors
import signal
import socket
import struct
import sys
import time

BUF = 65536            # bytes buffered per direction before its reader stops
SLOW_BYTES = 256       # slow reader: bytes per tick
TICK = 0.1


class Conn:
    def __init__(self, px, n, name, client, plan):
        self.px, self.n, self.name = px, n, name
        self.sock = {'c': client, 't': None}     # client side, target side
        self.buf = {'c': bytearray(), 't': bytearray()}   # bytes waiting to be written to that side
        self.count = {'up': 0, 'down': 0}
        self.plan = plan
        self.fault_at = None        # bytes (in plan['dir']) after which the fault fires
        self.stalled_until = 0.0
        self.slow_until = 0.0
        self.slow_credit = 0
        self.closed = False
        self.connected = False
        self.eof = {'c': False, 't': False}     # that side sent FIN
        self.shut = {'c': False, 't': False}    # FIN passed on to that side

    def other(self, side):
        return 't' if side == 'c' else 'c'


class Proxy:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.sel = selectors.DefaultSelector()
        self.timers = []
        self.next_id = 0
        self.conns = {}
        self.quiet = False
        self.want_quiet = False     # set by SIGUSR1, acted on by the loop
        self.stop = False
        self.events = open(args.events, 'a', buffering=1)
        weights = [('clean', args.clean), ('cut', args.cut), ('reset', args.reset), ('slow', args.slow),
                   ('stall', args.stall)]
        self.plans = [p for p, w in weights if w > 0]
        self.weights = [w for p, w in weights if w > 0]
        for spec in args.map:
            name, listen, target = spec.split('=')
            la, lp = listen.rsplit(':', 1)
            ta, tp = target.rsplit(':', 1)
            ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.bind((la, int(lp)))
            ls.listen(64)
            ls.setblocking(False)
            self.sel.register(ls, selectors.EVENT_READ, ('listen', name, (ta, int(tp))))

    def event(self, **kw):
        kw['t'] = round(time.time(), 3)
        self.events.write(json.dumps(kw) + '\n')

    def at(self, when, fn):
        self.next_id += 1
        heapq.heappush(self.timers, (when, self.next_id, fn))

    def draw_plan(self):
        kind = 'clean' if self.quiet else self.rng.choices(self.plans, self.weights)[0]
        plan = {'kind': kind, 'dir': self.rng.choice(('up', 'down'))}
        if kind in ('cut', 'reset', 'stall'):
            plan['bytes'] = int(math.exp(self.rng.uniform(0, math.log(256 * 1024))))
        if kind in ('cut', 'reset'):
            plan['seconds'] = round(self.rng.uniform(5, 240), 1)
        if kind == 'stall':
            plan['seconds'] = round(self.rng.uniform(5, 90), 1)
        if kind == 'slow':
            plan['seconds'] = round(self.rng.uniform(10, 120), 1)
        return plan

    # ---- connections ----

    def accept(self, ls, name, target):
        try:
            cs, _ = ls.accept()
        except OSError:
            return
        cs.setblocking(False)
        self.next_id += 1
        c = Conn(self, self.next_id, name, cs, self.draw_plan())
        self.conns[c.n] = c
        ts = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ts.setblocking(False)
        c.sock['t'] = ts
        try:
            ts.connect(target)
        except BlockingIOError:
            pass
        except OSError as e:
            self.event(conn=c.n, map=name, event='refused', why=str(e))
            self.close(c, reset=False, why='refused', log=False)
            return
        self.sel.register(ts, selectors.EVENT_WRITE, ('conn', c, 't'))
        self.event(conn=c.n, map=name, event='open', plan=c.plan)
        now = time.monotonic()
        if c.plan['kind'] in ('cut', 'reset'):
            c.fault_at = c.plan['bytes']
            self.at(now + c.plan['seconds'], lambda c=c: self.fault(c, 'time'))
        elif c.plan['kind'] == 'stall':
            c.fault_at = c.plan['bytes']
        elif c.plan['kind'] == 'slow':
            c.slow_until = now + c.plan['seconds']

    def connected(self, c):
        ts = c.sock['t']
        err = ts.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self.event(conn=c.n, map=c.name, event='refused', why=errno.errorcode.get(err, str(err)))
            self.close(c, reset=False, why='refused', log=False)
            return
        c.connected = True
        self.sel.register(c.sock['c'], selectors.EVENT_READ, ('conn', c, 'c'))
        self.update(c)

    def update(self, c):
        """Selector interest of both sides: read while the other side's
        buffer has room and nothing stalls; write while a buffer waits."""
        if c.closed or not c.connected:
            return
        now = time.monotonic()
        for side in ('c', 't'):
            want = 0
            dirn = 'up' if side == 'c' else 'down'
            reading_ok = not c.eof[side] and now >= c.stalled_until and len(c.buf[c.other(side)]) < BUF
            if reading_ok and c.plan['kind'] == 'slow' and c.plan['dir'] == dirn and now < c.slow_until:
                reading_ok = c.slow_credit > 0
            if reading_ok:
                want |= selectors.EVENT_READ
            if c.buf[side] and now >= c.stalled_until:
                want |= selectors.EVENT_WRITE
            self.sel.modify(c.sock[side], want, ('conn', c, side))

    def readable(self, c, side):
        dirn = 'up' if side == 'c' else 'down'
        limit = BUF - len(c.buf[c.other(side)])
        slow = c.plan['kind'] == 'slow' and c.plan['dir'] == dirn and time.monotonic() < c.slow_until
        if slow:
            limit = min(limit, c.slow_credit)
        if c.fault_at is not None and c.plan['dir'] == dirn:
            limit = min(limit, max(1, c.fault_at - c.count[dirn]))
        try:
            data = c.sock[side].recv(max(1, limit))
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self.close(c, reset=False, why=f'{side} error: {e.strerror}')
            return
        if not data:
            # An orderly close (FIN): passed on once what is buffered is written.
            c.eof[side] = True
            self.half_close(c)
            return
        if slow:
            c.slow_credit -= len(data)
        c.count[dirn] += len(data)
        c.buf[c.other(side)] += data
        if c.fault_at is not None and c.plan['dir'] == dirn and c.count[dirn] >= c.fault_at:
            self.fault(c, 'bytes')
            if c.closed:
                return
        self.update(c)

    def writable(self, c, side):
        try:
            n = c.sock[side].send(c.buf[side])
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self.close(c, reset=False, why=f'{side} error: {e.strerror}')
            return
        del c.buf[side][:n]
        self.half_close(c)

    def half_close(self, c):
        """FINs are passed on once the buffer towards that side is empty;
        the connection ends when both directions have ended."""
        for side in ('c', 't'):
            o = c.other(side)
            if c.eof[o] and not c.buf[side] and not c.shut[side]:
                c.shut[side] = True
                try:
                    c.sock[side].shutdown(socket.SHUT_WR)
                except OSError:
                    pass
        if c.shut['c'] and c.shut['t']:
            self.close(c, reset=False, why='closed by both ends')
            return
        self.update(c)

    def fault(self, c, trigger):
        if c.closed or c.fault_at is None:
            return
        kind = c.plan['kind']
        c.fault_at = None
        if self.quiet:
            return
        self.event(conn=c.n, map=c.name, event='fault', plan=c.plan, trigger=trigger, up=c.count['up'],
                   down=c.count['down'], lost_up=len(c.buf['t']), lost_down=len(c.buf['c']))
        if kind in ('cut', 'reset'):
            self.close(c, reset=kind == 'reset', why=kind)
        elif kind == 'stall':
            c.stalled_until = time.monotonic() + c.plan['seconds']
            self.at(c.stalled_until + 0.01, lambda c=c: self.update(c))
            self.update(c)

    def close(self, c, reset, why, log=True):
        if c.closed:
            return
        c.closed = True
        for side in ('c', 't'):
            s = c.sock[side]
            if s is None:
                continue
            try:
                self.sel.unregister(s)
            except (KeyError, ValueError):
                pass
            if reset:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            try:
                s.close()
            except OSError:
                pass
        self.conns.pop(c.n, None)
        if log:
            self.event(conn=c.n, map=c.name, event='close', why=why, plan=c.plan['kind'], up=c.count['up'],
                       down=c.count['down'])

    def tick(self):
        for c in list(self.conns.values()):
            if c.plan['kind'] == 'slow' and not c.closed:
                c.slow_credit = SLOW_BYTES
                self.update(c)
        self.at(time.monotonic() + TICK, self.tick)

    def go_quiet(self):
        self.quiet = True
        self.event(event='quiet', conn=0, map='-')
        for c in list(self.conns.values()):
            c.fault_at = None
            c.slow_until = 0.0
            if c.stalled_until:
                c.stalled_until = 0.0
                self.update(c)

    def run(self):
        self.at(time.monotonic() + TICK, self.tick)
        while not self.stop:
            if self.want_quiet and not self.quiet:
                self.go_quiet()
            now = time.monotonic()
            while self.timers and self.timers[0][0] <= now:
                _, _, fn = heapq.heappop(self.timers)
                fn()
            timeout = max(0.0, self.timers[0][0] - now) if self.timers else 1.0
            for key, mask in self.sel.select(min(timeout, 1.0)):
                kind = key.data[0]
                if kind == 'listen':
                    self.accept(key.fileobj, key.data[1], key.data[2])
                    continue
                _, c, side = key.data
                if c.closed:
                    continue
                if not c.connected:
                    if mask & selectors.EVENT_WRITE:
                        self.connected(c)
                    continue
                if mask & selectors.EVENT_READ and not c.eof[side]:
                    self.readable(c, side)
                if not c.closed and mask & selectors.EVENT_WRITE:
                    self.writable(c, side)
        for c in list(self.conns.values()):
            self.close(c, reset=False, why='proxy stopped')


def main():
    ap = argparse.ArgumentParser(description='fault-injecting TCP proxy')
    ap.add_argument('--map', action='append', required=True, metavar='NAME=LADDR:LPORT=TADDR:TPORT')
    ap.add_argument('--events', required=True)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--clean', type=float, default=0.4)
    ap.add_argument('--cut', type=float, default=0.2)
    ap.add_argument('--reset', type=float, default=0.15)
    ap.add_argument('--slow', type=float, default=0.15)
    ap.add_argument('--stall', type=float, default=0.1)
    px = Proxy(ap.parse_args())

    def on_term(signum, frame):
        px.stop = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGUSR1, lambda s, f: setattr(px, 'want_quiet', True))
    print('faultproxy: listening', flush=True)
    px.run()
    return 0


if __name__ == '__main__':
    sys.exit(main())
