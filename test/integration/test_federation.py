# SPDX-License-Identifier: MIT
"""Two xs2sd instances federating with each other."""
from harness import build_runner, check, Skip
from lib import netsim


def _tls_links(st, auths):
    return [ln for ln in st.get('links', [])
            if ln.get('state') == 'open' and ln.get('auth') in auths
            and ln.get('transport') == 'starttls'
            and str(ln.get('tls_version', '')).startswith('TLSv1.')
            and ln.get('cipher')]


def _federate(t, auths, cert, args=(), b_build=None):
    """a.test <-> b.test: a message each way, then both status tables show
    open STARTTLS links to the other side authenticated by one of auths,
    with the peer certificate verdict cert. b_build: b.test's xs2sd from
    another build (another port)."""
    ip_a, ip_b = t.ip(), t.ip()
    a = t.daemon('a.test', ip=ip_a, host_map={'b.test': ip_b}, extra_args=args)
    b = t.daemon('b.test', ip=ip_b, host_map={'a.test': ip_a}, extra_args=args, build=b_build)
    ab = f'hello bob, from alice {t.nonce}'
    ba = f'hello alice, from bob {t.nonce}'
    a.send('alice@a.test', 'bob@b.test', ab)
    b.send('bob@b.test', 'alice@a.test', ba)
    m = b.wait_body(ab, 15, frm='alice@a.test')
    check(m.get('to', '').split('/')[0] == 'bob@b.test', f'b.test: wrong recipient: {m}')
    m = a.wait_body(ba, 15, frm='bob@b.test')
    check(m.get('to', '').split('/')[0] == 'alice@a.test', f'a.test: wrong recipient: {m}')

    for d, other in ((a, 'b.test'), (b, 'a.test')):
        st = d.status()
        check(st.get('domain') == d.domain, f'{d.name}: status domain {st.get("domain")!r}')
        good = [ln for ln in _tls_links(st, auths) if ln.get('remote') == other]
        check(good, f'{d.name}: no open starttls link authenticated by {auths} to {other} '
              f'with a TLS version and cipher: {st.get("links")}')
        check(all(ln.get('cert') == cert for ln in good),
              f'{d.name}: want certificate verdict {cert!r}: {good}')
        tot = st.get('totals', {})
        check(tot.get('starttls', 0) >= 1 and tot.get('plain') == 0,
              f'{d.name}: totals {tot} (want starttls >= 1, plain == 0)')
    check(sum(ln.get('stanzas_out', 0) for ln in a.status()['links']) >= 1,
          f'a.test: no stanza counted out: {a.status()["links"]}')
    check(sum(ln.get('stanzas_in', 0) for ln in b.status()['links']) >= 1,
          f'b.test: no stanza counted in: {b.status()["links"]}')


def test_federation_both_directions(t):
    """STARTTLS + dialback (the seed's setup); valid certificates let the
    receiving side skip the db:verify round trip (XEP-0344)."""
    _federate(t, ('dialback', 'dialback+cert'), 'valid', ('--auth', 'dialback'))


def test_dialback_round_trip_untrusted_certs(t):
    """Neither side trusts the other's CA: the certificate is recorded as
    untrusted and dialback (with db:verify to the authoritative server)
    authenticates both directions."""
    _federate(t, ('dialback',), 'untrusted', ('--ca', t.run.foreign_ca))


def test_sasl_external_both_directions(t):
    """Defaults: certificates valid for the peer's domain -> SASL EXTERNAL
    (XEP-0178) in both directions."""
    _federate(t, ('sasl-external',), 'valid')


def test_dialback_piggyback(t):
    ip_a, ip_b = t.ip(), t.ip()
    a = t.daemon('a.test', ip=ip_a, aliases=['a2.test'], host_map={'b.test': ip_b})
    b = t.daemon('b.test', ip=ip_b, host_map={'a.test': ip_a, 'a2.test': ip_a})
    first = f'from the primary domain {t.nonce}'
    second = f'from the alias domain {t.nonce}'
    a.send('u@a.test', 'x@b.test', first)
    b.wait_body(first, 15, frm='u@a.test')
    a.send('v@a2.test', 'y@b.test', second)
    b.wait_body(second, 15, frm='v@a2.test')
    out = a.links(direction='out', remote='b.test', state='open')
    check(len(out) == 1, f'a.test: want exactly one open outbound link to b.test '
          f'(a2.test piggybacked), got {len(out)}: {a.status().get("links")}')
    pairs = {(p['local'], p['state']) for p in out[0].get('pairs', [])}
    check(('a.test', 'valid') in pairs and ('a2.test', 'valid') in pairs,
          f'a.test: want pairs a.test and a2.test valid on that link: {out[0].get("pairs")}')


def _posix_peer_build(t):
    """The POSIX build to federate with, when this is the lwIP build's run."""
    other = t.run.peer_build
    if t.run.port != 'lwip' or not other or netsim.build_port(other) != 'posix':
        raise Skip('needs the lwIP build\'s run with a POSIX build as --peer-build (make test runs it so)')
    return other


def test_federation_across_ports_sasl_external(t):
    """a.test on lwIP (its own stack on a TAP device) and b.test on the POSIX
    port (the kernel's sockets) federate by STARTTLS + SASL EXTERNAL, both
    directions, over real TCP between the two stacks."""
    _federate(t, ('sasl-external',), 'valid', b_build=_posix_peer_build(t))


def test_federation_across_ports_dialback(t):
    """The same with STARTTLS + dialback, each side trusting another CA (the
    full db:verify round trip, both directions)."""
    _federate(t, ('dialback',), 'untrusted', ('--ca', t.run.foreign_ca), b_build=_posix_peer_build(t))


def _router_peer_build(t):
    """A router build (cross-compiled, run under qemu-user) to federate with."""
    other = t.run.peer_build
    if not other or t.run.port != 'posix' or not build_runner(other):
        raise Skip('needs a cross-compiled router build as --peer-build of a POSIX run '
                   '(make test-routers runs it so)')
    return other


def test_federation_router_sasl_external(t):
    """b.test is a router build's xs2sd (another CPU, byte order or word
    size, under qemu-user), a.test a native one: STARTTLS + SASL EXTERNAL,
    both directions, over loopback."""
    _federate(t, ('sasl-external',), 'valid', b_build=_router_peer_build(t))


def test_federation_router_dialback(t):
    """The same with STARTTLS + dialback, each side trusting another CA (the
    full db:verify round trip, both directions)."""
    _federate(t, ('dialback',), 'untrusted', ('--ca', t.run.foreign_ca), b_build=_router_peer_build(t))
