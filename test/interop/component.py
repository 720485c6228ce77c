# SPDX-License-Identifier: MIT
"""XEP-0114 component interop: a real component (Debian's python3-slixmpp,
ComponentXMPP) serves bot.xs2s.test on xs2sd's component port and exchanges
messages both ways with a real user on the peer server (slixmpp c2s client),
over s2s links between xs2s and the peer for the component's domain. One
cell per server in COMPONENT_SERVERS ('<server>-component'), on either port;
run.py runs them after the other cells, table.py writes them in a section of
their own.

The component's domain is in dnsmasq (A and _xmpp-server._tcp SRV, at xs2sd)
but not in xs2sd's certificate: xs2sd's stream from it to the peer must be
authenticated by dialback (the peer verifies the key with xs2sd, the
domain's authoritative server); the peer's stream to it authenticates the
peer as the peer chooses (both sides trust the test CA; the peer does not
require valid certificates: Prosody s2s_secure_auth = false)."""
import asyncio
import datetime
import logging
import os
import secrets
import threading
import time

import common
from lib import runner
from lib.testkit import check, poll
from peers.base import Setup

COMP_DOMAIN = f'bot.{common.XS2S_DOMAIN}'
COMP_JID = f'echo@{COMP_DOMAIN}'
COMP_PORT = 5347
COMPONENT_SERVERS = ('prosody',)
CELL_TIMEOUT_S = 45


class Component:
    """A slixmpp ComponentXMPP (Debian python3-slixmpp) for COMP_DOMAIN,
    connected to xs2sd's component port on its own asyncio loop in a thread
    (its DNS lookup replaced: it is given the address)."""

    def __init__(self, secret, addr, log_path):
        self.secret, self.addr, self.log_path = secret, addr, log_path
        self.received = []              # (from bare JID, type, body)
        self.events = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._gone = threading.Event()
        self._error = None
        self.loop = self.xmpp = self.thread = None

    def start(self, timeout=15):
        self.thread = threading.Thread(target=self._run, name='slixmpp-component', daemon=True)
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.1):
            check(self._error is None, f'component {COMP_DOMAIN}: {self._error}')
            check(time.monotonic() < deadline,
                  f'component {COMP_DOMAIN}: no handshake after {timeout}s (events: {self.events[-6:]})')
        return self

    def _run(self):
        handler = logging.FileHandler(self.log_path)
        handler.setFormatter(logging.Formatter('%(asctime)s %(levelname)s %(name)s %(message)s'))
        root = logging.getLogger('slixmpp')
        root.setLevel(logging.DEBUG)
        root.handlers[:] = [handler]
        root.propagate = False
        try:
            from slixmpp.componentxmpp import ComponentXMPP  # noqa: PLC0415 - installed on demand
        except ImportError as e:
            self._error = f'python3-slixmpp not usable: {e}'
            handler.close()
            return
        ip, port = self.addr

        class Comp(ComponentXMPP):
            async def get_dns_records(self, d, p=None):
                return [(d, ip, port)]

        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        x = self.xmpp = Comp(COMP_DOMAIN, self.secret, ip, port)

        def ev(name):
            def f(data=None):
                self.events.append((name, str(data)[:200]))
            return f
        for name in ('connecting', 'connected', 'connection_failed', 'stream_error'):
            x.add_event_handler(name, ev(name))

        def disconnected(data):
            self.events.append(('disconnected', str(data)))
            if not self._ready.is_set() and self._error is None:
                self._error = f'disconnected before the handshake: {data} (events: {self.events[-6:]})'
            self._gone.set()

        def message(msg):
            with self._lock:
                self.received.append((msg['from'].bare, msg['type'], msg['body']))

        x.add_event_handler('session_start', lambda _: self._ready.set())
        x.add_event_handler('disconnected', disconnected)
        x.add_event_handler('message', message)
        try:
            x.connect()
            self.loop.run_forever()
            pending = asyncio.all_tasks(self.loop)
            for task in pending:
                task.cancel()
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        except Exception as e:  # noqa: BLE001 - reported by start()
            self._error = f'{type(e).__name__}: {e}'
        finally:
            self.loop.close()
            handler.close()

    def send(self, to, body):
        check(self.loop is not None, 'component not running')
        self.loop.call_soon_threadsafe(
            lambda: self.xmpp.send_message(mto=to, mbody=body, mtype='chat', mfrom=COMP_JID))

    def wait_body(self, body, frm, timeout=15, abort=None):
        def got():
            with self._lock:
                found = [m for m in self.received if m[2] == body]
            return found or (abort() if abort else None)
        found = poll(got, timeout, 0.1)
        check(found, f'component {COMP_DOMAIN}: message {body!r} not received within {timeout}s '
              f'(received: {self.received}, events: {self.events[-4:]})')
        check(isinstance(found, list), f'component {COMP_DOMAIN}: message {body!r} will not arrive: {found}')
        check(found[0][0] == frm, f'component {COMP_DOMAIN}: {body!r} arrived from {found[0][0]}, want {frm}')
        return found[0]

    def stop(self, timeout=5):
        if self.loop is None or not self.thread.is_alive():
            return
        self.loop.call_soon_threadsafe(lambda: self.xmpp.disconnect(wait=0.5))
        self._gone.wait(timeout)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout)


