# SPDX-License-Identifier: MIT
"""TLS policy and STARTTLS command injection (CVE-2011-0411 class)."""
import s2speer
from harness import check, poll, start_b, other_link_works, Fail

INJECTED_IN = ("<message from='evil@c.test' to='u@b.test' type='chat'>"
               "<body>INJECTED</body></message>")
INJECTED_OUT = "<message from='evil@c.test' to='u@b.test'><body>INJECTED</body></message>"


def test_tls_required_peer_without_starttls(t):
    c = t.fake_server(t.ident('c.test'), starttls=False, on_result='accept')
    b, ip_a = start_b(t, c.addr[0], tls_policy='required')
    body = f'must not travel in plaintext {t.nonce}'
    b.send('u@b.test', 'x@c.test', body)

    def outcome():  # a bounce, or something leaked to the plaintext peer
        b.inbox()
        return c.results or c.stanzas or [m for m in b.messages if m.get('type') == 'error']
    poll(outcome, 15, 0.2)
    check(not c.results, f'b.test sent dialback over plaintext: {c.results}')
    leaked = [s.raw for s in c.stanzas if s.name == 'message']
    check(not leaked, f'b.test sent the message over plaintext: {leaked}')
    bounce = b.wait_message(
        lambda m: m.get('type') == 'error' and m.get('error') == 'remote-server-not-found',
        15, 'bounce with remote-server-not-found')
    check(bounce.get('to', '').split('/')[0] == 'u@b.test', f'bounce not to the sender: {bounce}')
    check(c.streams, 'b.test never connected to the c.test peer (host map not used?)')
    b.wait_log(r'^\S+ [EW] .*starttls|starttls.*(required|missing|not offered)'
               r'|(no|without|missing)\s+starttls', 5, 'a line saying STARTTLS is missing')
    check(not b.links(remote='c.test', state='open'),
          f'a link to c.test is still open: {b.status().get("links")}')
    other_link_works(t, b, ip_a)


def test_tls_optional_falls_back_plain(t):
    c = t.fake_server(t.ident('c.test'), starttls=False, on_result='accept')
    b, ip_a = start_b(t, c.addr[0], tls_policy='optional')
    body = f'plaintext allowed by policy {t.nonce}'
    b.send('u@b.test', 'x@c.test', body)
    got = c.wait_for(lambda s: any(x.body() == body for x in s.stanzas), 15)
    check(got, f'the message never reached the plaintext peer (dialback results: '
          f'{c.results}, peer errors: {c.errors})')
    check(c.results and c.results[0]['from'] == 'b.test' and c.results[0]['key'],
          f'no dialback before the message: {c.results}')
    b.wait_log(r'^\S+ W .*(plain|insecure|unencrypted|without tls|no tls)', 5,
               'a warning about the plaintext link')
    plain = b.links(direction='out', remote='c.test', state='open', transport='plain')
    check(plain, f'no open plain outbound link to c.test: {b.status().get("links")}')
    tot = b.status().get('totals', {})
    check(tot.get('plain', 0) >= 1, f'totals.plain should count the link: {tot}')
    other_link_works(t, b, ip_a)


def test_starttls_injection_inbound(t):
    cid = t.ident('c.test')
    c = t.fake_server(cid)  # c.test's authoritative server, for the daemon's db:verify
    b, ip_a = start_b(t, c.addr[0])
    try:
        s = t.open_stream(cid, 'b.test', b.addr, inject=INJECTED_IN)
    except s2speer.PeerError as e:
        raise Fail(f'STARTTLS with plaintext pipelined after <starttls/> did not complete '
                   f'({e}); expected the daemon to discard those bytes and go on')
    r = s2speer.dialback(s, cid, 'b.test')
    check(r.attrs.get('type') == 'valid', f'dialback not accepted: {r.raw}')
    legit = f'LEGIT {t.nonce}'
    s.send(s2speer.message('x@c.test', 'u@b.test', legit))
    b.wait_body(legit, 15, frm='x@c.test')
    other_link_works(t, b, ip_a)
    b.assert_no_body('INJECTED')


def test_starttls_injection_outbound(t):
    c = t.fake_server(t.ident('c.test'), inject_after_proceed=INJECTED_OUT, on_result='accept')
    b, ip_a = start_b(t, c.addr[0])
    body = f'to c.test {t.nonce}'
    b.send('u@b.test', 'x@c.test', body)

    # Either the daemon ignored the injected bytes and delivered over TLS, or
    # it failed the link (and bounced the message). Both are fine.
    def settled():
        b.inbox()
        return (any(x.body() == body for x in c.stanzas)
                or any(m.get('type') == 'error' for m in b.messages))
    check(poll(settled, 20, 0.2), 'message to c.test neither delivered nor bounced in 20 s')
    check(c.streams, 'b.test never connected to the c.test peer')
    for x in c.stanzas:
        check(x.tls is not None, f'b.test sent a stanza in plaintext: {x.raw}')
    check(b.alive(), 'b.test died')
    b.status()
    b.assert_no_body('INJECTED')
    other_link_works(t, b, ip_a, both=True)
    b.assert_no_body('INJECTED')
