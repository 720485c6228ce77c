# SPDX-License-Identifier: MIT
"""Peer certificate verdicts between two xs2sd daemons, in both directions.

One daemon (usually a.test) presents a special certificate made at test time
by mkcerts.sh (NAME:OPT specs, see its header) in its own PKI directory; the
other, b.test, presents an ordinary one from the same CA. Every case sends a
message each way and then checks both status tables: the certificate verdict
each side recorded and how each link was authenticated.

Who checks what: on a link from X to Y, Y (TLS server) judges X's client
certificate and X (TLS client) judges Y's server certificate. SASL EXTERNAL
authenticates X when Y finds X's certificate valid for X's domain; otherwise
X falls back to dialback. So with a bad certificate on a.test only the link
a.test -> b.test needs dialback; b.test -> a.test still uses SASL EXTERNAL,
because b.test's certificate is fine (a.test records 'valid' for it) even
though b.test records a.test's server certificate as bad.

The DNS-ID-only default case is test_sasl_external_both_directions
(test_federation.py); it is not repeated here.
"""
import re

from harness import check, poll, free_port, Fail

PKI_NAME = 'pki-certs'
PKI = [
    'b.test', 'c.test',                                    # ordinary peers (DNS-ID)
    'wildcard:san=dns:*.w.test,cn=nobody.invalid',         # for a.w.test
    'srv-id:san=srv:_xmpp-server.a.test,cn=nobody.invalid',
    'xmpp-addr:san=xmpp:a.test,cn=nobody.invalid',
    'wrong-name:san=dns:z.test,cn=z.test',
    'expired:san=dns:a.test,days=-2',
    'self-signed:san=dns:a.test,signer=self',
    'unknown-ca:san=dns:a.test,signer=other',
    'server-eku:san=dns:a.test,eku=server',
]

VALID_SASL = ('valid', 'sasl-external')


def _pki(t):
    return t.run.pki(PKI_NAME, PKI)


def _pair(t, domain, cert, chain=False, x_args=(), b_args=()):
    """Start `domain` with certificate `cert` of the test PKI and b.test with
    its own certificate; each knows the other's address."""
    pki = _pki(t)
    ip_x, ip_b = t.ip(), t.ip()
    x = t.daemon(domain, ip=ip_x, certdir=pki, cert=cert, chain=chain,
                 host_map={'b.test': ip_b}, extra_args=x_args)
    b = t.daemon('b.test', ip=ip_b, certdir=pki, host_map={domain: ip_x}, extra_args=b_args)
    return x, b


def _exchange(t, x, y):
    """A message each way between daemons x and y; both arrive."""
    xy = f'{x.domain} to {y.domain} {t.nonce}'
    yx = f'{y.domain} to {x.domain} {t.nonce}'
    x.send(f'u@{x.domain}', f'v@{y.domain}', xy)
    y.send(f'v@{y.domain}', f'u@{x.domain}', yx)
    y.wait_body(xy, 15, frm=f'u@{x.domain}')
    x.wait_body(yx, 15, frm=f'v@{y.domain}')


def _link_problems(d, remote, want):
    """Problems with d's links to/from remote: want maps a direction ('in',
    'out') to (cert verdict, auth) that every open link that way must show,
    over STARTTLS; there must be at least one."""
    links = d.status().get('links', [])
    probs = []
    for direction, (cert, auth) in want.items():
        ls = [ln for ln in links if ln.get('remote') == remote and ln.get('direction') == direction
              and ln.get('state') == 'open']
        if not ls:
            probs.append(f'{d.name}: no open {direction} link with {remote}')
        for ln in ls:
            got = (ln.get('cert'), ln.get('auth'), ln.get('transport'))
            if got != (cert, auth, 'starttls'):
                probs.append(f'{d.name}: {direction} link with {remote}: cert {got[0]!r}, auth '
                             f'{got[1]!r}, transport {got[2]!r}; want cert {cert!r}, auth '
                             f'{auth!r}, starttls')
    return probs, links