class ComponentCell:
    """One component cell: what run.py, print_cell and the table read of a
    cell (as cells.Cell)."""
    failure = False
    app = False
    unsupported = None
    method = None

    def __init__(self, server):
        self.server = server
        self.name = f'{server.key}-component'
        self.passed = False
        self.reason = ''
        self.tls_version = self.cipher = None
        self.xs2s_view = self.peer_view = ''
        self.when = None
        self.secs = 0.0
        self.logs = []

    def direction_title(self):
        return f'{self.server.title} user ↔ xs2s component'


def dns_names():
    """What dnsmasq must answer for the component's domain: {name: address}."""
    return {COMP_DOMAIN: common.XS2S_IP}


class _Ctx:
    def __init__(self, run, cell, workdir):
        self.run, self.cell, self.workdir, self.srv = run, cell, workdir, cell.server
        self.peer = self.xs = self.client = self.comp = None

    def stop(self):
        problems = []
        for what, stop in (('component', lambda: self.comp and self.comp.stop()),
                           ('client', lambda: self.client and self.client.stop()),
                           ('xs2sd', lambda: self.xs.stop() if self.xs else []),
                           (self.srv.title, lambda: self.peer.stop() if self.peer else [])):
            try:
                problems += stop() or []
            except Exception as e:  # noqa: BLE001 - keep stopping the others
                problems.append(f'{what}: stop failed: {e!r}')
        return list(dict.fromkeys(problems))


def _body(ctx):
    run, cell = ctx.run, ctx.cell
    secret = secrets.token_hex(16)
    ctx.peer = ctx.srv(run, os.path.join(ctx.workdir, ctx.srv.key))
    ctx.peer.configure(Setup(run.pki.ca, False))
    ctx.peer.start()
    ctx.xs = common.Xs2s(run.build, ctx.workdir, run.pki, run.pki.ca, 'sasl-external,dialback', net=run.net,
                         components={COMP_DOMAIN: secret}, component_listen=f'{common.XS2S_IP}:{COMP_PORT}')
    ctx.xs.start()
    ctx.comp = Component(secret, (common.XS2S_IP, COMP_PORT), os.path.join(ctx.workdir, 'component.log')).start()
    ctx.client = common.XmppClient(ctx.peer.user_jid, ctx.peer.password, (ctx.peer.ip, ctx.peer.c2s_port),
                                   run.pki.ca, os.path.join(ctx.workdir, 'client.log')).start()
    peer, xs, comp, client = ctx.peer, ctx.xs, ctx.comp, ctx.client

    to_comp = f'{cell.name} user to component {run.nonce}'
    client.send(COMP_JID, to_comp)
    comp.wait_body(to_comp, peer.user_jid, abort=lambda: client.errors() and f'{ctx.srv.title} bounced it: '
                   f'{client.errors()}')
    to_user = f'{cell.name} component to user {run.nonce}'
    comp.send(peer.user_jid, to_user)
    client.wait_body(to_user, COMP_JID, abort=lambda: xs.bounces() and f'xs2sd bounced it: {xs.bounces()}')

    links = xs.status().get('links', [])
    cl = [ln for ln in links if ln.get('direction') == 'comp' and ln.get('remote') == COMP_DOMAIN]
    check(cl and cl[0].get('state') == 'open' and cl[0].get('auth') == 'handshake'
          and cl[0].get('stanzas_in', 0) >= 1 and cl[0].get('stanzas_out', 0) >= 1,
          f'xs2sd: no open component link for {COMP_DOMAIN} that carried both messages: {links}')
    out = [ln for ln in links if ln.get('direction') == 'out' and ln.get('local') == COMP_DOMAIN
           and ln.get('remote') == peer.domain and ln.get('state') == 'open']
    inb = [ln for ln in links if ln.get('direction') == 'in' and ln.get('remote') == peer.domain
           and any(p.get('local') == COMP_DOMAIN and p.get('state') == 'valid' for p in ln.get('pairs', []))]
    check(out and inb, f'xs2sd: want open s2s links for {COMP_DOMAIN} with {peer.domain} both ways: {links}')
    check(all(ln.get('transport') == 'starttls' for ln in out + inb), f'xs2sd: s2s link not encrypted: {links}')
    o = out[0]
    check(o.get('auth') == 'dialback', f'xs2sd: its stream from {COMP_DOMAIN} (not in its certificate) was '
          f'authenticated by {o.get("auth")!r}, want dialback: {o}')
    in_auth = [p.get('auth') for p in inb[0].get('pairs', []) if p.get('local') == COMP_DOMAIN][0]
    cell.tls_version, cell.cipher = o.get('tls_version'), common.iana_cipher(o.get('cipher'))
    cell.xs2s_view = (f'component link: handshake; s2s for {COMP_DOMAIN}: out {o.get("auth")}, '
                      f'in {in_auth}, cert {o.get("cert")}')
    views = [v for v in peer.s2s_view() if v.remote == COMP_DOMAIN]
    check({v.direction for v in views} >= {'in', 'out'},
          f'{ctx.srv.title}: no s2s sessions with {COMP_DOMAIN} both ways in its own view: {views}')
    check(all(v.method != 'none' for v in views), f'{ctx.srv.title}: unauthenticated session: {views}')
    cell.peer_view = ', '.join(f'{v.direction} {v.method}' for v in sorted(views, key=lambda v: v.direction))
    v = [x for x in views if x.direction == 'in'][0]
    check(v.tls_version == cell.tls_version and common.iana_cipher(v.cipher) == cell.cipher,
          f'TLS: xs2s says {cell.tls_version} {o.get("cipher")}, {ctx.srv.title} says {v.tls_version} {v.cipher}')


