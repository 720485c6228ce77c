# SPDX-License-Identifier: MIT
"""The interop suite's cells: what a cell is (a peer server, a method, a
failure mode or an application check, a direction), the methods, failure
modes and application checks with the checks of each, and how one cell runs. A cell starts a fresh peer server, a fresh
xs2sd (common.Xs2s) and a real client on the peer's side, runs its body
within CELL_TIMEOUT_S (lib.runner) and stops everything by PID, whatever
happened; run.py runs the cells and writes the table (table.py)."""
import datetime
import os
import re
import time

import common
from lib import runner
from lib.tcp import established_to
from lib.dnsmasq import Dnsmasq
from lib.testkit import check, poll
from peers.base import Setup

CELL_TIMEOUT_S = 45


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
    directions  the cells' directions; body(ctx) runs one (see CellCtx)
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
    ctx.new_client('client2.log')
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
          f'peer-crashes-on-xmppaddr (cells.py FAILURES, peers/{ctx.srv.key}.py failure_modes, README)')
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
            'gone: update it). The crash is a lost connection, which xs2s retries before bouncing: '
            'xs2sd runs with `--route-deadline 4` (attempts at 0, 1 and 3 s, then the bounce).',
            xs2s_cert=('xs2s-xmppaddr', 'san=dns:xs2s.test+xmpp:xs2s.test')),
]
FAILURES[1].body = {'from-xs2s': fail_no_starttls_from, 'to-xs2s': fail_no_starttls_to}
# A crashing peer is a lost connection: retried while the deadline allows
# (firmware/route/route.h); a short one keeps the cell within its limit.
FAILURES[3].xs2s_extra = ('--route-deadline', '4')


class AppCheck:
    """An application on xs2s's side with a real user of the peer: the cell
    runs the application for xs2s.test on xs2s's address (instead of xs2sd),
    the peer with the test CA as its only trusted CA and secure auth (so the
    links both ways are STARTTLS + SASL EXTERNAL), and its client; body(ctx)
    is the conversation and its checks. Only servers listing `key` in
    PeerServer.app_checks get these cells.

    start(ctx)  the application, an lib.xs2sd.Xs2sd (stopped by PID with the cell)
    note        for the table: what the row shows"""

    def __init__(self, key, title, directions, start, body, note):
        self.key, self.title, self.directions, self.start, self.body = key, title, directions, start, body
        self.note = note


def _start_bot(ctx):
    """The example bot (BUILD/xs2s-bot) as xs2s.test, bot@xs2s.test; it
    finds the peer through its host map (it has no DNS option)."""
    return common.Bot(ctx.run.build, ctx.workdir, ctx.run.pki, {ctx.peer.domain: ctx.peer.ip}, net=ctx.run.net)


def app_bot(ctx):
    """The peer's user asks the bot for `status` and to `ping` the peer's
    own domain (an XEP-0199 iq request from the bot through the peer); both
    answers reach the user; both s2s links are SASL EXTERNAL over TLS in the
    peer's own view."""
    bot_jid, client = ctx.xs.jid, ctx.client
    t0 = time.monotonic()

    def answer(command, pattern):
        client.send(bot_jid, command)

        def got():
            return [r for r in client.received if r[0] == bot_jid and re.search(pattern, r[2], re.M)] or \
                [r for r in client.received if r[1] == 'error']
        found = poll(got, 20, 0.1)
        check(found, f'{ctx.srv.title}: {client.jid} got no answer to {command!r} from {bot_jid} within 20 s '
              f'(received: {client.received})')
        frm, typ, body = found[0]
        check(typ == 'chat', f'{ctx.srv.title}: {client.jid} got an error for {command!r}: {found[0]}')
        return body

    status = answer('status', r'^links: \d+ in use of \d+')
    check(re.match(rf'{re.escape(bot_jid)} up \d+h\d\dm\d\ds, xs2s ', status) and 'high-water marks' in status,
          f'status answer: {status!r}')
    ping = answer(f'ping {ctx.peer.domain}', rf'^ping {re.escape(ctx.peer.domain)}: ')
    check(re.fullmatch(rf'ping {re.escape(ctx.peer.domain)}: answered in \d+ ms', ping),
          f'the bot\'s ping of {ctx.peer.domain}: {ping!r}')
    secs = time.monotonic() - t0
    views = [v for v in ctx.peer.s2s_view() if v.remote == common.XS2S_DOMAIN]
    for d in ('in', 'out'):
        check([v for v in views if v.direction == d and v.method == 'sasl-external'],
              f'{ctx.srv.title}: no {d} s2s session with {common.XS2S_DOMAIN} authenticated by SASL EXTERNAL in '
              f'its own view: {views}')
    v = [v for v in views if v.direction == 'in'][0]
    ctx.cell.tls_version, ctx.cell.cipher = v.tls_version, common.iana_cipher(v.cipher)
    ctx.cell.xs2s_view = (f'xs2s-bot answered `status` ({status.splitlines()[1]}) and `ping {ctx.peer.domain}` '
                          f'({ping.split(": ", 1)[1]})')
    ctx.cell.peer_view = (f'{client.jid} got both answers in {secs:.1f} s; s2s both ways sasl-external, '
                          f'cert {v.cert}')


