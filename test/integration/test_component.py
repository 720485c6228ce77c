# SPDX-License-Identifier: MIT
"""XEP-0114 components: a raw component (a socket doing the SHA-1
handshake) serves bot.b.test on b.test's xs2sd and exchanges messages with
a second xs2sd (a.test) both ways and with b.test's own users; the
handshake's errors; a component that is not connected; the configuration
file's keys."""
import hashlib
import os
import secrets

import s2speer
from harness import Daemon, Fail, check, expect_stream_error, poll

NS_COMP = 'jabber:component:accept'
COMP_PORT = 5347
BOT = 'bot.b.test'


def _comp_header(name):
    return (f"<?xml version='1.0'?><stream:stream xmlns='{NS_COMP}' "
            f"xmlns:stream='{s2speer.NS_STREAM}' to='{name}'>")


def _start_pair(t, components):
    """b.test serving components {name: secret} on its address:5347, and
    a.test, which finds both b.test and bot.b.test at b's address."""
    ip_a, ip_b = t.ip(), t.ip()
    b = t.daemon('b.test', ip=ip_b, host_map={'a.test': ip_a}, components=components,
                 component_listen=f'{ip_b}:{COMP_PORT}')
    a = t.daemon('a.test', ip=ip_a, host_map={'b.test': ip_b, BOT: ip_b})
    return a, b


def _component(t, d, name, secret):
    """A raw component connected to d's component listener as name, its
    handshake sent (XEP-0114 3: hex SHA-1 of the stream id and the secret)."""
    s = t.raw_connect((d.ip, COMP_PORT), f'component {name}')
    s.send(_comp_header(name))
    h = s.read_header()
    check(h.attrs.get('from') == name and h.attrs.get('id'),
          f'{d.name}: component header without from={name} and an id: {h.raw}')
    s.send(f"<handshake>{hashlib.sha1((h.attrs['id'] + secret).encode()).hexdigest()}</handshake>")
    return s


def _component_up(t, d, name, secret):
    s = _component(t, d, name, secret)
    it = s.read_element(10)
    check(it.is_(NS_COMP, 'handshake') and not it.text,
          f'{d.name}: the handshake of {name} got {it.raw}, want <handshake/>')
    return s


def _comp_message(s, pred, what, timeout=15):
    """The next message on component stream s with pred(item) (ns jabber:component:accept)."""
    try:
        return s.wait_for(lambda i: i.is_(NS_COMP, 'message') and pred(i), timeout)
    except s2speer.PeerError as e:
        raise Fail(f'{s.label}: {what} not received: {e}')


def _body(item):
    b = item.child(NS_COMP, 'body')
    return (b.text or '') if b is not None else None


def _no_secret_logged(d, *secrets_):
    lines = [ln for ln in d.log_text().splitlines() if not ln.startswith('# ')
             and any(x in ln for x in secrets_)]
    check(not lines, f'{d.name}: a component secret is in its log: {lines[:2]}')
    argv = [ln for ln in d.log_text().splitlines() if ln.startswith('# ')]
    check(argv and all(x not in ln for ln in argv for x in secrets_),
          f'{d.name}: the logged command line shows a component secret')


def test_component_messages_both_ways(t):
    """a.test's user and the component exchange messages both ways: a.test
    reaches bot.b.test at b's address (its stream to bot.b.test is
    authenticated by SASL EXTERNAL with a.test's certificate); the answer
    leaves b on a stream from bot.b.test, authenticated by dialback because
    b's certificate does not name bot.b.test (a.test verifies the key with
    b, bot.b.test's authoritative server). The component also talks with
    b.test's own users (the inbox, xs2sctl send)."""
    secret = secrets.token_hex(12)
    a, b = _start_pair(t, {BOT: secret})
    k = _component_up(t, b, BOT, secret)

    ab = f'alice to the bot {t.nonce}'
    a.send('alice@a.test', f'echo@{BOT}', ab)
    m = _comp_message(k, lambda i: _body(i) == ab, f'message {ab!r}')
    check(m.attrs.get('from', '').split('/')[0] == 'alice@a.test' and m.attrs.get('to') == f'echo@{BOT}',
          f'component got the message wrongly addressed: {m.raw}')

    ba = f'the bot to alice {t.nonce}'
    k.send(f"<message from='echo@{BOT}/r' to='alice@a.test' type='chat' id='r1'><body>{ba}</body></message>")
    a.wait_body(ba, 15, frm=f'echo@{BOT}', abort=lambda: b.bounces() and f'b bounced: {b.bounces()}')

    local = f'the bot to b.test user {t.nonce}'
    k.send(f"<message from='echo@{BOT}' to='u@b.test' type='chat'><body>{local}</body></message>")
    b.wait_body(local, 10, frm=f'echo@{BOT}')
    app = f'b.test user to the bot {t.nonce}'
    b.send('u@b.test', f'echo@{BOT}', app)
    _comp_message(k, lambda i: _body(i) == app and i.attrs.get('from') == 'u@b.test', f'message {app!r}')

    st = b.status()
    comp = [ln for ln in st.get('links', []) if ln.get('direction') == 'comp']
    check(len(comp) == 1 and comp[0].get('remote') == BOT and comp[0].get('state') == 'open'
          and comp[0].get('auth') == 'handshake' and comp[0].get('stanzas_in', 0) >= 2
          and comp[0].get('stanzas_out', 0) >= 2,
          f'b.test: want one open comp link for {BOT} authenticated by handshake: {st.get("links")}')
    pool = st.get('pools', {}).get('components', {})
    check(pool.get('used') == 1 and pool.get('size', 0) >= 1 and pool.get('fails') == 0,
          f'b.test: pool components {pool}')
    out = [ln for ln in st['links'] if ln.get('direction') == 'out' and ln.get('local') == BOT
           and ln.get('remote') == 'a.test' and ln.get('state') == 'open']
    check(out and out[0].get('auth') == 'dialback' and out[0].get('transport') == 'starttls',
          f'b.test: want an open starttls link from {BOT} to a.test authenticated by dialback: {st["links"]}')
    pairs = [p for ln in a.status().get('links', []) if ln.get('direction') == 'in'
             for p in ln.get('pairs', []) if p.get('remote') == BOT]
    check(pairs and pairs[0].get('state') == 'valid' and pairs[0].get('auth') == 'dialback',
          f'a.test: want a valid inbound pair from {BOT} by dialback: {pairs}')
    check(b.find_log(f'component {BOT}: our certificate does not name it'),
          'b.test: its log does not say that dialback authenticates the component domain')
    _no_secret_logged(b, secret)


