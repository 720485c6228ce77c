# SPDX-License-Identifier: MIT
"""SASL EXTERNAL (XEP-0178) against raw peers: the paths two xs2sd daemons
never take. Receiving role (b.test accepts a raw c.test): when EXTERNAL is
offered, success and the stream restart, an authzid for another domain, an
<auth/> on a stream where EXTERNAL was not offered. Initiating role (b.test
connects to a raw c.test server): EXTERNAL refused, with and without a
dialback fallback. Secure auth with an exempted domain.

Documented behaviour (README "Authentication", firmware/auth/auth.h): EXTERNAL is
offered only when the TLS client certificate is valid for the domain in the
stream header; the authzid must be empty or that domain; a refusal is a SASL
<failure/> after which the peer may still use dialback when dialback is
enabled. Towards peers, xs2s sends its own domain as authzid and falls back
to dialback when EXTERNAL is refused (if the peer offers dialback), else it
gives up and bounces the queue."""
import base64
import copy
import secrets
import threading

import s2speer
from s2speer import NS_STREAM, NS_TLS, NS_DB
from harness import (check, poll, start_b, other_link_works, expect_refused, Fail, PORT)

NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl'
MECHANISMS = ("<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
              "<mechanism>EXTERNAL</mechanism></mechanisms>")
DIALBACK_FEATURE = "<dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback>"
SASL_FAILURE_NOT_AUTHORIZED = ("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
                               "<not-authorized/></failure>")


def b64(s):
    return base64.b64encode(s.encode()).decode()


def auth_external(authzid='='):
    return f"<auth xmlns='{NS_SASL}' mechanism='EXTERNAL'>{authzid}</auth>"


def mechanisms(features):
    """The mechanism names a <stream:features/> Item offers (None: no <mechanisms/>)."""
    m = features.child(NS_SASL, 'mechanisms')
    if m is None:
        return None
    return [(x.text or '').strip() for x in m.findall(f'{{{NS_SASL}}}mechanism')]


def has_dialback(features):
    return features.child(s2speer.NS_DB_FEATURE, 'dialback') is not None


def sasl_condition(item):
    """The condition of a SASL <failure/>: local name of its first child."""
    if item.el is None:
        return None
    for c in item.el:
        if c.tag.startswith('{' + NS_SASL + '}') and not c.tag.endswith('}text'):
            return c.tag.split('}', 1)[1]
    return None


def sasl_answer(s, timeout=10):
    """The next <success/>, <failure/> (SASL) or <stream:error/> on s."""
    try:
        return s.wait_for(lambda i: i.ns == NS_SASL or i.is_(NS_STREAM, 'error'), timeout)
    except s2speer.StreamClosed as e:
        raise Fail(f'stream closed instead of a SASL answer: {e}')
    except s2speer.PeerError as e:
        raise Fail(f'no SASL answer: {e}')


def restart(s, ident, to, timeout=10):
    """Restart the stream after <success/>: our header, then the daemon's
    header and features (returned)."""
    s.send(s2speer.stream_header(ident.domain, to))
    s.read_header(timeout)
    s.features = s.expect(NS_STREAM, 'features', timeout)
    return s.features


def as_domain(ident, domain):
    """The same certificate and key as ident, claiming another domain in its headers."""
    other = copy.copy(ident)
    other.domain = domain
    return other


def _link_brief(b):
    return b.status().get('links')


# ---- receiving role -----------------------------------------------------------