APPS = [
    AppCheck('example-bot', 'application: the example bot (C, xs2s-bot) answers a user', ('to-xs2s',),
             _start_bot, app_bot,
             'xs2s.test is the example bot (`xs2s-bot`, port/posix/bot.c: the engine with one message '
             'handler), not xs2sd; the peer trusts the test CA and requires valid certificates. The peer\'s '
             'user (slixmpp) sends `status` and `ping <peer domain>` to `bot@xs2s.test`. Expected: both '
             'answers reach the user (the status with its link and pool lines; the ping answered by the peer '
             'server, with its round trip); the peer\'s s2s sessions with xs2s.test are SASL EXTERNAL over '
             'TLS both ways (TLS columns: the peer\'s view of its incoming session).'),
]


class Feature(Failure):
    """A feature cell: the link set up as a method would (trust, secure_auth,
    xs2s_auth), xs2sd with options of its own (xs2s_args(workdir)), and a
    body that checks what the peer's user sees, both ways ('both'; or the
    directions given, body then a dict by direction). Only servers listing
    `key` in PeerServer.features get it. Shown as the failure rows are (what
    each side saw), with its note. peer_bidi: the peer's Setup.bidi."""

    def __init__(self, key, title, trust, secure_auth, xs2s_auth, xs2s_args, body, note,
                 directions=('both',), peer_bidi=False, same_trust=False):
        super().__init__(key, title, trust, secure_auth, True, xs2s_auth, directions, body, note)
        self.xs2s_args = xs2s_args
        self.peer_bidi, self.same_trust = peer_bidi, same_trust


SENSOR = f'sensor@{common.XS2S_DOMAIN}'


def feature_account_presence(ctx):
    """A device account seen from a real server's user: the user adds
    sensor@xs2s.test to the roster and subscribes (RFC 6121 3.1.1); xs2s
    accepts (allow list: the user's JID), the user's server gets
    `subscribed` (roster: to) and the presence (available); the user chats
    with the account both ways; xs2sd stops (the user sees unavailable,
    4.5.2) and starts again with its subscriptions file (available again)."""
    peer, xs, client, cell = ctx.peer, ctx.xs, ctx.client, ctx.cell
    user = peer.user_jid

    def subs():
        return [r for r in xs.ctl_json('subscriptions').get('subscriptions', []) if r.get('contact') == user]

    client.subscribe(SENSOR)
    check(poll(lambda: subs() and subs()[0].get('state') == 'subscribed', 15, 0.1),
          f'xs2sd: {user} not subscribed to {SENSOR}: {xs.ctl("subscriptions")!r}')
    check(poll(lambda: client.presence_seen(SENSOR, 'subscribed'), 15, 0.1),
          f'{ctx.srv.title}: the user got no subscribed from {SENSOR}: {client.presences}')
    check(poll(lambda: client.presence_seen(SENSOR, 'available'), 15, 0.1),
          f'{ctx.srv.title}: the user does not see {SENSOR} available: {client.presences}')
    check(poll(lambda: client.roster_subscription(SENSOR) == 'to', 10, 0.1),
          f'{ctx.srv.title}: roster subscription to {SENSOR} is {client.roster_subscription(SENSOR)!r}, want to')
    link = wait_link(xs, 'out', peer.domain)
    cell.tls_version, cell.cipher = link.get('tls_version'), common.iana_cipher(link.get('cipher'))

    body = f'{cell.name} to the sensor {ctx.run.nonce}'
    client.send(SENSOR, body)
    msg = xs.wait_body(body, frm=user, abort=lambda: client.errors() and f'{ctx.srv.title} bounced it: '
                       f'{client.errors()}')
    check(msg.get('to', '').split('/')[0] == SENSOR, f'xs2sd: the message went to {msg.get("to")!r}: {msg}')
    reply = f'{cell.name} from the sensor {ctx.run.nonce}'
    xs.send(SENSOR, user, reply)
    client.wait_body(reply, SENSOR, abort=lambda: xs.bounces() and f'xs2sd bounced it: {xs.bounces()}')

    n = len(client.presences)
    problems = xs.stop()
    check(not problems, f'xs2sd: {problems}')
    check(poll(lambda: client.presence_seen(SENSOR, 'unavailable', n), 10, 0.1),
          f'{ctx.srv.title}: the user does not see {SENSOR} unavailable after xs2sd stopped: '
          f'{client.presences[n:]}')
    n = len(client.presences)
    xs.start()
    check(poll(lambda: client.presence_seen(SENSOR, 'available', n), 20, 0.1),
          f'{ctx.srv.title}: {SENSOR} not available again after xs2sd restarted: {client.presences[n:]}')
    check(subs() and subs()[0].get('state') == 'subscribed',
          f'xs2sd: the subscription did not survive the restart: {xs.ctl("subscriptions")!r}')
    cell.xs2s_view = (f'{user} subscribed (allow list), presence sent; chat both ways; '
                      'kept across a restart (subscriptions file)')
    cell.peer_view = (f'roster: {SENSOR} subscription=to; available, unavailable at the stop, '
                      'available after the restart')


def _tcp_connections(a, b):
    """Established s2s TCP connections between xs2s (address a) and the peer
    (address b) in the cell's network namespace: those each one accepted on
    its s2s port (lib.tcp; only these two speak s2s there). The POSIX port
    only (an lwIP xs2sd's connections are in its own stack); None when the
    kernel's table cannot be read."""
    if common.PORT != 'posix':
        return None
    na, nb = established_to(a, common.S2S_PORT), established_to(b, common.S2S_PORT)
    return None if na is None or nb is None else na + nb


