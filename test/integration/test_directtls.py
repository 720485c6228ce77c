# SPDX-License-Identifier: MIT
"""XEP-0368 direct TLS between real xs2sd processes: a second listener
(--listen-tls ADDR:5270) where TLS starts with the first byte, peers named
with a host-map entry ending in /tls or found through _xmpps-server._tcp SRV
records served by dnsmasq, and a Python TLS client that offers no ALPN (or
another one) to show that ALPN is accepted but never required."""
import os
import re
import socket
import ssl

from harness import DNS_PORT, check, poll
from test_dns import _need_dnsmasq, _connects

TLS_PORT = 5270
XMPP_PORT = 5269
SRVS_B = '_xmpps-server._tcp.b.test'
SRV_B = '_xmpp-server._tcp.b.test'


def _tls_daemon(t, domain, ip, **kw):
    """A daemon with a direct TLS listener on ip:5270 besides its STARTTLS one."""
    extra = list(kw.pop('extra_args', ())) + ['--listen-tls', f'{ip}:{TLS_PORT}']
    d = t.daemon(domain, ip=ip, extra_args=extra, **kw)
    d.wait_log(r'direct TLS \(XEP-0368\): listening on .* port 5270', 5, 'the direct TLS listener')
    return d


def _direct_links(d, other):
    return [ln for ln in d.status().get('links', [])
            if ln.get('remote') == other and ln.get('state') == 'open' and ln.get('transport') == 'directtls']


def _check_direct(d, other, auth, direction):
    links = [ln for ln in _direct_links(d, other) if ln.get('direction') == direction]
    check(links, f'{d.name}: no open {direction} directtls link with {other}: {d.status().get("links")}')
    for ln in links:
        check(ln.get('auth') == auth, f'{d.name}: want auth {auth}: {ln}')
        check(ln.get('cert') == 'valid', f'{d.name}: the certificate is verified as after STARTTLS: {ln}')
        check(str(ln.get('tls_version', '')).startswith('TLSv1.') and ln.get('cipher'), f'{d.name}: {ln}')
        check(ln.get('alpn') == 'xmpp-server', f'{d.name}: want ALPN xmpp-server (both are xs2s): {ln}')
    tot = d.status().get('totals', {})
    check(tot.get('directtls', 0) >= 1 and tot.get('plain') == 0, f'{d.name}: totals {tot}')


def test_directtls_hostmap_both_ways(t):
    """a.test and b.test each listen for direct TLS on :5270 and name the
    other with ADDR:5270/tls: a message each way, both links directtls,
    SASL EXTERNAL on a verified certificate, ALPN xmpp-server, no STARTTLS."""
    ip_a, ip_b = t.ip(), t.ip()
    a = _tls_daemon(t, 'a.test', ip_a, host_map={'b.test': f'{ip_b}:{TLS_PORT}/tls'})
    b = _tls_daemon(t, 'b.test', ip_b, host_map={'a.test': f'{ip_a}:{TLS_PORT}/tls'})
    ab, ba = f'direct to bob {t.nonce}', f'direct to alice {t.nonce}'
    a.send('alice@a.test', 'bob@b.test', ab)
    b.wait_body(ab, 15, frm='alice@a.test')
    b.send('bob@b.test', 'alice@a.test', ba)
    a.wait_body(ba, 15, frm='bob@b.test')
    for d, other in ((a, 'b.test'), (b, 'a.test')):
        _check_direct(d, other, 'sasl-external', 'out')
        _check_direct(d, other, 'sasl-external', 'in')
        check(d.status()['totals'].get('starttls') == 0, f'{d.name}: a STARTTLS link: {d.status()["totals"]}')
        check(not d.find_log(r'<starttls'), f'{d.name}: STARTTLS over direct TLS')
    check(a.find_log(r'connecting to .*:5270 \(direct TLS, XEP-0368\)'), 'a.test: no direct TLS connect logged')
    check(b.find_log(r'on the direct TLS listener'), 'b.test: no direct TLS accept logged')
    r = a.ctl('status')
    check('directtls' in r, f'xs2sctl status shows no directtls transport:\n{r}')


def test_directtls_via_srv(t):
    """_xmpps-server and _xmpp-server of b.test at the same priority in
    dnsmasq: a.test (no host map for b.test) connects with direct TLS to
    :5270 first (XEP-0368 3 rule 1, direct TLS preferred at equal priority)."""
    _need_dnsmasq()
    ip_a, ip_b, ip_dns = t.ip(), t.ip(), t.ip()
    dns = t.dnsmasq(ip_dns, srv=[(SRV_B, 'b-st.test', XMPP_PORT, 10, 5),
                                 (SRVS_B, 'b-dt.test', TLS_PORT, 10, 5)],
                    hosts={'b-st.test': ip_b, 'b-dt.test': ip_b})
    b = _tls_daemon(t, 'b.test', ip_b, host_map={'a.test': ip_a})
    a = t.daemon('a.test', ip=ip_a, extra_args=['--dns-server', f'{dns.ip}:{DNS_PORT}'])
    body = f'found by _xmpps-server {t.nonce}'
    a.send('u@a.test', 'x@b.test', body)
    b.wait_body(body, 20, frm='u@a.test')
    conns = _connects(a)
    check(conns and conns[0] == (ip_b, TLS_PORT), f'a.test: first connect {conns}, want {(ip_b, TLS_PORT)}')
    q = dns.queries()
    check(('SRV', SRVS_B) in q and ('SRV', SRV_B) in q, f'dnsmasq: want both SRV queries: {q}')
    _check_direct(a, 'b.test', 'sasl-external', 'out')
    _check_direct(b, 'a.test', 'sasl-external', 'in')