def test_sasl_offered_only_with_valid_cert(t):
    """EXTERNAL is offered after STARTTLS to c.test with a client certificate
    valid for c.test (next to dialback), never before TLS, and not at all
    without a client certificate or when the header claims another domain."""
    b, ip_a = start_b(t)
    cid = t.ident('c.test')
    s = t.open_stream(cid, 'b.test', b.addr)
    check(mechanisms(s.features) == ['EXTERNAL'],
          f'valid certificate for c.test: want EXTERNAL offered, got features {s.features.raw}')
    check(MECHANISMS in s.features.raw,
          f'<mechanisms/> not in the documented form {MECHANISMS!r}: {s.features.raw}')
    check(has_dialback(s.features), f'dialback not offered next to EXTERNAL: {s.features.raw}')
    first = [i for i in s.received if i.is_(NS_STREAM, 'features')][0]
    check(mechanisms(first) is None and first.child(NS_TLS, 'starttls') is not None,
          f'pre-TLS features must offer STARTTLS only: {first.raw}')

    nocert = t.ident('c.test', client_cert=False)
    s = t.open_stream(nocert, 'b.test', b.addr)
    check(mechanisms(s.features) is None,
          f'no client certificate: EXTERNAL must not be offered: {s.features.raw}')
    check(has_dialback(s.features), f'no client certificate: dialback not offered: {s.features.raw}')

    liar = as_domain(cid, 'd.test')  # c.test's certificate, header from='d.test'
    s = t.open_stream(liar, 'b.test', b.addr)
    check(s.header.attrs.get('to') == 'd.test', f'b.test answered another domain: {s.header.raw}')
    check(mechanisms(s.features) is None,
          f'certificate for c.test, stream from d.test: EXTERNAL must not be offered: {s.features.raw}')
    check(b.alive(), 'b.test died')


def _sasl_success(t, b, cid, authzid):
    s = t.open_stream(cid, 'b.test', b.addr)
    check(mechanisms(s.features) == ['EXTERNAL'], f'EXTERNAL not offered: {s.features.raw}')
    s.send(auth_external(authzid))
    r = sasl_answer(s)
    check(r.is_(NS_SASL, 'success'), f'authzid {authzid!r}: want <success/>, got {r.raw}')
    f = restart(s, cid, 'b.test')
    check(mechanisms(f) is None, f'EXTERNAL offered again after <success/>: {f.raw}')
    check(f.child(NS_TLS, 'starttls') is None, f'STARTTLS offered again after TLS: {f.raw}')
    body = f'after SASL EXTERNAL ({authzid}) {t.nonce}'
    s.send(s2speer.message('x@c.test', 'u@b.test', body))
    b.wait_body(body, 10, frm='x@c.test')
    return s


def test_sasl_success_and_restart(t):
    """<auth EXTERNAL> with the empty authzid ('='), then with authzid
    'c.test': <success/>, the restarted stream offers no SASL, a message is
    delivered, the link shows sasl-external with a valid certificate."""
    b, ip_a = start_b(t)
    cid = t.ident('c.test')
    _sasl_success(t, b, cid, '=')
    ok = poll(lambda: b.links(direction='in', remote='c.test', state='open',
                              auth='sasl-external', cert='valid', transport='starttls'), 3)
    check(ok, f'no open inbound sasl-external link from c.test with cert valid: {_link_brief(b)}')
    b.wait_log(r'SASL EXTERNAL: c\.test authenticated by certificate for b\.test', 2)
    check(not b.find_log('SASL EXTERNAL from c.test refused'),
          f'b.test logged a refusal: {b.find_log("refused")}')

    _sasl_success(t, b, cid, b64('c.test'))
    ok = poll(lambda: len(b.links(direction='in', remote='c.test', state='open',
                                  auth='sasl-external', cert='valid')) >= 2, 3)
    check(ok, f'want two open sasl-external links from c.test: {_link_brief(b)}')
    check(len(b.find_log(r'SASL EXTERNAL: c\.test authenticated by certificate')) >= 2,
          'b.test did not log the second SASL EXTERNAL success')