def feature_bidi(want_auth, want_links):
    """XEP-0288 with a peer that offers and asks for it (Prosody:
    mod_s2s_bidi): a message each way, the first in the cell's direction.
    want_links: xs2s's links with the peer once settled, each bidi ('1':
    one connection carries both ways)."""
    def body(ctx):
        peer, xs, client, cell = ctx.peer, ctx.xs, ctx.client, ctx.cell
        user = peer.user_jid
        b1, b2 = f'{cell.name} first {ctx.run.nonce}', f'{cell.name} answer {ctx.run.nonce}'
        to_xs2s = cell.direction == 'to-xs2s'
        for b, inbound in ((b1, to_xs2s), (b2, not to_xs2s)):
            if inbound:
                client.send(common.XS2S_USER, b)
                xs.wait_body(b, frm=user, abort=lambda: client.errors() and f'{ctx.srv.title} bounced it: '
                             f'{client.errors()}')
            else:
                xs.send(common.XS2S_USER, user, b)
                client.wait_body(b, common.XS2S_USER,
                                 abort=lambda: xs.bounces() and f'xs2sd bounced it: {xs.bounces()}')

        def settled():
            ls = [ln for ln in xs.status().get('links', []) if ln.get('remote') == peer.domain]
            return ls if len(ls) == want_links and all(ln.get('state') == 'open' for ln in ls) else None
        links = poll(settled, 10, 0.1) or [ln for ln in xs.status().get('links', [])
                                          if ln.get('remote') == peer.domain]
        check(len(links) == want_links, f'xs2sd: {len(links)} links with {peer.domain}, want {want_links}: '
              f'{links}')
        for ln in links:
            check(ln.get('direction') == 'bidi', f'xs2sd: link {ln.get("id")} is not bidirectional: {ln}')
            check(ln.get('transport') == 'starttls', f'xs2sd: link {ln.get("id")} not STARTTLS: {ln}')
        carried = [ln for ln in links if ln.get('stanzas_in', 0) >= 1 and ln.get('stanzas_out', 0) >= 1]
        if want_links == 1:
            check(carried, f'xs2sd: the link did not carry stanzas both ways: {links}')
        else:
            check(sum(ln.get('stanzas_in', 0) for ln in links) >= 1
                  and sum(ln.get('stanzas_out', 0) for ln in links) >= 1, f'xs2sd: stanzas not both ways: {links}')
        link = (carried or links)[0]
        check(link.get('auth') == want_auth, f'xs2sd: auth {link.get("auth")!r}, want {want_auth!r}: {link}')
        totals = xs.status().get('totals', {})
        check(totals.get('plain') == 0, f'xs2sd: plaintext links: {totals}')
        tcp = _tcp_connections(common.XS2S_IP, peer.ip)
        if tcp is not None:
            check(tcp == want_links, f'{tcp} TCP connections between xs2s and {peer.domain}, want {want_links}')
        cell.tls_version, cell.cipher = link.get('tls_version'), common.iana_cipher(link.get('cipher'))
        views = [v for v in peer.s2s_view() if v.remote == common.XS2S_DOMAIN]
        authed = [v for v in views if v.method != 'none']
        check(authed, f'{ctx.srv.title}: no authenticated session with {common.XS2S_DOMAIN}: '
              f'{[v.raw for v in views]}')
        for v in authed:
            check(v.tls_version == cell.tls_version or len(links) > 1,
                  f'TLS version: xs2s says {cell.tls_version}, {ctx.srv.title} says {v.tls_version}')
        cell.xs2s_view = (f'{len(links)} link{"s" if len(links) > 1 else ""} with {peer.domain}, direction bidi: '
                          + ', '.join(f'#{ln.get("id")} {ln.get("auth")} in {ln.get("stanzas_in")} / out '
                                      f'{ln.get("stanzas_out")}' for ln in links)
                          + (f'; {tcp} TCP connection{"s" if tcp > 1 else ""}' if tcp is not None else ''))
        def kv(v, k):
            m = re.search(rf'\b{k}=(\S*)', v.raw)
            return m.group(1) if m else '?'
        cell.peer_view = '; '.join(sorted({f'{v.direction} {v.method} ({kv(v, "type")}, bidi={kv(v, "bidi")})'
                                           for v in authed}))
        check(all(kv(v, 'bidi') == 'true' for v in authed),
              f'{ctx.srv.title}: a session with {common.XS2S_DOMAIN} is not bidirectional: {[v.raw for v in authed]}')
    return body


BIDI_NOTE = ('XEP-0288: the peer loads `mod_s2s_bidi` (Prosody 0.12 offers `<bidi/>` after STARTTLS, before '
             'authentication); xs2sd offers and asks for it by default. A message goes in the row\'s '
             'direction, the answer back; xs2s\'s status must show its links with the peer as `bidi` rows, one '
             'of them carrying stanzas both ways, and (POSIX port) the kernel as many established TCP '
             'connections between the two addresses. ')


LIVE_IDLE_S, LIVE_TIMEOUT_S = 2, 10


