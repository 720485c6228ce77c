#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Interop tests between xs2sd and real XMPP servers.

  run.py BUILD [--table PATH] [--server KEY]... [-k TEXT]... [--keep]

BUILD holds xs2sd and xs2sctl (e.g. build/test); its .config says the port.
On the lwIP port (the host simulation) the run re-executes itself in a
network namespace of its own, with the same address plan on 10.77.0.0/24
instead of 127.0.0.0/8, and xs2sd runs lwIP over a TAP device
(test/netsim.py). For every peer server (peers/: Prosody, ejabberd,
jabberd2), every method (STARTTLS + Dialback, STARTTLS + SASL EXTERNAL,
STARTTLS + Dialback with valid certificates) and both directions, a fresh
xs2sd and a fresh peer server are started, a real XMPP client on the peer's
side (slixmpp) sends a message to xs2s or receives one from it, and both
sides are asked how the s2s link that carried it was authenticated and
encrypted. Prints PASS/FAIL per cell, then 'N passed, N failed'; writes the
table (--table, default test/interop/out/interop.md, or interop-lwip.md on
lwIP). Exit status 1 if any cell failed. Missing Debian packages are
installed first (needs root). Logs stay in /tmp/xs2s-interop-* when
something failed (or with --keep)."""
import argparse
import datetime
import os
import platform
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, HERE)
import common  # noqa: E402
from common import Fail, check, netsim, poll  # noqa: E402
from peers import SERVERS  # noqa: E402
from peers.base import Setup  # noqa: E402

CLIENT_PACKAGES = ('python3-slixmpp', 'dnsmasq-base')
CELL_TIMEOUT_S = 45
TAIL = 25
DEFAULT_TABLE = {'posix': os.path.join(HERE, 'out', 'interop.md'),
                 'lwip': os.path.join(HERE, 'out', 'interop-lwip.md')}
PORT_TITLE = {'posix': 'POSIX port', 'lwip': 'lwIP port'}
# Where each cell's two servers are, per port (for the table).
PORT_WHERE = {'posix': 'on loopback', 'lwip': 'in the run\'s own network namespace'}
PORT_NOTE = {
    'posix': '',
    'lwip': ' xs2sd runs its own lwIP TCP/IP stack on a TAP device (the lwIP host simulation, '
            '10.77.0.81); the peer server, its client and dnsmasq are on the kernel\'s stack '
            '(10.77.0.80-84 on lo): every s2s link is real TCP between lwIP and the kernel.',
}


class Method:
    """How one authentication method is forced on both sides.

    xs2s_auth   xs2sd --auth (what xs2s offers and uses)
    trust       'test': both sides trust the test CA (certificates valid);
                'foreign': each side trusts only a CA that signed nothing
                here, so neither certificate is valid and dialback must
                authenticate, with the full db:verify round trip
    secure_auth the peer refuses peers without a valid certificate
    auth, cert  what xs2s's link must show (auth: one value, or one per direction)
    peer_method what the peer's own view of the session must show"""

    def __init__(self, key, title, xs2s_auth, trust, secure_auth, auth, cert, peer_method):
        self.key, self.title, self.xs2s_auth, self.trust = key, title, xs2s_auth, trust
        self.secure_auth, self.cert, self.peer_method = secure_auth, cert, peer_method
        self._auth = auth

    def auth(self, direction):
        """xs2s's `auth` for the link of this direction."""
        return self._auth[direction] if isinstance(self._auth, dict) else self._auth


METHODS = [
    Method('dialback', 'STARTTLS + Dialback', 'dialback', 'foreign', False,
           'dialback', 'untrusted', 'dialback'),
    Method('sasl-external', 'STARTTLS + SASL EXTERNAL', 'sasl-external', 'test', True,
           'sasl-external', 'valid', 'sasl-external'),
    # Dialback between servers whose certificates are valid: xs2s accepts the
    # peer's db:result without db:verify (XEP-0344); the peer still verifies.
    Method('dialback-cert', 'STARTTLS + Dialback, valid certificates (XEP-0344)', 'dialback', 'test',
           False, {'to-xs2s': 'dialback+cert', 'from-xs2s': 'dialback'}, 'valid', 'dialback'),
]
DIRECTIONS = ('to-xs2s', 'from-xs2s')   # peer -> xs2s, xs2s -> peer


class Failure:
    """A failure mode: the peer is set up so that the link must fail (or
    break and recover), and the cell passes when the expected refusal or
    recovery happens on both sides. Only servers listing `key` in their
    PeerServer.failure_modes get these cells (a server that does not
    implement a mode has no row for it, rather than a silent pass).

    trust, secure_auth, s2s_tls  the peer's Setup (trust: 'test' or 'foreign')
    xs2s_auth   xs2sd --auth (xs2s always trusts the test CA here)
    directions  the cells' directions; body(ctx) runs one (see FailureCtx)
    note        for the table: how the mode is forced
    xs2s_cert   None: xs2sd's usual certificate; else (name, mkcerts.sh spec
                options), a special certificate from the test CA (Pki.special)"""

    def __init__(self, key, title, trust, secure_auth, s2s_tls, xs2s_auth, directions, body, note,
                 xs2s_cert=None):
        self.key, self.title, self.trust, self.secure_auth = key, title, trust, secure_auth
        self.s2s_tls, self.xs2s_auth, self.directions, self.body = s2s_tls, xs2s_auth, directions, body
        self.note, self.xs2s_cert = note, xs2s_cert


