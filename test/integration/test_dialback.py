# SPDX-License-Identifier: MIT
"""Server Dialback (XEP-0220) against raw peers, both roles of the daemon."""
import secrets

import s2speer
from s2speer import NS_DB
from harness import check, start_b, other_link_works, Fail, PORT


def test_bad_dialback_key_refused(t):
    # No client certificate: nothing but dialback can vouch for c.test.
    cid = t.ident('c.test', client_cert=False)
    c = t.fake_server(cid)  # authoritative for c.test: answers invalid to a wrong key
    b, ip_a = start_b(t, c.addr[0])
    s = t.open_stream(cid, 'b.test', b.addr)
    bad = secrets.token_hex(32)
    try:
        r = s2speer.dialback(s, cid, 'b.test', key=bad)
    except s2speer.PeerError as e:
        raise Fail(f'no <db:result/> answer (nor stream error) to a wrong key: {e}')
    if r.is_(NS_DB, 'result'):
        check(r.attrs.get('type') in ('invalid', 'error'),
              f'wrong dialback key accepted: {r.raw}')
    # else: a <stream:error/> is an acceptable refusal too
    check(c.wait_for(lambda srv: any(v['key'] == bad for v in srv.verifies), 2),
          f'b.test never asked c.test\'s authoritative server (verifies: {c.verifies})')
    check(all(v['answer'] == 'invalid' for v in c.verifies if v['key'] == bad),
          f'authoritative server answered wrongly: {c.verifies}')
    try:
        s.send(s2speer.message('x@c.test', 'u@b.test', f'BADKEY {t.nonce}'))
    except OSError:
        pass  # the daemon may already have closed the stream
    # (An outbound b->c link may exist: the daemon may send db:verify over it.)
    check(not b.links(direction='in', remote='c.test', state='open', auth='dialback'),
          f'an authenticated inbound link from c.test exists: {b.status().get("links")}')
    other_link_works(t, b, ip_a)
    b.assert_no_body('BADKEY')


def test_outbound_dialback_verified(t):
    """b.test authenticates to a raw c.test, which checks b's key with b's
    authoritative side; a forged key must then be refused by that side."""
    cid = t.ident('c.test')
    ip_b = t.ip()
    c = t.fake_server(cid, on_result='verify', hosts={'b.test': (ip_b, PORT)})
    b = t.daemon('b.test', ip=ip_b, host_map={'c.test': c.addr[0]})
    body = f'to a raw c.test {t.nonce}'
    b.send('u@b.test', 'x@c.test', body)
    got = c.wait_for(lambda srv: any(x.body() == body for x in srv.stanzas), 15)
    check(got, f'message not delivered to c.test (dialback results: {c.results}, '
          f'peer errors: {c.errors})')
    res = c.results[0]
    check(res['from'] == 'b.test' and res['answer'] == 'valid',
          f'b.test\'s own key not confirmed by b.test\'s authoritative side: {res}')
    m = next(x for x in c.stanzas if x.body() == body)
    check(m.tls is not None, 'message sent without TLS')
    check(m.attrs.get('from', '').split('/')[0] == 'u@b.test' and
          m.attrs.get('to') == 'x@c.test', f'wrong addresses: {m.raw}')
    check(b.links(direction='out', remote='c.test', state='open', auth='dialback',
                  transport='starttls'),
          f'no open outbound dialback link to c.test: {b.status().get("links")}')
    try:
        answer = s2speer.verify_key(cid, 'b.test', b.addr, secrets.token_hex(8),
                                    secrets.token_hex(32), trace=t.trace)
    except s2speer.PeerError as e:
        raise Fail(f'db:verify with a forged key got no answer: {e}')
    check(answer == 'invalid', f'b.test confirmed a forged dialback key: type={answer!r}')


def test_dialback_cert_shortcut_xep0344(t):
    """c.test presents a certificate valid for c.test: its db:result is
    accepted without asking the authoritative server (XEP-0344), even with a
    key nobody can verify."""
    cid = t.ident('c.test')
    c = t.fake_server(cid)
    b, ip_a = start_b(t, c.addr[0])
    s = t.open_stream(cid, 'b.test', b.addr)
    r = s2speer.dialback(s, cid, 'b.test', key=secrets.token_hex(32))
    check(r.is_(NS_DB, 'result') and r.attrs.get('type') == 'valid',
          f'db:result with a valid certificate not accepted: {r.raw}')
    check(not c.verifies, f'b.test asked the authoritative server anyway: {c.verifies}')
    check(b.links(direction='in', remote='c.test', state='open', auth='dialback+cert'),
          f'no inbound dialback+cert link from c.test: {b.status().get("links")}')
    body = f'CERT {t.nonce}'
    s.send(s2speer.message('x@c.test', 'u@b.test', body))
    b.wait_body(body, 10, frm='x@c.test')


def test_secure_auth_refuses_dialback_only_peer(t):
    """--secure-auth: c.test without a client certificate is refused even
    though its dialback key would verify; the log says why."""
    cid = t.ident('c.test', client_cert=False)
    c = t.fake_server(cid)
    b, ip_a = start_b(t, c.addr[0], extra_args=('--secure-auth',))
    s = t.open_stream(cid, 'b.test', b.addr)
    try:
        r = s2speer.dialback(s, cid, 'b.test')
        check(not (r.is_(NS_DB, 'result') and r.attrs.get('type') == 'valid'),
              f'secure auth accepted a dialback-only peer: {r.raw}')
    except s2speer.PeerError:
        pass  # refused with a stream error
    b.wait_log('secure auth', 5)
    check(not b.links(direction='in', remote='c.test', state='open'),
          f'an open inbound link from c.test exists: {b.status().get("links")}')
    other_link_works(t, b, ip_a)