def feature_liveness(ctx):
    """XEP-0199 s2s pings (xs2sd --ping-idle 2): xs2s sends a message to the
    peer's user, so its outbound stream is in use; after LIVE_IDLE_S without
    input it pings the peer's domain; the peer answers (Prosody's mod_ping)
    on its own stream to xs2s; xs2s counts the answer, keeps the link (same
    id, still open after more than LIVE_TIMEOUT_S) and declares nobody
    dead; the answer never reaches xs2s's inbox; a second message goes out
    on the same link."""
    peer, xs, client, cell = ctx.peer, ctx.xs, ctx.client, ctx.cell
    user = peer.user_jid
    body = f'{cell.name} before the ping {ctx.run.nonce}'
    xs.send(f'u@{common.XS2S_DOMAIN}', user, body)
    client.wait_body(body, f'u@{common.XS2S_DOMAIN}', abort=lambda: xs.bounces() and f'xs2sd bounced it: '
                     f'{xs.bounces()}')
    link = wait_link(xs, 'out', peer.domain)
    cell.tls_version, cell.cipher = link.get('tls_version'), common.iana_cipher(link.get('cipher'))

    def counters():
        return xs.status().get('counters', {})
    check(poll(lambda: counters().get('pings_answered', 0) >= 2, LIVE_IDLE_S * 2 + LIVE_TIMEOUT_S + 10, 0.2),
          f'xs2sd: the peer did not answer two pings: {counters()}; '
          f'{_said(_xs2s_log(ctx, r"ping|dead"), 4)}')
    c = counters()
    check(c.get('dead_peers') == 0, f'xs2sd: the peer was declared dead: {c}')
    after = xs.links(direction='out', remote=peer.domain, state='open')
    check(after and after[0].get('id') == link.get('id'),
          f'xs2sd: the outbound link did not stay up after the pings (was {link.get("id")}): {xs.status().get("links")}')
    answers = _xs2s_log(ctx, r'answered our ping')
    check(answers, 'xs2sd: no "answered our ping" line in its log')
    check(not [m for m in xs.drain() if 'xs2s-ping' in str(m)], f'xs2sd: a ping answer reached the inbox: {xs.messages}')
    body2 = f'{cell.name} after the pings {ctx.run.nonce}'
    xs.send(f'u@{common.XS2S_DOMAIN}', user, body2)
    client.wait_body(body2, f'u@{common.XS2S_DOMAIN}', abort=lambda: xs.bounces() and f'xs2sd bounced it: '
                     f'{xs.bounces()}')
    check(xs.links(direction='out', remote=peer.domain, state='open')[0].get('id') == link.get('id'),
          'xs2sd: the second message took another link')
    how = re.search(r'answered our ping \((\w+)\)', answers[0])
    cell.xs2s_view = (f'{c.get("pings_sent")} pings sent, {c.get("pings_answered")} answered '
                      f'({how.group(1) if how else "?"}), 0 dead; link {link.get("id")} kept, '
                      'a message before and after')
    cell.peer_view = f'answered each ping on its own stream to {common.XS2S_DOMAIN}; its user got both messages'


def feature_deny_domain(ctx):
    """XEP-0205 policy (xs2sd --deny-domain <the peer's domain>): xs2s's
    message to the peer's user bounces with not-allowed and its reason, no
    link is opened; the peer's attempt to reach xs2s ends with the stream
    error policy-violation (RFC 6120 4.9.3.14), its user gets an error,
    xs2s's inbox gets nothing."""
    peer, xs, client, cell = ctx.peer, ctx.xs, ctx.client, ctx.cell
    body = f'{cell.name} to the denied {ctx.run.nonce}'
    xs.send(common.XS2S_USER, peer.user_jid, body)
    b = _xs2s_bounced(ctx, body, 'not-allowed', timeout=10)
    check(b.get('error_text') == f'{peer.domain} may not federate with this server (on the deny list, XEP-0205)',
          f'xs2sd: the bounce does not say why: {b}')
    _nothing_open(ctx, peer.domain, timeout=1)
    body2 = f'{cell.name} from the denied {ctx.run.nonce}'
    client.send(common.XS2S_USER, body2)
    errors = poll(client.errors, 25, 0.1)
    check(errors, f'{ctx.srv.title}: no error to its client within 25 s (received: {client.received})')
    why = _xs2s_log(ctx, r'may not federate with this server \(on the deny list, XEP-0205\); '
                         r'stream error: policy-violation')
    check(why, 'xs2sd: its log does not say it refused the peer with policy-violation')
    check(not [m for m in xs.drain() if m.get('body') == body2], 'xs2sd delivered a message from a denied domain')
    c = xs.status().get('counters', {})
    check(c.get('policy_denied_out') == 1 and c.get('policy_denied_in', 0) >= 1, f'xs2sd: counters {c}')
    peer_said = peer.log_lines(r'(?i)policy-violation')
    cell.xs2s_view = f'bounced ({b.get("error")}: {b.get("error_text")}); refused: {_said(why, 1)}'
    cell.peer_view = (f'client got {errors[0][1]}: {errors[0][2]}'
                      + (f'; log: {_said(peer_said, 1)}' if peer_said else ''))