def run_component_cell(run, cell, index):
    """Run one component cell in its own directory; sets its result."""
    workdir = os.path.join(run.dir, f'{index:02d}-{cell.name}')
    os.makedirs(workdir)
    os.chmod(workdir, 0o755)
    ctx = _Ctx(run, cell, workdir)
    cell.when = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.monotonic()
    try:
        result, why = runner.attempt(_body, ctx, limit=CELL_TIMEOUT_S, what='cell')
    finally:
        problems = ctx.stop()
    cell.passed = result == runner.PASS and not problems
    cell.reason = '; '.join(([why] if why else []) + problems)
    cell.secs = time.monotonic() - t0
    if not cell.passed:
        cell.logs = ([('xs2sd', ctx.xs.log_path, None)] if ctx.xs and ctx.xs.proc else []) + \
            (ctx.peer.logs() if ctx.peer else []) + \
            [('component', os.path.join(workdir, 'component.log'), None),
             ('client', os.path.join(workdir, 'client.log'), None)]


def table_section(cells, versions):
    """The table's component section (markdown lines), or [] without such cells."""
    cells = [c for c in cells if isinstance(c, ComponentCell)]
    if not cells:
        return []
    out = ['', '## Components (XEP-0114)', '',
           f'A real component (slixmpp `ComponentXMPP`, `{COMP_DOMAIN}`) connects to xs2sd\'s component '
           f'port (`--component {COMP_DOMAIN}=SECRET --component-listen {common.XS2S_IP}:{COMP_PORT}`) and '
           'exchanges a message each way with a real user on the peer server (slixmpp c2s client); '
           f'`{COMP_DOMAIN}` resolves to xs2sd and is not in its certificate: xs2sd\'s stream from it to '
           'the peer is authenticated by dialback (the peer checks the key with xs2sd, the domain\'s '
           'authoritative server); the peer\'s stream to it authenticates the peer as the peer chooses. '
           'Both sides trust the test CA; the peer does not require valid certificates.', '',
           '| server | version | method | direction | result | TLS | cipher | xs2s sees | server sees | date |',
           '|---|---|---|---|---|---|---|---|---|---|']
    for c in cells:
        out.append(f'| {c.server.title} | {versions.get(c.server.key, "?")} | XEP-0114 component (slixmpp) | '
                   f'{c.direction_title()} | {"pass" if c.passed else "**FAIL**"} | {c.tls_version or "–"} | '
                   f'{c.cipher or "–"} | {(c.xs2s_view or "–").replace("|", "/")} | '
                   f'{(c.peer_view or "–").replace("|", "/")} | '
                   f'{c.when.strftime("%Y-%m-%d") if c.when else "–"} |')
    return out