def test_sasl_invalid_authzid(t):
    """authzid 'd.test' on c.test's stream: <failure><invalid-authzid/>; the
    stream stays usable for dialback (default policy), where c.test's valid
    certificate makes its db:result acceptable at once (XEP-0344)."""
    b, ip_a = start_b(t)
    cid = t.ident('c.test')
    s = t.open_stream(cid, 'b.test', b.addr)
    check(mechanisms(s.features) == ['EXTERNAL'], f'EXTERNAL not offered: {s.features.raw}')
    s.send(auth_external(b64('d.test')))
    r = sasl_answer(s)
    check(r.is_(NS_SASL, 'failure'), f'authzid d.test: want SASL <failure/>, got {r.raw}')
    check(sasl_condition(r) == 'invalid-authzid',
          f'authzid d.test: want <invalid-authzid/>, got {r.raw}')
    b.wait_log(r'SASL EXTERNAL from c\.test refused: authzid', 2)
    check(not b.links(remote='c.test', auth='sasl-external'),
          f'c.test authenticated despite the bad authzid: {_link_brief(b)}')
    try:
        r = s2speer.dialback(s, cid, 'b.test', key=secrets.token_hex(32))
    except s2speer.PeerError as e:
        raise Fail(f'stream unusable for dialback after the SASL failure '
                   f'(documented: the peer may fall back to dialback): {e}')
    check(r.is_(NS_DB, 'result') and r.attrs.get('type') == 'valid',
          f'db:result after the SASL failure not accepted (valid certificate, XEP-0344): {r.raw}')
    body = f'dialback after invalid authzid {t.nonce}'
    s.send(s2speer.message('x@c.test', 'u@b.test', body))
    b.wait_body(body, 10, frm='x@c.test')
    check(b.links(direction='in', remote='c.test', state='open', auth='dialback+cert', cert='valid'),
          f'no open inbound dialback+cert link from c.test: {_link_brief(b)}')


def _refused_not_offered(t, b, ident, label):
    s = t.open_stream(ident, 'b.test', b.addr)
    check(mechanisms(s.features) is None, f'{label}: EXTERNAL offered: {s.features.raw}')
    s.send(auth_external(b64(ident.domain)))
    r = sasl_answer(s)
    check(not r.is_(NS_SASL, 'success'), f'{label}: <auth/> without an offer succeeded: {r.raw}')
    check(r.is_(NS_SASL, 'failure') and sasl_condition(r) == 'not-authorized',
          f'{label}: want <failure><not-authorized/></failure>, got {r.raw}')
    b.wait_log(rf'SASL EXTERNAL from {ident.domain.replace(".", "[.]")} refused: '
               r'EXTERNAL was not offered', 2, label)
    authed = [ln for ln in b.links(remote=ident.domain) if ln.get('auth') != 'none']
    check(not authed, f'{label}: something authenticated: {authed}')
    # Still nothing authenticated on the stream: a stanza is refused.
    s.send(s2speer.message(f'x@{ident.domain}', 'u@b.test', f'NOAUTH {label} {t.nonce}'))
    expect_refused(b, s, 'not-authorized')


def test_sasl_not_offered_refused(t):
    """<auth EXTERNAL> where EXTERNAL was not offered (no client certificate;
    or a certificate for c.test on a stream from d.test): <failure> with
    not-authorized, no <success/>, nothing authenticated."""
    b, ip_a = start_b(t)
    _refused_not_offered(t, b, t.ident('c.test', client_cert=False), 'no client certificate')
    _refused_not_offered(t, b, as_domain(t.ident('c.test'), 'd.test'), 'c.test cert, from d.test')
    other_link_works(t, b, ip_a)
    b.assert_no_body('NOAUTH')


# ---- initiating role ----------------------------------------------------------

def _header(frm, to, sid, db=True):
    return ("<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
            "xmlns:stream='http://etherx.jabber.org/streams'"
            + (" xmlns:db='jabber:server:dialback'" if db else '')
            + f" from='{frm}' to='{to}' id='{sid}' version='1.0'>")