def _said(lines, n=2, width=160):
    """The first n distinct lines (without timestamps; debug lines only when
    nothing else matched), shortened, for the table."""
    lines = [ln for ln in lines if not re.search(r'\bdebug\b', ln)] or lines
    out = []
    for ln in lines:
        ln = re.sub(r'^([A-Z][a-z]{2} +\d+ [\d:]+|(\d{4}-\d\d-\d\dT[\d:.]+Z|[\d.]+) [DIWE])\s+', '', ln)
        ln = re.sub(r'\s+', ' ', ln).strip()[:width]
        if ln not in out:
            out.append(ln)
    return ' / '.join(out[:n])


def _bounce_text(m):
    """An xs2sd inbox error message as 'condition: text'."""
    err = m.get('error') or {}
    if isinstance(err, dict):
        cond = err.get('condition') or err.get('type') or ''
        text = err.get('text') or ''
        return f'{cond}: {text}'.strip(': ') or str(m)
    return str(err)


def _nothing_open(ctx, remote, timeout=5):
    """xs2sd keeps no link with remote (open or half-open) once the failure is handled."""
    left = poll(lambda: not [ln for ln in ctx.xs.status().get('links', []) if ln.get('remote') == remote],
                timeout, 0.1)
    check(left, f'xs2sd: links with {remote} still there after the failure: '
          f'{[ln for ln in ctx.xs.status().get("links", []) if ln.get("remote") == remote]}')
    totals = ctx.xs.status().get('totals', {})
    check(totals.get('plain') == 0, f'xs2sd: plaintext links: {totals}')


def _xs2s_bounced(ctx, body, want_condition=None, timeout=15):
    """The bounce of body in xs2sd's inbox (the client must not get body)."""
    def got():
        b = [m for m in ctx.xs.bounces() if body in str(m) or not m.get('body')]
        return b
    bounces = poll(got, timeout, 0.1) or ctx.xs.bounces()
    check(bounces, f'xs2sd: no bounce for {body!r} within {timeout}s; inbox: {ctx.xs.messages}')
    check(not [r for r in ctx.client.received if r[2] == body],
          f'{ctx.srv.title}: the client received {body!r} all the same')
    b = bounces[0]
    check(b.get('from', '').split('/')[0] in (ctx.peer.domain, ctx.peer.user_jid),
          f'xs2sd: bounce from {b.get("from")!r}, want {ctx.peer.user_jid} or {ctx.peer.domain}: {b}')
    if want_condition:
        check(want_condition in str(b), f'xs2sd: bounce without {want_condition}: {b}')
    return b


def _xs2s_log(ctx, regex):
    stamp = r'^(\d{4}-\d\d-\d\dT[\d:.]+Z|[0-9.]+) [DIWE] '  # UTC (xs2sd), or seconds
    return [re.sub(stamp, '', ln) for ln in ctx.xs.log_text().splitlines()
            if not ln.startswith('# ') and re.search(regex, ln)]


def fail_distrusts(ctx):
    """Prosody trusts only a foreign CA, s2s_secure_auth = true: xs2s (with
    a certificate the peer cannot verify) is refused, its message bounced."""
    body = f'{ctx.cell.name} {ctx.run.nonce}'
    ctx.xs.send(common.XS2S_USER, ctx.peer.user_jid, body)
    b = _xs2s_bounced(ctx, body)
    _nothing_open(ctx, ctx.peer.domain)
    why = _xs2s_log(ctx, r'(?i)(stream error|sasl|failure|not-authorized|policy|fail|refus)')
    check(why, 'xs2sd: nothing in its log says why the link failed')
    peer_said = ctx.peer.log_lines(r'(?i)xs2s\.test.*(secure|not.?authori|untrusted|certificate|policy)'
                                   r'|(secure|certificate).*xs2s\.test')
    views = [v for v in ctx.peer.s2s_view() if v.remote == common.XS2S_DOMAIN and v.method != 'none']
    check(not views, f'{ctx.srv.title}: still has an authenticated session with xs2s.test: {views}')
    ctx.cell.xs2s_view = f'bounced ({_bounce_text(b)}); log: {_said(why, 1)}'
    ctx.cell.peer_view = f'refused: {_said(peer_said, 1)}' if peer_said else 'refused (no log line)'


def fail_no_starttls_from(ctx):
    """The peer offers no STARTTLS; xs2sd requires TLS: refused, bounced."""
    body = f'{ctx.cell.name} {ctx.run.nonce}'
    ctx.xs.send(common.XS2S_USER, ctx.peer.user_jid, body)
    b = _xs2s_bounced(ctx, body, 'remote-server-not-found')
    _nothing_open(ctx, ctx.peer.domain)
    why = _xs2s_log(ctx, 'peer offers no STARTTLS and TLS is required')
    check(why, 'xs2sd: its log does not say "peer offers no STARTTLS and TLS is required"')
    peer_said = ctx.peer.log_lines(r'(?i)xs2s\.test.*(stream error|closed|policy|tls)'
                                   r'|(stream error|policy)')
    ctx.cell.xs2s_view = f'bounced ({_bounce_text(b)}); log: {_said(why, 1)}'
    ctx.cell.peer_view = _said(peer_said, 1) or '–'