def _expect_links(x, b, x_want, b_want):
    """Both status tables show what is wanted (polled briefly: the last
    link state changes may trail the messages by a poll round)."""
    last = {}

    def ok():
        probs = []
        for d, other, want in ((x, b.domain, x_want), (b, x.domain, b_want)):
            p, last[d.name] = _link_problems(d, other, want)
            probs += p
        last['probs'] = probs
        return not probs
    if not poll(ok, 3, 0.1):
        raise Fail('; '.join(last['probs']) + f' -- {x.name} links: {_brief(last[x.name])}; '
                   f'{b.name} links: {_brief(last[b.name])}')


def _brief(links):
    return ', '.join(f"L{ln.get('id')} {ln.get('direction')} {ln.get('remote')} {ln.get('state')} "
                     f"{ln.get('transport')} cert={ln.get('cert')} auth={ln.get('auth')}"
                     for ln in links) or 'none'


def _all_valid_sasl(t, domain, cert):
    """`domain`'s certificate is valid for it (and b.test's for b.test): SASL
    EXTERNAL both ways, every link records 'valid'."""
    x, b = _pair(t, domain, cert)
    _exchange(t, x, b)
    both = {'in': VALID_SASL, 'out': VALID_SASL}
    _expect_links(x, b, both, both)
    b.wait_log(rf'SASL EXTERNAL: {domain.replace(".", "[.]")} authenticated by certificate', 1,
               f'b.test accepting {domain} by its certificate')


def _bad_cert_dialback(t, cert, verdict, chain=False):
    """a.test's certificate is bad in the way `verdict` names: b.test records
    it on both its links with a.test; a.test -> b.test falls back to dialback
    (with db:verify: never dialback+cert), b.test -> a.test is SASL EXTERNAL
    (b.test's certificate is valid for a.test)."""
    x, b = _pair(t, 'a.test', cert, chain=chain)
    _exchange(t, x, b)
    _expect_links(x, b,
                  {'out': ('valid', 'dialback'), 'in': VALID_SASL},
                  {'in': (verdict, 'dialback'), 'out': (verdict, 'sasl-external')})
    b.wait_log(rf'peer certificate {verdict} \(dialback decides\)', 1)


# ---- valid identities other than a plain DNS-ID -----------------------------

def test_certs_wildcard_dns_id(t):
    """a.w.test presents '*.w.test' (one left-most label): valid for a.w.test."""
    _all_valid_sasl(t, 'a.w.test', 'wildcard')


def test_certs_srv_id_only(t):
    """SAN = otherName SRVName '_xmpp-server.a.test' only (no dNSName; the
    CN names another host): valid for a.test."""
    _all_valid_sasl(t, 'a.test', 'srv-id')


def test_certs_xmppaddr_only(t):
    """SAN = otherName id-on-xmppAddr 'a.test' only: valid for a.test."""
    _all_valid_sasl(t, 'a.test', 'xmpp-addr')


def test_certs_server_auth_eku_only(t):
    """EKU serverAuth only (no clientAuth), as public CAs issue them now.
    Project decision: accepted for s2s client authentication too (an XMPP
    server is client and server with one certificate), so a.test's
    certificate must be 'valid' when it connects out (b.test is the TLS
    server) as well as when it accepts; SASL EXTERNAL both ways."""
    _all_valid_sasl(t, 'a.test', 'server-eku')


# ---- bad certificates: recorded, dialback decides ----------------------------

def test_certs_wrong_name_dialback(t):
    """a.test presents a certificate for z.test (SAN and CN)."""
    _bad_cert_dialback(t, 'wrong-name', 'name-mismatch')


def test_certs_expired_dialback(t):
    """a.test's certificate (right name, our CA) expired two days ago."""
    _bad_cert_dialback(t, 'expired', 'expired')