def feature_stream_management(ctx):
    """XEP-0198 on both s2s streams with the peer (SASL EXTERNAL both ways):
    a message each way, then xs2s's view (status: `sm` on for its inbound
    and outbound link with the peer, nothing left unacknowledged, `sm_acked`
    counts its stanzas) and the peer's (its s2sin and s2sout sessions with
    xs2s.test have stream management enabled)."""
    peer, xs, client, cell = ctx.peer, ctx.xs, ctx.client, ctx.cell
    user = peer.user_jid
    bodies = [f'{cell.name} to xs2s {i} {ctx.run.nonce}' for i in range(3)]
    for b in bodies:
        client.send(common.XS2S_USER, b)
    for b in bodies:
        xs.wait_body(b, frm=user, abort=lambda: client.errors() and f'{ctx.srv.title} bounced it: {client.errors()}')
    replies = [f'{cell.name} from xs2s {i} {ctx.run.nonce}' for i in range(3)]
    for r in replies:
        xs.send(common.XS2S_USER, user, r)
    for r in replies:
        client.wait_body(r, common.XS2S_USER, abort=lambda: xs.bounces() and f'xs2sd bounced it: {xs.bounces()}')
    lin, lout = wait_link(xs, 'in', peer.domain), wait_link(xs, 'out', peer.domain)
    cell.tls_version, cell.cipher = lout.get('tls_version'), common.iana_cipher(lout.get('cipher'))
    check(lin.get('sm') == 'on', f'xs2sd: inbound link from {peer.domain} without stream management: {lin}')
    check(lout.get('sm') == 'on', f'xs2sd: outbound link to {peer.domain} without stream management: {lout}')
    acked = poll(lambda: all(ln.get('unacked') == 0 for ln in xs.links(direction='out', remote=peer.domain))
                 and xs.status().get('counters', {}).get('sm_acked', 0) >= len(replies), 10, 0.1)
    st = xs.status()
    check(acked, f'xs2sd: stanzas to {peer.domain} not acknowledged: {st.get("links")} {st.get("counters")}')
    views = [v for v in peer.s2s_view() if v.remote == common.XS2S_DOMAIN]
    sm = {v.direction: re.search(r'smacks=(\S+)', v.raw or '').group(1) if re.search(r'smacks=(\S+)', v.raw or '')
          else None for v in views}
    check(sm.get('in') == 'urn:xmpp:sm:3' and sm.get('out') == 'urn:xmpp:sm:3',
          f'{ctx.srv.title}: stream management on its sessions with {common.XS2S_DOMAIN}: {sm} '
          f'({[v.raw for v in views]})')
    cell.xs2s_view = (f'sm on in and out, {st["counters"].get("sm_acked")} acked, unacked 0; '
                      f'auth {lin.get("auth")}/{lout.get("auth")}')
    cell.peer_view = f'smacks {sm.get("in")} on s2sin and s2sout'


FEATURES = [
    Feature('bidi-sasl-external', 'bidirectional (XEP-0288), STARTTLS + SASL EXTERNAL', 'test', True,
            'sasl-external', lambda workdir: [],
            {'to-xs2s': feature_bidi('sasl-external', 1), 'from-xs2s': feature_bidi('sasl-external', 1)},
            BIDI_NOTE + 'SASL EXTERNAL (both sides trust the test CA, the peer requires valid certificates): '
            'one TCP connection carries both directions (XEP-0288 2.2: the receiving side sends from the '
            'stream\'s `to`, the initiator checked its certificate).',
            directions=DIRECTIONS, peer_bidi=True, same_trust=True),
    Feature('bidi-dialback-cert', 'bidirectional (XEP-0288), STARTTLS + Dialback, valid certificates', 'test',
            False, 'dialback', lambda workdir: [],
            {'to-xs2s': feature_bidi('dialback+cert', 1), 'from-xs2s': feature_bidi('dialback', 2)},
            BIDI_NOTE + 'Dialback with valid certificates: the peer\'s db:result to xs2s is accepted on its '
            'certificate (XEP-0344), so one connection; xs2s\'s db:result to Prosody is verified by Prosody '
            '0.12 (no XEP-0344) over a connection of its own to xs2s (XEP-0288 2.2: never on the stream that '
            'asked), negotiated bidirectional too, and Prosody sends its answer on that one: two connections, '
            'both `bidi`, each carrying one direction.',
            directions=DIRECTIONS, peer_bidi=True, same_trust=True),
    Feature('bidi-dialback', 'bidirectional (XEP-0288), STARTTLS + Dialback', 'foreign', False,
            'dialback', lambda workdir: [],
            {'to-xs2s': feature_bidi('dialback', 1), 'from-xs2s': feature_bidi('dialback', 2)},
            BIDI_NOTE + 'Dialback with untrusted certificates: every key goes through db:verify. Peer → xs2s: '
            'xs2s verifies on a connection opened for the db:verify alone (XEP-0288 2.2), closed once '
            'answered: one connection left. xs2s → peer: Prosody verifies over a connection of its own, '
            'negotiated bidirectional too, and answers on that one: two connections, both `bidi`.',
            directions=DIRECTIONS, peer_bidi=True, same_trust=True),
    Feature('deny-domain', 'policy: the peer\'s domain on the deny list (XEP-0205)', 'test', True,
            'sasl-external', lambda workdir: ['--deny-domain', '{domain}'], feature_deny_domain,
            'xs2sd `--deny-domain` the peer\'s domain; STARTTLS + SASL EXTERNAL otherwise. xs2s\'s message to '
            'the peer\'s user bounces with `not-allowed` (RFC 6120 8.3.3.10) and its reason, without a link; '
            'the peer\'s stream to xs2s ends with `policy-violation` (RFC 6120 4.9.3.14) and its user gets an '
            'error; counters `policy_denied_out` and `policy_denied_in`.'),
    Feature('liveness', 'liveness: XEP-0199 s2s pings answered, the link stays', 'test', True, 'sasl-external',
            lambda workdir: ['--ping-idle', str(LIVE_IDLE_S), '--ping-timeout', str(LIVE_TIMEOUT_S)],
            feature_liveness,
            f'xs2sd `--ping-idle {LIVE_IDLE_S} --ping-timeout {LIVE_TIMEOUT_S}`; STARTTLS + SASL EXTERNAL. '
            'xs2s sends a message to the peer\'s user (its outbound stream is in use), then pings the peer\'s '
            'domain after each 2 s without input (XEP-0199 4.3); the peer answers on its own stream to xs2s; '
            'xs2s counts two answers (`pings_answered`), declares nobody dead, keeps the same link and sends a '
            'second message on it.'),
    Feature('stream-management', 'Stream management (XEP-0198)', 'test', True, 'sasl-external',
            lambda workdir: [], feature_stream_management,
            'STARTTLS + SASL EXTERNAL both ways; the peer runs mod_smacks with `smacks_enabled_s2s = true`. '
            'Three messages each way; xs2s\'s status shows `sm` `on` for its inbound and outbound link with '
            'the peer, nothing unacknowledged and its stanzas counted in `sm_acked` (the peer answered its '
            '`<r/>`); the peer\'s admin shell shows `smacks = urn:xmpp:sm:3` on its s2sin and s2sout sessions '
            'with xs2s.test (Prosody offers `<sm/>` only after authentication, so only on streams '
            'authenticated by SASL EXTERNAL, which restart: on a dialback stream it is never offered).'),
    Feature('account-presence', 'device account: roster subscription, presence, chat', 'test', True,
            'sasl-external',
            lambda workdir: ['--account', SENSOR, '--subscription-policy', 'allow-list',
                             '--allow-subscriber', '{user}', '--subscriptions-file',
                             os.path.join(workdir, 'subscriptions')],
            feature_account_presence,
            'xs2sd declares `sensor@xs2s.test` (`--account`, `--subscription-policy allow-list`, '
            '`--allow-subscriber` the peer\'s user, `--subscriptions-file`); STARTTLS + SASL EXTERNAL. '
            'The peer\'s user (slixmpp) adds it to the roster and subscribes: xs2s answers `subscribed` '
            'and its presence (RFC 6121 3.1.5), the user\'s roster says `to` and shows it available; a '
            'message each way; xs2sd stops (unavailable to the subscriber, 4.5.2) and starts again '
            '(available again, from the subscriptions file).'),
]