def fail_no_starttls_to(ctx):
    """The peer cannot do s2s TLS, xs2s requires it: the peer's attempt fails,
    its client gets an error bounce."""
    body = f'{ctx.cell.name} {ctx.run.nonce}'
    ctx.client.send(common.XS2S_USER, body)
    errors = poll(ctx.client.errors, 25, 0.1)
    check(errors, f'{ctx.srv.title}: no error bounce to its client within 25 s '
          f'(received: {ctx.client.received})')
    check(not [m for m in ctx.xs.drain() if m.get('body') == body and m.get('type') != 'error'],
          'xs2sd received the message over a link without TLS')
    _nothing_open(ctx, ctx.peer.domain)
    why = _xs2s_log(ctx, r'(?i)(starttls|tls is required|policy|stream error)')
    ctx.cell.xs2s_view = f'refused: {_said(why, 1)}' if why else 'refused (no log line)'
    ctx.cell.peer_view = f'client got {errors[0][1]}: {errors[0][2]}'


def fail_restarted(ctx):
    """A link xs2s -> peer is up; the peer is stopped and started again; 3
    more messages all arrive over a fresh link."""
    body = f'{ctx.cell.name} {ctx.run.nonce}'
    ctx.xs.send(common.XS2S_USER, ctx.peer.user_jid, body + ' #0')
    ctx.client.wait_body(body + ' #0', common.XS2S_USER,
                         abort=lambda: ctx.xs.bounces() and f'xs2sd bounced it: {ctx.xs.bounces()}')
    first = wait_link(ctx.xs, 'out', ctx.peer.domain)
    ctx.client.stop()
    ctx.problems += ctx.peer.stop()
    t_stop = time.monotonic()
    ctx.peer.start()
    ctx.client = common.XmppClient(ctx.peer.user_jid, ctx.peer.password, (ctx.peer.ip, ctx.peer.c2s_port),
                                   ctx.run.pki.ca, os.path.join(ctx.workdir, 'client2.log')).start()
    ctx.clients.append(ctx.client)
    bodies = [f'{body} #{i}' for i in (1, 2, 3)]
    for b in bodies:
        ctx.xs.send(common.XS2S_USER, ctx.peer.user_jid, b)
    deadline = time.monotonic() + 20
    for b in bodies:
        ctx.client.wait_body(b, common.XS2S_USER, timeout=max(0.5, deadline - time.monotonic()),
                             abort=lambda: ctx.xs.bounces() and f'xs2sd bounced: {ctx.xs.bounces()}')
    secs = time.monotonic() - t_stop
    link = wait_link(ctx.xs, 'out', ctx.peer.domain)
    check(link.get('id') != first.get('id') or link.get('age_s', 1e9) < first.get('age_s', 0),
          f'xs2sd: the outbound link is not fresh: before {first}, after {link}')
    check(link.get('stanzas_out', 0) >= 1 and link.get('transport') == 'starttls',
          f'xs2sd: fresh link not used or not encrypted: {link}')
    old = [ln for ln in ctx.xs.status().get('links', []) if ln.get('id') == first.get('id')
           and first.get('id') is not None and ln is not link and link.get('id') != first.get('id')]
    check(not old, f'xs2sd: the dead link is still listed: {old}')
    ctx.cell.tls_version, ctx.cell.cipher = link.get('tls_version'), common.iana_cipher(link.get('cipher'))
    dead = _xs2s_log(ctx, r'(?i)(stream error|closed|eof|reset|broken)')
    ctx.cell.xs2s_view = (f'3/3 delivered {secs:.1f} s after the restart over a fresh link (id '
                          f'{first.get("id")} → {link.get("id")}, {link.get("auth")}); noticed: '
                          f'{_said(dead, 1, 120) or "–"}')
    pid = getattr(getattr(ctx.peer, 'proc', None), 'pid', None)
    ctx.cell.peer_view = f'stopped and started again (PID {ctx.peer_pid0} → {pid}); its client got 3/3'


