# SPDX-License-Identifier: MIT
"""The local domain's own services (iq ping, disco#info, service-unavailable
for everything else) and whitespace keepalives on an authenticated stream."""
import time

import s2speer
from s2speer import NS_SERVER
from harness import (check, start_b_with_c, authenticated_stream, peer_stanza,
                     expect_quiet)

NS_PING = 'urn:xmpp:ping'
NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info'
PING = f"<ping xmlns='{NS_PING}'/>"


def test_iq_ping_and_disco(t):
    """iq gets from a raw c.test are answered over b's own outbound stream to
    c.test, which c.test accepts after checking b's key with b."""
    cid, c, b, _ = start_b_with_c(t, on_result='verify')
    s = authenticated_stream(t, cid, b)

    def ask(iq_id, to, child, want_type):
        s.send(f"<iq type='get' id='{iq_id}' from='c.test' to='{to}'>{child}</iq>")
        r = peer_stanza(c, lambda x: x.is_(NS_SERVER, 'iq') and x.attrs.get('id') == iq_id,
                        10, f'answer to iq {iq_id} ({child} to {to})')
        check(r.attrs.get('type') == want_type,
              f'iq {iq_id}: answer of type {r.attrs.get("type")!r}, expected {want_type!r}: {r.raw}')
        check(r.attrs.get('from') == to and r.attrs.get('to') == 'c.test',
              f'iq {iq_id}: answer wrongly addressed (want from {to} to c.test): {r.raw}')
        check(r.tls is not None, f'iq {iq_id}: answered without TLS')
        return r

    r = ask('p1', 'b.test', PING, 'result')
    check(len(r.el) == 0, f'ping result should be empty: {r.raw}')

    r = ask('d1', 'b.test', f"<query xmlns='{NS_DISCO_INFO}'/>", 'result')
    q = r.child(NS_DISCO_INFO, 'query')
    check(q is not None, f'disco#info result without a disco#info <query/>: {r.raw}')
    idents = [i.attrib for i in q.findall(f'{{{NS_DISCO_INFO}}}identity')]
    feats = {f.get('var') for f in q.findall(f'{{{NS_DISCO_INFO}}}feature')}
    check(any(i.get('category') == 'server' for i in idents),
          f'disco#info: no identity with category server: {r.raw}')
    check(NS_PING in feats, f'disco#info: feature {NS_PING} not listed: {r.raw}')

    for iq_id, to, child in (('u1', 'b.test', "<frob xmlns='urn:example:unknown'/>"),
                             ('u2', 'u@b.test', PING)):
        r = ask(iq_id, to, child, 'error')
        check(r.stanza_error() == 'service-unavailable',
              f'iq {iq_id}: error condition {r.stanza_error()!r}, expected service-unavailable: {r.raw}')

    check(c.results and all(x['from'] == 'b.test' and x['answer'] == 'valid' for x in c.results),
          f'b.test\'s outbound link not authenticated by a verified key: {c.results}')
    check(not c.errors, f'c.test peer errors: {c.errors}')
    expect_quiet(s)


def test_whitespace_keepalive(t):
    cid, _, b, _ = start_b_with_c(t)
    s = authenticated_stream(t, cid, b)
    first, second = (f'after keepalives {i} {t.nonce}' for i in (1, 2))
    for ka in (' ', '\n', ' \r\n\t '):  # separate TLS records
        s.send(ka)
        time.sleep(0.05)
    s.send(s2speer.message('x@c.test', 'u@b.test', first))
    b.wait_body(first, 10, frm='x@c.test')
    s.send('\n')
    time.sleep(0.05)
    s.send(' ' + s2speer.message('x@c.test', 'u@b.test', second) + '\n ')
    b.wait_body(second, 10, frm='x@c.test')
    expect_quiet(s)
    errs = b.find_log('stream error')
    check(not errs, f'b.test logged stream errors: {errs}')