class SaslRefuser:
    """A raw c.test server for b.test's outbound stream: STARTTLS, then
    features with EXTERNAL (and dialback unless dialback=False, in which case
    its headers also lack xmlns:db); every <auth/> gets
    <failure><not-authorized/></failure>. With dialback, b's db:result is
    checked with b's authoritative side (b_addr) and answered with its
    verdict; stanzas after that are recorded."""

    def __init__(self, t, cid, b_addr, dialback=True):
        self.t, self.cid, self.b_addr, self.dialback = t, cid, b_addr, dialback
        self.cond = threading.Condition()
        self.auths, self.results, self.stanzas, self.after_failure = [], [], [], []
        self.conns = []
        self.srv = t.raw_listener(self.serve, name='c.test')
        self.addr = self.srv.addr

    def _note(self, lst, v):
        with self.cond:
            lst.append(v)
            self.cond.notify_all()

    def wait(self, pred, timeout):
        return poll(lambda: pred(self), timeout, 0.05)

    def serve(self, s):
        self._note(self.conns, s.label)
        h = s.read_header()
        peer = h.attrs.get('from', '')
        s.send(_header('c.test', peer, secrets.token_hex(8), self.dialback)
               + "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>"
                 "<required/></starttls></stream:features>")
        s.expect(NS_TLS, 'starttls')
        s.send(s2speer.PROCEED)
        s.starttls_server(self.cid.server_ctx())
        s.read_header()
        s.sent_id = secrets.token_hex(8)
        s.send(_header('c.test', peer, s.sent_id, self.dialback)
               + '<stream:features>' + MECHANISMS
               + (DIALBACK_FEATURE if self.dialback else '') + '</stream:features>')
        a = s.read_element()
        self._note(self.auths, a)
        if not a.is_(NS_SASL, 'auth'):
            raise s2speer.PeerError(f'expected <auth/>, got {a!r}')
        s.send(SASL_FAILURE_NOT_AUTHORIZED)
        verified = False
        while True:
            try:
                it = s.read_element(timeout=30)
            except s2speer.StreamClosed:
                return
            if it.is_(NS_DB, 'result') and not verified:
                key = it.text.strip()
                answer = s2speer.verify_key(self.cid, it.attrs.get('from', ''), self.b_addr,
                                            s.sent_id, key, trace=self.t.trace)
                self._note(self.results, {'from': it.attrs.get('from'), 'to': it.attrs.get('to'),
                                          'key': key, 'answer': answer})
                s.send(f"<db:result from='c.test' to='{it.attrs.get('from', '')}' type='{answer}'/>")
                verified = True
            elif verified:
                self._note(self.stanzas, it)
            else:
                self._note(self.after_failure, it)


def test_sasl_failure_falls_back_to_dialback(t):
    """b.test -> raw c.test offering EXTERNAL and dialback, refusing
    EXTERNAL: b sent its own domain as authzid, then sends db:result on the
    same stream; c checks the key with b's authoritative side; the queued
    message arrives. Without a dialback offer b gives up and bounces."""
    cid = t.ident('c.test')
    ip_b = t.ip()
    c = SaslRefuser(t, cid, (ip_b, PORT))
    b, ip_a = start_b(t, c.addr[0], ip=ip_b)
    body = f'after EXTERNAL was refused {t.nonce}'
    b.send('u@b.test', 'x@c.test', body)
    got = c.wait(lambda c: any(x.body() == body for x in c.stanzas), 15)
    check(got, f'message not delivered to c.test after the fallback (auths: {c.auths}, '
          f'dialback: {c.results}, other: {c.after_failure}, errors: {c.srv.errors})')
    check(len(c.auths) == 1 and c.auths[0].attrs.get('mechanism') == 'EXTERNAL',
          f'b.test did not send <auth mechanism="EXTERNAL"/>: {c.auths}')
    check(c.auths[0].text.strip() == b64('b.test'),
          f'b.test\'s authzid is not base64("b.test") = {b64("b.test")}: {c.auths[0].raw}')
    check(len(c.results) == 1, f'want one db:result from b.test: {c.results}')
    r = c.results[0]
    check(r['from'] == 'b.test' and r['to'] == 'c.test' and r['answer'] == 'valid',
          f'b.test\'s key not confirmed by its authoritative side: {r}')
    check(not c.after_failure, f'b.test sent something else before its db:result: {c.after_failure}')
    check(len(c.conns) == 1, f'want one stream, the same for SASL and dialback: {c.conns}')
    m = next(x for x in c.stanzas if x.body() == body)
    check(m.attrs.get('from', '').split('/')[0] == 'u@b.test' and m.attrs.get('to') == 'x@c.test',
          f'wrong addresses: {m.raw}')
    b.wait_log(r'SASL EXTERNAL refused by c\.test \(not-authorized\): falling back to dialback', 2)
    check(poll(lambda: b.links(direction='out', remote='c.test', state='open', auth='dialback'), 3),
          f'no open outbound dialback link to c.test: {_link_brief(b)}')