def fail_xmppaddr_crash(ctx):
    """Known pitfall (ejabberd 23.01, p1_xmpp 1.6.1): a trusted peer
    certificate with an XmppAddr subjectAltName crashes the stream process
    (badarg in xmpp_stream_pkix:get_cert_domains/1) during SASL EXTERNAL.
    Expected: the message is bounced to xs2s's sender, xs2sd stays up. A
    delivery means the pitfall is gone: the cell fails so it gets updated."""
    body = f'{ctx.cell.name} {ctx.run.nonce}'
    ctx.xs.send(common.XS2S_USER, ctx.peer.user_jid, body)
    delivered = lambda: [r for r in ctx.client.received if r[2] == body]  # noqa: E731
    poll(lambda: delivered() or ctx.xs.bounces(), 15, 0.1)
    check(not delivered(), f'{ctx.srv.title} accepted xs2s\'s XmppAddr certificate and delivered the '
          f'message: the get_cert_domains crash is gone; update the failure mode '
          f'peer-crashes-on-xmppaddr (run.py FAILURES, peers/{ctx.srv.key}.py failure_modes, README)')
    b = _xs2s_bounced(ctx, body, 'remote-server-not-found', timeout=1)
    _nothing_open(ctx, ctx.peer.domain)
    pitfall = r'badarg.*get_cert_domains'
    crash = poll(lambda: ctx.peer.error_reports(pitfall), 3, 0.1)
    other = [r[:200] for r in ctx.peer.error_reports('.')][-3:]
    check(crash, f'{ctx.srv.title}: no [error] report with badarg in get_cert_domains in its log '
          f'(the bounce has another cause?): {other or "no [error] at all"}')
    # These errors are the expected outcome here, not a problem at stop().
    ctx.peer.expected_errors = pitfall
    st = ctx.xs.status()      # xs2sd still answers (and must exit cleanly at stop())
    check(ctx.xs.alive(), 'xs2sd exited after the peer crashed')
    why = _xs2s_log(ctx, r'(?i)(stream|closed|eof|reset|fail|error)')
    ctx.cell.xs2s_view = (f'bounced ({_bounce_text(b)}); log: {_said(why, 1, 120) or "–"}; '
                          f'status answers ({len(st.get("links", []))} links)')
    head = re.sub(r'^.*?\[error\] (<[\d.]+>\S* )?(\*\* )?', '', crash[0].split(' ** Last message', 1)[0])
    m = re.search(r"\{badarg, ?\[\{erlang, ?'\+\+', ?\[(.*?\[\])\]", crash[0])
    ctx.cell.peer_view = (f'[error] {head.strip()}: badarg in erlang:\'++\'({m.group(1) if m else "?"}) '
                          f'from xmpp_stream_pkix:get_cert_domains/1 ({len(crash)} error reports)')


FAILURES = [
    Failure('peer-distrusts-xs2s', 'failure: peer distrusts xs2s (secure auth)', 'foreign', True, True,
            'sasl-external,dialback', ('from-xs2s',), fail_distrusts,
            'the peer trusts only a foreign CA (xs2s\'s certificate untrusted to it) and requires valid '
            'certificates (Prosody: `s2s_secure_auth = true`); xs2sd offers and tries both methods. '
            'Expected: xs2s is refused, the message bounced to its sender, no link left. The same '
            'distrust with `s2s_secure_auth = false` falls back to dialback and delivers: that is the '
            '**STARTTLS + Dialback** row.'),
    Failure('peer-without-starttls', 'failure: peer without STARTTLS (xs2s requires TLS)', 'test', False,
            False, 'sasl-external,dialback', DIRECTIONS, None,
            'the peer has no s2s certificate and neither offers nor uses STARTTLS on s2s (Prosody: '
            'certificate only in `c2s_ssl`, `s2s_require_encryption = false`, `s2s_allow_encryption = '
            'false`); xs2sd requires TLS (default). Expected: xs2s → peer bounced with '
            '`remote-server-not-found` ("peer offers no STARTTLS and TLS is required"); peer → xs2s '
            'refused by xs2s, the peer\'s client gets an error.'),
    Failure('peer-restarted-mid-link', 'failure: peer restarted mid-link', 'test', True, True,
            'sasl-external', ('from-xs2s',), fail_restarted,
            'a link xs2s → peer carries one message; the peer is stopped (by PID) and started again '
            'with the same configuration; xs2s sends 3 more. Expected: all 3 reach the client within '
            '20 s over a fresh outbound link.'),
    Failure('peer-crashes-on-xmppaddr', 'failure: peer crashes on an XmppAddr certificate (known pitfall)',
            'test', True, True, 'sasl-external', ('from-xs2s',), fail_xmppaddr_crash,
            'xs2sd presents a certificate from the test CA (trusted by the peer) with subjectAltName '
            '`dNSName xs2s.test` + `id-on-xmppAddr xs2s.test`; SASL EXTERNAL only. ejabberd 23.01 '
            '(p1_xmpp 1.6.1) crashes the stream process with `badarg` in '
            '`xmpp_stream_pkix:get_cert_domains/1`. Expected: the message is bounced to xs2s\'s sender '
            '(`remote-server-not-found`), no link left, xs2sd keeps answering `status` and exits '
            'cleanly; ejabberd\'s error line is shown. A delivery fails the cell (the pitfall is '
            'gone: update it).',
            xs2s_cert=('xs2s-xmppaddr', 'san=dns:xs2s.test+xmpp:xs2s.test')),
]
FAILURES[1].body = {'from-xs2s': fail_no_starttls_from, 'to-xs2s': fail_no_starttls_to}


class FailureCtx:
    """What a failure body works with; run_cell stops whatever is in it."""

    def __init__(self, run, cell, workdir):
        self.run, self.cell, self.workdir, self.srv = run, cell, workdir, cell.server
        self.peer = self.xs = self.client = None
        self.clients = []
        self.problems = []
        self.peer_pid0 = None


def built_with(build, option):
    """CONFIG_<option>=y in BUILD's .config."""
    try:
        with open(os.path.join(build, '.config')) as f:
            return f'CONFIG_{option}=y' in f.read().split('\n')
    except OSError:
        return False


class Run:
    def __init__(self, build, rundir, servers):
        self.source_build, self.dir = os.path.abspath(build), rundir
        self.build = os.path.join(rundir, 'bin')   # a copy: the build may be remade meanwhile
        self.servers = servers
        self.port = common.PORT
        # lwIP: the plan's addresses on lo, xs2sd's claimed for its TAP device at each start
        # (with its IPv6 twin when lwIP has IPv6, as xs2sd then expects --tap-ip6).
        self.net = netsim.TapNet([common.DNS_IP, common.XS2S_IP] + [s.ip for s in servers],
                                 ipv6=built_with(build, 'XS2S_LWIP_IPV6')) if self.port == 'lwip' else None
        self.pki = None
        self.dns = None
        self.nonce = secrets.token_hex(3)