def test_directtls_srv_falls_back_to_starttls(t):
    """The _xmpps-server target (priority 5) is b.test's STARTTLS port, which
    does not speak TLS first: the handshake fails and the next candidate,
    _xmpp-server (priority 10), carries the message over STARTTLS."""
    _need_dnsmasq()
    ip_a, ip_b, ip_dns = t.ip(), t.ip(), t.ip()
    dns = t.dnsmasq(ip_dns, srv=[(SRVS_B, 'b-dt.test', XMPP_PORT, 5, 5),
                                 (SRV_B, 'b-st.test', XMPP_PORT, 10, 5)],
                    hosts={'b-st.test': ip_b, 'b-dt.test': ip_b})
    b = t.daemon('b.test', ip=ip_b, host_map={'a.test': ip_a})
    a = t.daemon('a.test', ip=ip_a, extra_args=['--dns-server', f'{dns.ip}:{DNS_PORT}'])
    body = f'second candidate {t.nonce}'
    a.send('u@a.test', 'x@b.test', body)
    b.wait_body(body, 20, frm='u@a.test')
    check(a.find_log(r'direct TLS to .*:5269 failed'), 'a.test: the failed direct TLS attempt is not logged')
    out = a.links(direction='out', remote='b.test', state='open')
    check(out and out[0].get('transport') == 'starttls', f'a.test: want the STARTTLS link: {out}')


def _client_ctx(t, alpn):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_verify_locations(os.path.join(t.run.certs, 'ca.pem'))
    ctx.load_cert_chain(os.path.join(t.run.certs, 'a.test.pem'), os.path.join(t.run.certs, 'a.test.key'))
    if alpn is not None:
        ctx.set_alpn_protocols(alpn)
    return ctx


def _raw_direct(t, ip, alpn):
    """A TLS client (Python's ssl) to ip:5270 with the given ALPN offer (None:
    none): handshake (the server's certificate verified for b.test), a stream
    header from a.test; returns (the ALPN agreed, what b.test sent up to its
    features)."""
    ctx = _client_ctx(t, alpn)
    with socket.create_connection((ip, TLS_PORT), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname='b.test') as s:
            agreed = s.selected_alpn_protocol()
            s.sendall(b"<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
                      b"xmlns:stream='http://etherx.jabber.org/streams' from='a.test' to='b.test' "
                      b"version='1.0'>")
            got = b''
            while b'</stream:features>' not in got:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
            return agreed, got.decode('utf-8', 'replace')


def test_directtls_alpn_not_required(t):
    """b.test's direct TLS listener: a client offering no ALPN (as Prosody
    0.12 does) or only another protocol is served all the same; one offering
    xmpp-server gets it. The features never offer STARTTLS (rule 5)."""
    ip_b = t.ip()
    b = _tls_daemon(t, 'b.test', ip_b)
    for offer, want in ((None, None), (['h2'], None), (['h2', 'xmpp-server'], 'xmpp-server')):
        agreed, got = _raw_direct(t, ip_b, offer)
        check(agreed == want, f'ALPN offer {offer}: agreed {agreed!r}, want {want!r}')
        check('<stream:features>' in got and '</stream:features>' in got, f'ALPN offer {offer}: no features: {got}')
        check('starttls' not in got, f'ALPN offer {offer}: STARTTLS offered over direct TLS: {got}')
        check('EXTERNAL' in got, f'ALPN offer {offer}: SASL EXTERNAL not offered to a valid certificate: {got}')
    check(poll(lambda: b.find_log(r'ALPN none'), 5), 'b.test: the link without ALPN is not logged')
    check(b.find_log(r'ALPN xmpp-server'), 'b.test: the link with ALPN xmpp-server is not logged')


def test_directtls_listener_needs_certificate_and_option(t):
    """--listen-tls needs ADDR:PORT; a bad value stops xs2sd with a message."""
    import subprocess
    r = subprocess.run(t.run.runner + [t.run.xs2sd, '--domain', 'b.test', '--listen-tls', 'nonsense'],
                       capture_output=True, text=True, timeout=10)
    check(r.returncode != 0 and re.search(r'bad direct TLS listen address', r.stderr),
          f'xs2sd --listen-tls nonsense: status {r.returncode}, stderr {r.stderr!r}')


def test_directtls_listener_refuses_plaintext(t):
    """A peer that speaks plaintext XMPP to the direct TLS port (a STARTTLS
    client at the wrong port) gets no stream header and no XML: at most a
    TLS alert, then the connection closes; the daemon serves on."""
    ip_a, ip_b = t.ip(), t.ip()
    b = _tls_daemon(t, 'b.test', ip_b, host_map={'a.test': ip_a})
    with socket.create_connection((ip_b, TLS_PORT), timeout=10) as s:
        s.sendall(b"<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
                  b"xmlns:stream='http://etherx.jabber.org/streams' from='a.test' to='b.test' version='1.0'>")
        got = b''
        while True:
            try:
                chunk = s.recv(4096)
            except ConnectionResetError:
                break
            if not chunk:
                break
            got += chunk
    check(b'<' not in got, f'b.test answered plaintext on its direct TLS port with XML: {got[:200]!r}')
    check(not got or got[0] == 21, f'b.test: want nothing or a TLS alert record, got {got[:40]!r}')
    check(poll(lambda: not b.links(), 10), f'b.test: the link is still there: {b.status().get("links")}')
    a = t.daemon('a.test', ip=ip_a, host_map={'b.test': ip_b})
    body = f'still serving {t.nonce}'
    a.send('u@a.test', 'x@b.test', body)
    b.wait_body(body, 15, frm='u@a.test')