def test_sasl_failure_no_dialback_gives_up(t):
    """b.test -> raw c.test offering only EXTERNAL (no dialback feature, no
    xmlns:db on its headers), refusing it: b gives up, sends no db:result,
    bounces the message (remote-server-not-found) and logs why."""
    cid = t.ident('c.test')
    ip_b = t.ip()
    c = SaslRefuser(t, cid, (ip_b, PORT), dialback=False)
    b, ip_a = start_b(t, c.addr[0], ip=ip_b)
    body = f'EXTERNAL refused, no dialback {t.nonce}'
    b.send('u@b.test', 'x@c.test', body)
    m = b.wait_message(lambda m: m.get('type') == 'error' and m.get('body') == body, 10,
                       'bounce of the message to c.test')
    check(m.get('error') == 'remote-server-not-found',
          f'bounce condition {m.get("error")!r}, want remote-server-not-found: {m}')
    check(m.get('to', '').split('/')[0] == 'u@b.test', f'bounce not to the sender: {m}')
    check(c.auths and c.auths[0].is_(NS_SASL, 'auth') and c.auths[0].text.strip() == b64('b.test'),
          f'b.test did not try EXTERNAL with authzid b.test: {c.auths}')
    b.wait_log(r'SASL EXTERNAL refused by c\.test \(not-authorized\) and no dialback fallback', 2)
    check(c.wait(lambda c: c.srv.handled or c.srv.errors, 5),
          'b.test did not close its stream to c.test')
    check(not c.results and not any(i.ns == NS_DB for i in c.after_failure),
          f'b.test used dialback with a peer that offers none: {c.results} {c.after_failure}')
    check(not c.stanzas and not any(i.body() == body for i in c.after_failure),
          f'message sent without authentication: {c.after_failure}')
    check(not b.links(remote='c.test', state='open'), f'open link with c.test: {_link_brief(b)}')
    other_link_works(t, b, ip_a)


# ---- secure auth -----------------------------------------------------------------

def test_secure_auth_exception(t):
    """--secure-auth --insecure-domain c.test: c.test without a client
    certificate authenticates by dialback (db:verify answered valid by its
    authoritative server) and its message is delivered; d.test, without
    certificate and without exception, is refused."""
    cid = t.ident('c.test', client_cert=False)
    c = t.fake_server(cid)  # c.test's authoritative server
    b, ip_a = start_b(t, c.addr[0], extra_args=('--secure-auth', '--insecure-domain', 'c.test'))
    s = t.open_stream(cid, 'b.test', b.addr)
    check(mechanisms(s.features) is None, f'EXTERNAL offered without a certificate: {s.features.raw}')
    try:
        r = s2speer.dialback(s, cid, 'b.test')
    except s2speer.PeerError as e:
        raise Fail(f'exempted c.test could not use dialback under --secure-auth: {e}')
    check(r.is_(NS_DB, 'result') and r.attrs.get('type') == 'valid',
          f'exempted c.test refused under --secure-auth: {r.raw}')
    check(any(v['from'] == 'b.test' and v['answer'] == 'valid' for v in c.verifies),
          f'b.test did not check c.test\'s key with its authoritative server: {c.verifies}')
    body = f'exempt from secure auth {t.nonce}'
    s.send(s2speer.message('x@c.test', 'u@b.test', body))
    b.wait_body(body, 10, frm='x@c.test')
    check(b.links(direction='in', remote='c.test', state='open', auth='dialback', cert='none'),
          f'no open inbound dialback link (cert none) from c.test: {_link_brief(b)}')

    did = t.ident('d.test', client_cert=False)
    s = t.open_stream(did, 'b.test', b.addr)
    s.send(f"<db:result from='d.test' to='b.test'>{secrets.token_hex(32)}</db:result>")
    expect_refused(b, s, 'policy-violation')
    b.wait_log(r"secure auth: d\.test's certificate is none", 2)
    check(not b.links(remote='d.test', state='open'), f'open link with d.test: {_link_brief(b)}')
    other_link_works(t, b, ip_a)