class DirectTls(Failure):
    """XEP-0368 direct TLS cells: a method over a link that starts with
    TLS (trust, secure_auth, xs2s_auth as for a Method; auth_ok: what xs2s's
    link may show; peer_method: the peer's view; xs2s always trusts the test
    CA). The cell has a dnsmasq of its own (common.DIRECT_DNS_PORT) whose zone
    adds _xmpps-server._tcp SRV records at the same priority as the
    _xmpp-server ones for both domains, pointing at common.DIRECT_TLS_PORT;
    xs2sd gets --listen-tls and that resolver, the peer a direct TLS s2s port
    and that resolver. Servers list their directions in
    PeerServer.direct_tls_directions."""

    def __init__(self, key, title, trust, secure_auth, xs2s_auth, auth_ok, peer_method, note):
        super().__init__(key, title, trust, secure_auth, True, xs2s_auth, DIRECTIONS, direct_tls_body, note)
        self.auth_ok, self.peer_method = auth_ok, peer_method
        self.setup_extra = {'direct_tls': True, 'dns_port': common.DIRECT_DNS_PORT}

    @staticmethod
    def xs2s_args(workdir):
        return ['--listen-tls', f'{common.XS2S_IP}:{common.DIRECT_TLS_PORT}',
                '--dns-server', f'{common.DNS_IP}:{common.DIRECT_DNS_PORT}']

    @staticmethod
    def prepare(ctx):
        """The cell's own dnsmasq, before anything resolves."""
        # xs2s.test's records are read by the peer: direct TLS at a better
        # priority, since a peer that merges both services by RFC 2782 (as
        # ejabberd's p1_xmpp does) picks at random among equal priorities.
        # The peer's records are read by xs2s: the same priority, where xs2s
        # prefers direct TLS (XEP-0368 3 rule 1).
        peer = ctx.peer.domain
        srv = [(f'_xmpp-server._tcp.{common.XS2S_DOMAIN}', common.XS2S_DOMAIN, common.S2S_PORT, 10, 5),
               (f'_xmpps-server._tcp.{common.XS2S_DOMAIN}', common.XS2S_DOMAIN, common.DIRECT_TLS_PORT, 0, 5),
               (f'_xmpp-server._tcp.{peer}', peer, common.S2S_PORT, 0, 5),
               (f'_xmpps-server._tcp.{peer}', peer, common.DIRECT_TLS_PORT, 0, 5)]
        ctx.dns = Dnsmasq(common.DNS_IP, common.DIRECT_DNS_PORT, os.path.join(ctx.workdir, 'dnsmasq.log'),
                          hosts={common.XS2S_DOMAIN: common.XS2S_IP, ctx.peer.domain: ctx.peer.ip},
                          srv=srv, probe=(common.XS2S_DOMAIN, 'A'))
        ctx.dns.start()