class Cell:
    def __init__(self, server, method, direction):
        self.server, self.method, self.direction = server, method, direction
        self.failure = isinstance(method, Failure)
        self.name = f'{server.key}-{method.key}-{direction}'
        self.passed = False
        self.unsupported = None         # why the peer cannot do this method, when it failed for that
        self.reason = ''
        self.tls_version = self.cipher = None
        self.xs2s_view = self.peer_view = ''
        self.when = None
        self.secs = 0.0
        self.logs = []                  # (name, path, skip regex) shown on failure

    def direction_title(self):
        if self.direction == 'to-xs2s':
            return f'{self.server.title} → xs2s'
        return f'xs2s → {self.server.title}'


def _timeout(signum, frame):
    raise Fail(f'cell did not finish within {CELL_TIMEOUT_S} s')


def wait_link(xs, direction, remote, timeout=10):
    """xs2s's open link to/from remote in direction, once it is open."""
    links = poll(lambda: xs.links(direction=direction, remote=remote, state='open'), timeout, 0.1)
    check(links, f'xs2sd: no open {direction} link with {remote}: {xs.status().get("links")}')
    return links[0]


def run_failure_cell(run, cell, workdir):
    srv, f = cell.server, cell.method
    ctx = FailureCtx(run, cell, workdir)
    cell.when = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.monotonic()
    try:
        trust = run.pki.ca if f.trust == 'test' else run.pki.foreign_ca
        ctx.peer = srv(run, os.path.join(workdir, srv.key))
        ctx.peer.configure(Setup(trust, f.secure_auth, s2s_tls=f.s2s_tls))
        ctx.peer.start()
        ctx.peer_pid0 = getattr(getattr(ctx.peer, 'proc', None), 'pid', None)
        cert = run.pki.special(*f.xs2s_cert) if f.xs2s_cert else common.XS2S_DOMAIN
        ctx.xs = common.Xs2s(run.build, workdir, run.pki, run.pki.ca, f.xs2s_auth, cert=cert, net=run.net)
        ctx.xs.start()
        ctx.client = common.XmppClient(ctx.peer.user_jid, ctx.peer.password,
                                       (ctx.peer.ip, ctx.peer.c2s_port), run.pki.ca,
                                       os.path.join(workdir, 'client.log')).start()
        ctx.clients.append(ctx.client)
        body = f.body[cell.direction] if isinstance(f.body, dict) else f.body
        body(ctx)
        cell.passed = True
    except Fail as e:
        cell.reason = str(e)
    except Exception as e:  # noqa: BLE001 - report it as this cell's failure
        tb = traceback.extract_tb(e.__traceback__)[-1]
        cell.reason = f'{type(e).__name__}: {e} (at {os.path.basename(tb.filename)}:{tb.lineno})'
    finally:
        signal.alarm(0)
        problems = ctx.problems
        for what, stop in ([('client', c.stop) for c in ctx.clients]
                           + [('xs2sd', lambda: ctx.xs.stop() if ctx.xs else []),
                              (srv.title, lambda: ctx.peer.stop() if ctx.peer else [])]):
            try:
                problems += stop() or []
            except Exception as e:  # noqa: BLE001 - keep stopping the others
                problems.append(f'{what}: stop failed: {e!r}')
    problems = list(dict.fromkeys(problems))
    if problems and cell.passed:
        cell.passed = False
        cell.reason = '; '.join(problems)
    elif problems:
        cell.reason += ' [' + '; '.join(problems) + ']'
    cell.secs = time.monotonic() - t0
    if not cell.passed:
        cell.logs = ([('xs2sd', ctx.xs.log_path, None)] if ctx.xs and ctx.xs.proc else []) + \
            (ctx.peer.logs() if ctx.peer else []) + \
            [(f'client{i or ""}', c.log_path, None) for i, c in enumerate(ctx.clients)]