def test_component_handshake_errors(t):
    """A wrong secret (not-authorized), a name not configured (host-unknown)
    and a second connection for a connected name (conflict: the new one is
    refused): each closes that connection with its stream error and a log
    line; the connected component keeps working."""
    secret, other = secrets.token_hex(12), secrets.token_hex(12)
    _, b = _start_pair(t, {BOT: secret, 'bot2.b.test': other})

    s = _component(t, b, BOT, other)
    expect_stream_error(s, 'not-authorized')
    b.wait_log(rf'component {BOT}: wrong secret .*stream error: not-authorized', 5)

    s = t.raw_connect((b.ip, COMP_PORT), 'component nope.b.test')
    s.send(_comp_header('nope.b.test'))
    check(s.read_header().attrs.get('from') == 'nope.b.test', 'no header before the stream error')
    expect_stream_error(s, 'host-unknown')
    b.wait_log(r'component nope\.b\.test is not configured here; stream error: host-unknown', 5)

    k = _component_up(t, b, BOT, secret)
    s = _component(t, b, BOT, secret)
    expect_stream_error(s, 'conflict')
    b.wait_log(rf'component {BOT} is already connected .*stream error: conflict', 5)

    body = f'still connected {t.nonce}'
    k.send(f"<message from='echo@{BOT}' to='u@b.test'><body>{body}</body></message>")
    b.wait_body(body, 10, frm=f'echo@{BOT}')
    pool = poll(lambda: b.status().get('pools', {}).get('components', {}).get('fails') == 3 and
                b.status()['pools']['components'], 5, 0.1)
    check(pool and pool.get('used') == 1, f'b.test: pool components {b.status().get("pools", {}).get("components")}'
          ' (want used 1, fails 3)')
    check(b.alive(), f'b.test died (status {b.proc.poll()})')
    _no_secret_logged(b, secret, other)


def test_component_not_connected_bounced(t):
    """A message for a component that is not connected comes back to its
    sender on a.test as service-unavailable (RFC 6120 8.3.3.19), from the
    component's address, over a stream from bot.b.test."""
    secret = secrets.token_hex(12)
    a, b = _start_pair(t, {BOT: secret})
    body = f'anyone there? {t.nonce}'
    a.send('alice@a.test', f'echo@{BOT}', body)
    m = a.wait_message(lambda x: x.get('type') == 'error' and x.get('from', '').startswith(f'echo@{BOT}'), 15,
                       'the service-unavailable bounce')
    check(m.get('error') == 'service-unavailable' and m.get('to', '').split('/')[0] == 'alice@a.test',
          f'a.test: want a service-unavailable error for alice: {m}')
    b.wait_log(rf'component {BOT} is not connected: stanza from a\.test bounced \(service-unavailable\)', 5)


def test_component_config_file(t):
    """The configuration file's component and component-listen keys (xs2sd's
    option table is shared with the command line); a malformed entry stops
    xs2sd before it starts, with the file and line, never showing the secret."""
    from test_daemon import _refused, _write  # noqa: PLC0415 - the daemon tests' helpers
    secret = secrets.token_hex(12)
    ip = t.ip()
    conf = _write(os.path.join(t.dir, 'b.conf'),
                  f'# components\ncomponent = {BOT}={secret}\ncomponent-listen = {ip}:{COMP_PORT}\n')
    b = t.daemon('b.test', ip=ip, extra_args=['--config', conf])
    k = _component_up(t, b, BOT, secret)
    body = f'configured by the file {t.nonce}'
    k.send(f"<message from='echo@{BOT}' to='u@b.test'><body>{body}</body></message>")
    b.wait_body(body, 10, frm=f'echo@{BOT}')
    _no_secret_logged(b, secret)
    for n, entry in enumerate((f'{BOT}=two words {secret}', f'{BOT}', f'bad/name={secret}')):
        bad = _write(os.path.join(t.dir, f'bad{n}.conf'), f'component = {entry}\n')
        out = _refused(t, Daemon(t, 'b.test', t.ip(), extra_args=['--config', bad]), 2, f'{bad}:1:', 'component')
        check(secret not in out, f'xs2sd printed a component secret: {out.strip()[-300:]!r}')