def direct_tls_body(ctx):
    """One message in the cell's direction over a direct TLS link: xs2s's
    link says transport directtls (TLS version, cipher, SASL EXTERNAL on a
    valid certificate), the peer's own view shows the session encrypted with
    the same version and suite and authenticated the same way, and the
    connecting side asked for _xmpps-server first."""
    run, cell, srv = ctx.run, ctx.cell, ctx.srv
    peer, xs, client = ctx.peer, ctx.xs, ctx.client
    body = f'{cell.name} {run.nonce}'
    if cell.direction == 'to-xs2s':
        client.send(common.XS2S_USER, body)
        xs.wait_body(body, abort=lambda: client.errors() and f'{srv.title} bounced it: {client.errors()}')
        link = wait_link(xs, 'in', peer.domain)
        peer_dir, target = 'out', common.XS2S_DOMAIN
    else:
        xs.send(common.XS2S_USER, peer.user_jid, body)
        client.wait_body(body, common.XS2S_USER,
                         abort=lambda: xs.bounces() and f'xs2sd bounced it: {xs.bounces()}')
        link = wait_link(xs, 'out', peer.domain)
        peer_dir, target = 'in', peer.domain
    cell.tls_version, cell.cipher = link.get('tls_version'), common.iana_cipher(link.get('cipher'))
    alpn = link.get('alpn') or 'none'
    cell.xs2s_view = f'{link.get("transport")}, ALPN {alpn}, {link.get("auth")}, cert {link.get("cert")}'
    check(link.get('transport') == 'directtls' and str(cell.tls_version).startswith('TLSv1.') and cell.cipher,
          f'xs2sd: the link is not direct TLS: {link}')
    check(link.get('auth') in cell.method.auth_ok and link.get('cert') == 'valid',
          f'xs2sd: want {cell.method.auth_ok} on a valid certificate: {link}')
    starttls = [ln for ln in xs.status().get('links', []) if ln.get('transport') == 'starttls']
    check(not starttls, f'xs2sd: STARTTLS links besides the direct TLS one: {starttls}')
    check(('SRV', f'_xmpps-server._tcp.{target}') in ctx.dns.queries(),
          f'nobody asked for _xmpps-server._tcp.{target}: {ctx.dns.queries()}')
    views = [v for v in peer.s2s_view() if v.direction == peer_dir and v.remote == common.XS2S_DOMAIN]
    check(views, f'{srv.title}: no {peer_dir} s2s session with {common.XS2S_DOMAIN} in its own view')
    v = ([x for x in views if x.tls_version] or views)[0]
    cell.peer_view = f'{v.method}, {v.tls_version or "no TLS"}, cert {v.cert}'
    check(v.tls_version == cell.tls_version and common.iana_cipher(v.cipher) == cell.cipher,
          f'{srv.title} sees {v.tls_version} {v.cipher}, xs2s {cell.tls_version} {link.get("cipher")}: {v.raw}')
    check(v.method == cell.method.peer_method,
          f'{srv.title}: its session was authenticated by {v.method}, want {cell.method.peer_method}: {v.raw}')


_DIRECT_TLS_NOTE = (
    'the cell\'s own dnsmasq adds `_xmpps-server._tcp` SRV records (port 5270) for both domains: the peer\'s at '
    'the same priority as its `_xmpp-server` record (xs2s prefers direct TLS then), xs2s.test\'s at a better '
    'one (ejabberd orders equal priorities at random); xs2sd runs with `--listen-tls` on 5270 and `--auth sasl-external`, '
    'the peer with a direct TLS s2s port on 5270 (Prosody: `s2s_direct_tls_ports`) and valid certificates '
    'required. Each side connects to the other\'s direct TLS port first (TLS from the first byte, SNI, '
    'xs2s sends ALPN `xmpp-server`); "xs2s sees" gives the transport and the ALPN agreed (Prosody 0.12 '
    'sends `xmpp-server` when it connects and agrees none on its own direct TLS port), "server sees" the '
    'peer\'s own view of the session.')
DIRECT_TLS = DirectTls('direct-tls', 'Direct TLS (XEP-0368) + SASL EXTERNAL', 'test', True, 'sasl-external',
                       ('sasl-external',), 'sasl-external', _DIRECT_TLS_NOTE)
# The same over dialback: the peer trusts only a foreign CA (xs2s's
# certificate untrusted there: db:verify round trip), xs2s trusts the test
# CA (the peer's db:result accepted on its valid certificate, XEP-0344).
DIRECT_TLS_DB = DirectTls('direct-tls-dialback', 'Direct TLS (XEP-0368) + Dialback', 'foreign', False, 'dialback',
                          ('dialback', 'dialback+cert'), 'dialback', _DIRECT_TLS_NOTE.replace(
                              '`--auth sasl-external`, the peer with a direct TLS s2s port on 5270 (Prosody: '
                              '`s2s_direct_tls_ports`) and valid certificates required',
                              '`--auth dialback`, the peer with a direct TLS s2s port on 5270 (ejabberd: an '
                              '`ejabberd_s2s_in` listener with `tls: true`) trusting only a foreign CA').replace(
                              'Prosody 0.12 sends `xmpp-server` when it connects and agrees none on its own direct TLS '
                              'port', 'ejabberd 23.01 sends `xmpp-server` when it connects and agrees none on its '
                              'direct TLS listener'))
DIRECT_TLS_CELLS = (DIRECT_TLS, DIRECT_TLS_DB)