def run_cell(run, cell, index):
    srv, m = cell.server, cell.method
    workdir = os.path.join(run.dir, f'{index:02d}-{cell.name}')
    os.makedirs(workdir)
    os.chmod(workdir, 0o755)
    if cell.failure:
        return run_failure_cell(run, cell, workdir)
    trust = run.pki.ca if m.trust == 'test' else run.pki.foreign_ca
    peer = xs = client = None
    cell.when = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.monotonic()
    problems = []
    try:
        peer = srv(run, os.path.join(workdir, srv.key))
        peer.configure(Setup(trust, m.secure_auth))
        peer.start()
        xs = common.Xs2s(run.build, workdir, run.pki, trust, m.xs2s_auth, net=run.net)
        xs.start()
        client = common.XmppClient(peer.user_jid, peer.password, (peer.ip, peer.c2s_port),
                                   run.pki.ca, os.path.join(workdir, 'client.log')).start()
        body = f'{cell.name} {run.nonce}'
        if cell.direction == 'to-xs2s':
            client.send(common.XS2S_USER, body)
            msg = xs.wait_body(body, abort=lambda: client.errors() and f'{srv.title} bounced it: {client.errors()}')
            check(msg.get('from', '').split('/')[0] == peer.user_jid,
                  f'xs2sd got the message from {msg.get("from")!r}, want {peer.user_jid}')
            check(msg.get('type') != 'error', f'xs2sd got an error: {msg}')
            link = wait_link(xs, 'in', peer.domain)
            check(link.get('stanzas_in', 0) >= 1, f'xs2sd: inbound link counted no stanza: {link}')
            peer_dir = 'out'
        else:
            xs.send(common.XS2S_USER, peer.user_jid, body)
            client.wait_body(body, common.XS2S_USER,
                             abort=lambda: xs.bounces() and f'xs2sd bounced it: {xs.bounces()}')
            link = wait_link(xs, 'out', peer.domain)
            check(link.get('stanzas_out', 0) >= 1, f'xs2sd: outbound link counted no stanza: {link}')
            peer_dir = 'in'
        cell.tls_version, cell.cipher = link.get('tls_version'), common.iana_cipher(link.get('cipher'))
        cell.xs2s_view = f'{link.get("auth")}, cert {link.get("cert")}'
        check(link.get('transport') == 'starttls' and str(cell.tls_version).startswith('TLSv1.')
              and cell.cipher, f'xs2sd: link not encrypted by STARTTLS: {link}')
        want = m.auth(cell.direction)
        check(link.get('auth') == want and link.get('cert') == m.cert,
              f'xs2sd: link authenticated as {link.get("auth")!r} with cert {link.get("cert")!r}, '
              f'want {want!r} / {m.cert!r}: {link}')
        totals = xs.status().get('totals', {})
        check(totals.get('plain') == 0, f'xs2sd: plaintext links: {totals}')

        views = [v for v in peer.s2s_view() if v.direction == peer_dir and v.remote == common.XS2S_DOMAIN]
        check(views, f'{srv.title}: no {peer_dir} s2s session with {common.XS2S_DOMAIN} in its own view')
        good = [v for v in views if v.method == m.peer_method]
        v = (good or views)[0]
        cell.peer_view = f'{v.method}, cert {v.cert}'
        check(good, f'{srv.title}: its {peer_dir} session with {common.XS2S_DOMAIN} was authenticated '
              f'by {[x.method for x in views]}, want {m.peer_method}: {[x.raw for x in views]}')
        check(v.tls_version == cell.tls_version,
              f'TLS version: xs2s says {cell.tls_version}, {srv.title} says {v.tls_version}')
        check(common.iana_cipher(v.cipher) == cell.cipher,
              f'cipher: xs2s says {link.get("cipher")}, {srv.title} says {v.cipher}')
        cell.passed = True
    except Fail as e:
        cell.reason = str(e)
    except Exception as e:  # noqa: BLE001 - report it as this cell's failure
        tb = traceback.extract_tb(e.__traceback__)[-1]
        cell.reason = f'{type(e).__name__}: {e} (at {os.path.basename(tb.filename)}:{tb.lineno})'
    finally:
        signal.alarm(0)
        # Stop everything, by PID, whatever happened above.
        for what, stop in (('client', lambda: client and client.stop()),
                           ('xs2sd', lambda: xs.stop() if xs else []),
                           (srv.title, lambda: peer.stop() if peer else [])):
            try:
                problems += stop() or []
            except Exception as e:  # noqa: BLE001 - keep stopping the others
                problems.append(f'{what}: stop failed: {e!r}')
    if problems and cell.passed:
        cell.passed = False
        cell.reason = '; '.join(problems)
    elif problems:
        cell.reason += ' [' + '; '.join(problems) + ']'
    cell.secs = time.monotonic() - t0
    if not cell.passed:
        cell.logs = ([('xs2sd', xs.log_path, None)] if xs and xs.proc else []) + \
            (peer.logs() if peer else []) + [('client', os.path.join(workdir, 'client.log'), None)]


def judge_unsupported(cell):
    """A method the peer lists as unsupported: its failure is the expected
    outcome (kept with what was said), a pass means the list is out of date."""
    why = getattr(cell.server, 'unsupported', {}).get(cell.method.key)
    if not why:
        return
    if cell.passed:
        cell.passed = False
        cell.reason = (f'{cell.server.title} is listed as unable to do {cell.method.title}, '
                       f'but the cell passed: update peers/{cell.server.key}.py')
        return
    if 'bounced' not in cell.reason:
        return  # not the refusal of the method (setup or crash): a real failure
    cell.unsupported = why
    cell.peer_view = f'unsupported: {cell.reason}'


def print_cell(cell):
    tls = f'{cell.tls_version} {cell.cipher}' if cell.tls_version else ''
    if cell.unsupported:
        print(f'UNSUPPORTED {cell.name} ({cell.secs:.1f} s): {cell.server.title} cannot do '
              f'{cell.method.title}: {cell.unsupported}; observed: {cell.reason}', flush=True)
        return
    if cell.passed and cell.failure:
        print(f'PASS {cell.name} ({cell.secs:.1f} s): xs2s: {cell.xs2s_view}; '
              f'{cell.server.title}: {cell.peer_view}', flush=True)
        return
    if cell.passed:
        print(f'PASS {cell.name} ({cell.secs:.1f} s): xs2s {cell.xs2s_view}; '
              f'{cell.server.title} {cell.peer_view}; {tls}', flush=True)
        return
    print(f'FAIL {cell.name} ({cell.secs:.1f} s): {cell.reason}', flush=True)
    for name, path, skip in cell.logs:
        try:
            with open(path, errors='replace') as f:
                lines = [ln for ln in f.read().splitlines() if not (skip and re.search(skip, ln))][-TAIL:]
        except OSError:
            continue
        print(f'  --- {name}, last {len(lines)} lines ({path})')
        for ln in lines:
            print('  | ' + ln[:300])