def test_certs_self_signed_dialback(t):
    """a.test presents a self-signed certificate for a.test."""
    _bad_cert_dialback(t, 'self-signed', 'untrusted')


def test_certs_unknown_ca_dialback(t):
    """a.test's certificate comes from a CA b.test does not trust (sent with
    that CA in the chain)."""
    _bad_cert_dialback(t, 'unknown-ca', 'untrusted', chain=True)


def test_certs_wrong_name_secure_auth_refused(t):
    """b.test runs --secure-auth: a.test with a certificate for z.test is
    refused both ways, each sender gets its message back with
    remote-server-not-found, b.test's log says secure auth. A peer with a
    valid certificate (c.test) still federates with b.test."""
    x, b = _pair(t, 'a.test', 'wrong-name', b_args=('--secure-auth',))
    xb, bx = f'a to b, refused {t.nonce}', f'b to a, refused {t.nonce}'
    x.send('u@a.test', 'v@b.test', xb)
    b.send('v@b.test', 'u@a.test', bx)
    for d, body, sender in ((x, xb, 'u@a.test'), (b, bx, 'v@b.test')):
        m = d.wait_message(lambda m, body=body: m.get('type') == 'error' and m.get('body') == body,
                           10, f'bounce of {body!r}')
        check(m.get('error') == 'remote-server-not-found',
              f'{d.name}: bounce condition {m.get("error")!r}, want remote-server-not-found: {m}')
        check(m.get('to', '').split('/')[0] == sender, f'{d.name}: bounce not to the sender: {m}')
    b.wait_log(r"secure auth: a\.test's certificate is name-mismatch", 2)
    for d, body in ((b, xb), (x, bx)):
        d.inbox()
        got = [m for m in d.messages if m.get('body') == body and m.get('type') != 'error']
        check(not got, f'{d.name}: delivered despite secure auth: {got}')
    check(not b.links(remote='a.test', state='open'),
          f'b.test: open link with a.test: {b.status().get("links")}')
    check(not x.links(remote='b.test', state='open'),
          f'a.test: open link with b.test: {x.status().get("links")}')
    # Control: secure auth lets a valid certificate through.
    c = t.daemon('c.test', certdir=_pki(t), host_map={'b.test': b.ip})
    body = f'c to b under secure auth {t.nonce}'
    c.send('w@c.test', 'v@b.test', body)
    b.wait_body(body, 15, frm='w@c.test')
    check(b.links(direction='in', remote='c.test', state='open', cert='valid', auth='sasl-external'),
          f'b.test: no open sasl-external link from c.test: {b.status().get("links")}')


# ---- IPv6 ---------------------------------------------------------------------

def test_certs_ipv6_both_directions(t):
    """a.test and b.test over IPv6 with their own ports (not 5269), host maps
    '[ADDR]:PORT': a message each way, STARTTLS links open both ways. POSIX
    port: both on [::1]; lwIP port: each on its own fd77::N over its TAP."""
    ipa, ipb = t.ip6(), t.ip6()
    pa = free_port(ipa, [15269])
    pb = free_port(ipb, [25269], taken=(pa,))
    a = t.daemon('a.test', ip=ipa, port=pa, host_map={'b.test': (ipb, pb)})
    b = t.daemon('b.test', ip=ipb, port=pb, host_map={'a.test': f'[{ipa}]:{pa}'})
    _exchange(t, a, b)
    both = {'in': VALID_SASL, 'out': VALID_SASL}
    _expect_links(a, b, both, both)
    for d, peer, port in ((a, ipb, pb), (b, ipa, pa)):
        d.wait_log(rf'connecting to \[?{re.escape(peer)}\]?[:.]{port}\b', 1, 'connecting out over IPv6')
        d.wait_log(rf'in: connection from \[?{re.escape(peer)}\b', 1, 'accepting over IPv6')