class CellCtx:
    """What a cell's body works with; run_cell stops whatever is in it."""

    def __init__(self, run, cell, workdir):
        self.run, self.cell, self.workdir, self.srv = run, cell, workdir, cell.server
        self.peer = self.xs = self.client = self.dns = None
        self.clients = []
        self.problems = []
        self.peer_pid0 = None

    def start(self):
        """The cell's peer server, xs2sd and client. A method forces the same
        trust on both sides; a failure mode sets up the peer as it says, and
        xs2sd always trusts the test CA (with a special certificate if the
        mode has one); an application cell runs its application instead of
        xs2sd, with the test CA and secure auth on the peer."""
        run, cell, srv, how = self.run, self.cell, self.srv, self.cell.method
        self.peer = srv(run, os.path.join(self.workdir, srv.key))
        if cell.app:
            self.peer.configure(Setup(run.pki.ca, True))
            self.peer.start()
            self.xs = how.start(self)
            self.xs.start()
            self.new_client('client.log')
            return
        trust = run.pki.ca if how.trust == 'test' else run.pki.foreign_ca
        if cell.failure:
            if hasattr(how, 'prepare'):
                how.prepare(self)
            self.peer.configure(Setup(trust, how.secure_auth, s2s_tls=how.s2s_tls,
                                      bidi=getattr(how, 'peer_bidi', False),
                                      smacks=how.key == 'stream-management', **getattr(how, 'setup_extra', {})))
        else:
            self.peer.configure(Setup(trust, how.secure_auth))
        self.peer.start()
        self.peer_pid0 = getattr(getattr(self.peer, 'proc', None), 'pid', None)
        cert = run.pki.special(*how.xs2s_cert) if cell.failure and how.xs2s_cert else common.XS2S_DOMAIN
        extra = [a.format(user=self.peer.user_jid, domain=self.peer.domain) for a in how.xs2s_args(self.workdir)] \
            if isinstance(how, (Feature, DirectTls)) else list(getattr(how, 'xs2s_extra', ()))
        # A failure mode's xs2sd trusts the test CA; a feature may ask for the method's trust on both sides.
        xs_trust = trust if getattr(how, 'same_trust', False) or not cell.failure else run.pki.ca
        self.xs = common.Xs2s(run.build, self.workdir, run.pki, xs_trust,
                              how.xs2s_auth, cert=cert, net=run.net, extra=extra)
        self.xs.start()
        self.new_client('client.log')

    def new_client(self, log_name):
        """A client logged in to the peer (the cell's client from now on)."""
        self.client = common.XmppClient(self.peer.user_jid, self.peer.password,
                                        (self.peer.ip, self.peer.c2s_port), self.run.pki.ca,
                                        os.path.join(self.workdir, log_name))
        self.clients.append(self.client)
        return self.client.start()

    def stop(self):
        """Stop clients, xs2sd and the peer, by PID; the problems found."""
        problems = self.problems
        for what, stop in ([('client', c.stop) for c in self.clients]
                           + [('xs2sd', lambda: self.xs.stop() if self.xs else []),
                              (self.srv.title, lambda: self.peer.stop() if self.peer else []),
                              ('dnsmasq', lambda: self.dns.stop() if self.dns else [])]):
            try:
                problems += stop() or []
            except Exception as e:  # noqa: BLE001 - keep stopping the others
                problems.append(f'{what}: stop failed: {e!r}')
        return list(dict.fromkeys(problems))


class Cell:
    def __init__(self, server, method, direction):
        self.server, self.method, self.direction = server, method, direction
        self.failure = isinstance(method, Failure)
        self.app = isinstance(method, AppCheck)
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
        if self.direction == 'both':
            return f'{self.server.title} ↔ xs2s'
        if self.direction == 'to-xs2s':
            return f'{self.server.title} → xs2s'
        return f'xs2s → {self.server.title}'


def wait_link(xs, direction, remote, timeout=10):
    """xs2s's open link to/from remote in direction, once it is open."""
    links = poll(lambda: xs.links(direction=direction, remote=remote, state='open'), timeout, 0.1)
    check(links, f'xs2sd: no open {direction} link with {remote}: {xs.status().get("links")}')
    return links[0]


def method_body(ctx):
    """A method cell: one message in the cell's direction, then both sides'
    view of the link that carried it."""
    run, cell, srv, m = ctx.run, ctx.cell, ctx.srv, ctx.cell.method
    peer, xs, client = ctx.peer, ctx.xs, ctx.client
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


def _cell_body(ctx):
    ctx.start()
    how = ctx.cell.method
    if ctx.cell.app:
        how.body(ctx)
    elif not ctx.cell.failure:
        method_body(ctx)
    elif isinstance(how.body, dict):
        how.body[ctx.cell.direction](ctx)
    else:
        how.body(ctx)


def run_cell(run, cell, index):
    """Run one cell (its own directory, RUNDIR/NN-NAME); sets its result,
    reason, time and, when it failed, the logs to show."""
    workdir = os.path.join(run.dir, f'{index:02d}-{cell.name}')
    os.makedirs(workdir)
    os.chmod(workdir, 0o755)
    ctx = CellCtx(run, cell, workdir)
    cell.when = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.monotonic()
    try:
        result, why = runner.attempt(_cell_body, ctx, limit=CELL_TIMEOUT_S, what='cell')
    finally:
        problems = ctx.stop()
    cell.passed = result == runner.PASS
    cell.reason = why or ''
    if problems and cell.passed:
        cell.passed = False
        cell.reason = '; '.join(problems)
    elif problems:
        cell.reason += ' [' + '; '.join(problems) + ']'
    cell.secs = time.monotonic() - t0
    if not cell.passed:
        cell.logs = ([(ctx.xs.name, ctx.xs.log_path, None)] if ctx.xs and ctx.xs.proc else []) + \
            (ctx.peer.logs() if ctx.peer else []) + \
            [(f'client{i or ""}', c.log_path, None) for i, c in enumerate(ctx.clients)]


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