def xs2s_revision():
    try:
        r = subprocess.run(['git', '-C', ROOT, 'rev-parse', '--short', 'HEAD'],
                           capture_output=True, text=True, timeout=5)
        return r.stdout.strip() or 'unknown'
    except (OSError, subprocess.TimeoutExpired):
        return 'unknown'


def os_name():
    try:
        with open('/etc/os-release') as f:
            kv = dict(ln.rstrip('\n').split('=', 1) for ln in f if '=' in ln)
        return kv.get('PRETTY_NAME', '').strip('"') or platform.platform()
    except OSError:
        return platform.platform()


def write_table(path, cells, versions, run):
    now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    title = '# Interoperability' + ('' if run.port == 'posix' else f' ({PORT_TITLE[run.port]})')
    out = [title, '',
           f'Generated by `test/interop/run.py` on {now}: xs2s {xs2s_revision()} '
           f'({os.path.relpath(run.source_build, ROOT)}, **{PORT_TITLE[run.port]}**), {os_name()}, wolfSSL '
           f'{common.pkg_version("libwolfssl35") or common.pkg_version("libwolfssl-dev") or "?"}. '
           'Do not edit by hand. Each port\'s run writes a table of its own '
           '(test/interop/README.md).', '',
           f'Each row is one fresh pair of servers {PORT_WHERE[run.port]}: a real client on the peer '
           'server (slixmpp) sends a message to xs2s or receives one from it, and both sides '
           "report how the s2s link that carried it was authenticated (xs2s: `xs2sctl status "
           "--json`; the peer: its own admin interface). TLS version and cipher as both sides "
           'negotiated them.' + PORT_NOTE[run.port], '',
           '| server | version | method | direction | result | TLS | cipher | xs2s sees | server sees | date |',
           '|---|---|---|---|---|---|---|---|---|---|']
    def cell_text(t):
        return (t or '–').replace('|', '/').replace('<', '&lt;')
    for c in cells:
        if c.failure:
            out.append(f'| {c.server.title} | {versions.get(c.server.key, "?")} | {c.method.title} | '
                       f'{c.direction_title()} | {"pass" if c.passed else "**FAIL**"} | '
                       f'{c.tls_version or "–"} | {c.cipher or "–"} | {cell_text(c.xs2s_view)} | '
                       f'{cell_text(c.peer_view)} | {c.when.strftime("%Y-%m-%d") if c.when else "–"} |')
            continue
        result = 'pass' if c.passed else 'unsupported by peer' if c.unsupported else '**FAIL**'
        out.append(f'| {c.server.title} | {versions.get(c.server.key, "?")} | {c.method.title} | '
                   f'{c.direction_title()} | {result} | '
                   f'{c.tls_version or "–"} | {c.cipher or "–"} | {cell_text(c.xs2s_view)} | '
                   f'{cell_text(c.peer_view)[:300]} | {c.when.strftime("%Y-%m-%d") if c.when else "–"} |')
    fails = [f for f in FAILURES if any(c.method is f for c in cells)]
    if fails:
        out += ['', 'Failure rows (result *pass*: the expected refusal or recovery happened; '
                '"xs2s sees" / "server sees": what each side said):', '']
        out += [f'- **{f.title}**: {f.note}' for f in fails]
    out += ['', 'How each method is forced:', '',
            '- **STARTTLS + Dialback**: `xs2sd --auth dialback`; each side trusts only a CA that '
            'signed neither certificate (both certificates `untrusted`), the peer does not require '
            'valid certificates (Prosody: `s2s_secure_auth = false`). So neither side can offer or '
            'use SASL EXTERNAL, and every key goes through the db:verify round trip to the '
            "sender's authoritative server.",
            '- **STARTTLS + SASL EXTERNAL**: `xs2sd --auth sasl-external`; both sides trust the '
            'test CA, the peer requires valid certificates (Prosody: `s2s_secure_auth = true`).',
            '- **STARTTLS + Dialback, valid certificates**: `xs2sd --auth dialback`, both sides trust '
            "the test CA, the peer does not require valid certificates. xs2s accepts the peer's "
            'db:result without db:verify (XEP-0344: `dialback+cert`); the peer verifies as usual.',
            '- Cipher names as IANA/OpenSSL spell them (xs2sctl prints wolfSSL\'s, e.g. '
            '`TLS13-AES128-GCM-SHA256`); both sides reported the same version and suite.',
            f'- Names resolve through dnsmasq at {common.DNS_IP} (SRV `_xmpp-server._tcp` and A records of '
            'the `.test` zone only); see test/interop/README.md.']
    unsup = {(c.server.title, c.method.title): c.unsupported for c in cells if c.unsupported}
    if unsup:
        out += ['', 'Not supported by the peer (the cell ran; the row shows what was said):', '']
        out += [f'- **{srv}, {meth}**: {why}' for (srv, meth), why in unsup.items()]
    failed = [c for c in cells if not c.passed and not c.unsupported]
    if failed:
        out += ['', 'Failures:', '']
        out += [f'- {c.server.title}, {c.method.title}, {c.direction_title()}: '
                f'{c.reason.replace("|", "/")[:400]}' for c in failed]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        f.write('\n'.join(out) + '\n')


def install(servers, log_path):
    """Install the missing Debian packages of the client side and of each
    server; returns {server key: why} for the servers that cannot run."""
    errors = {}
    for s in servers:
        try:
            for pkg in common.apt_install(CLIENT_PACKAGES + tuple(s.packages), log_path):
                print(f'installed {pkg} {common.pkg_version(pkg)}', flush=True)
        except Fail as e:
            errors[s.key] = str(e)
    return errors


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('build')
    ap.add_argument('--table', help='where to write the generated table (default '
                    'test/interop/out/interop.md, interop-lwip.md for an lwIP build)')
    ap.add_argument('--server', action='append', choices=sorted(SERVERS), help='only these peers')
    ap.add_argument('-k', action='append', default=[], metavar='TEXT',
                    help='only cells whose name (SERVER-METHOD-DIRECTION) contains TEXT (repeatable)')
    ap.add_argument('--keep', action='store_true', help='keep the run directory')
    args = ap.parse_args()
    if os.geteuid() != 0:
        print('run.py needs root (apt-get, the peers\' own users, loopback port 5269)', file=sys.stderr)
        return 2
    # The port is a property of the build: the same cells run on both.
    port = netsim.build_port(args.build)
    servers = [SERVERS[k] for k in (args.server or list(SERVERS))]
    if port == 'lwip':
        # apt-get needs the machine's network: install before leaving it.
        install(servers, os.path.join(tempfile.gettempdir(), 'xs2s-interop-apt.log'))
        netsim.reexec_in_netns()
    common.use_port(port)
    table = args.table or DEFAULT_TABLE[port]
    cells = [Cell(s, m, d) for s in servers for m in METHODS for d in DIRECTIONS]
    cells += [Cell(s, f, d) for s in servers for f in FAILURES for d in f.directions
              if f.key in getattr(s, 'failure_modes', ())]
    cells = [c for c in cells if not args.k or any(k in c.name for k in args.k)]
    if not cells:
        print('no cell matches', file=sys.stderr)
        return 2

    rundir = tempfile.mkdtemp(prefix='xs2s-interop-')
    os.chmod(rundir, 0o755)
    try:
        run = Run(args.build, rundir, servers)
    except Fail as e:
        print(f'run.py: {e}', file=sys.stderr)
        return 2
    t0 = time.monotonic()
    try:
        setup_error = install(servers, os.path.join(rundir, 'apt.log'))
        os.makedirs(run.build)
        for prog in ('xs2sd', 'xs2sctl'):
            src = os.path.join(run.source_build, prog)
            if os.access(src, os.X_OK):
                shutil.copy2(src, run.build)
            else:
                setup_error = {s.key: f'{src} not found or not executable (build it first)' for s in servers}
        versions = {s.key: s.version() for s in servers}
        domains = [common.XS2S_DOMAIN] + [s.domain for s in servers]
        try:
            run.pki = common.Pki(rundir, domains)
            run.dns = common.Dnsmasq(os.path.join(rundir, 'dnsmasq.log'),
                                     {common.XS2S_DOMAIN: common.XS2S_IP,
                                      **{s.domain: s.ip for s in servers}})
            run.dns.start()
        except Fail as e:
            setup_error = {s.key: str(e) for s in servers}
        print(f'interop: {len(cells)} cells, xs2s on the {PORT_TITLE[run.port]}, peers: '
              + ', '.join(f'{s.title} {versions[s.key]}' for s in servers)
              + f'; logs in {rundir}', flush=True)
        signal.signal(signal.SIGALRM, _timeout)
        for i, cell in enumerate(cells, 1):
            if cell.server.key in setup_error:
                cell.reason = f'setup failed: {setup_error[cell.server.key]}'
                print_cell(cell)
                continue
            signal.alarm(CELL_TIMEOUT_S)
            try:
                run_cell(run, cell, i)
            finally:
                signal.alarm(0)
            judge_unsupported(cell)
            print_cell(cell)
    finally:
        if run.dns:
            for p in run.dns.stop():
                print(f'note: {p}')
            asked = sorted(set(run.dns.queries()))
            if asked:
                print(f'dnsmasq was asked: {", ".join(asked)}')
            stray = [q for q in asked if not q.rstrip('.').endswith('.test')]
            if stray:
                print(f'note: names outside .test were asked (and refused by dnsmasq): {stray}')
    write_table(table, cells, versions, run)
    passed = sum(c.passed for c in cells)
    unsupported = sum(bool(c.unsupported) for c in cells)
    failed = len(cells) - passed - unsupported
    print(f'table: {table} ({time.monotonic() - t0:.0f} s in all)')
    if failed or args.keep:
        print(f'logs kept in {rundir}')
    else:
        shutil.rmtree(rundir, ignore_errors=True)
    print(f'{passed} passed, {failed} failed' + (f', {unsupported} skipped' if unsupported else ''))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
