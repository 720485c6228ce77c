# SPDX-License-Identifier: MIT
"""XEP-0288 bidirectional streams between two xs2sd daemons: one TCP
connection carries both directions, with SASL EXTERNAL and with dialback
(the db:verify on a connection of its own, XEP-0288 2.2, which closes once
answered); a side without bidi gets today's two connections."""
from harness import check
from lib.testkit import poll
from lib.tcp import established_to

S2S = 5269


def _links_with(d, remote):
    return [ln for ln in d.status().get('links', []) if ln.get('remote') == remote]


def _exchange(t, a, b):
    """a.test -> b.test first, then the answer back."""
    ab = f'hello bob, from alice {t.nonce}'
    ba = f'hello alice, from bob {t.nonce}'
    a.send('alice@a.test', 'bob@b.test', ab)
    b.wait_body(ab, 15, frm='alice@a.test')
    b.send('bob@b.test', 'alice@a.test', ba)
    a.wait_body(ba, 15, frm='bob@b.test')


def _one_bidi_link(t, a, b, ip_a, ip_b, auth_a, auth_b):
    """Each side ends with one open bidi link to the other, carrying
    stanzas both ways, authenticated as said; one TCP connection."""
    for d, other, auth, what in ((a, 'b.test', auth_a, 'out'), (b, 'a.test', auth_b, 'in')):
        links = poll(lambda d=d, other=other: (lambda ls: ls if len(ls) == 1 else None)(_links_with(d, other)),
                     10, 0.1) or _links_with(d, other)
        check(len(links) == 1, f'{d.name}: {len(links)} links with {other}, want 1: {links}')
        ln = links[0]
        check(ln.get('direction') == 'bidi' and ln.get('state') == 'open' and ln.get('transport') == 'starttls',
              f'{d.name}: want one open bidi STARTTLS link with {other}: {ln}')
        check(ln.get('auth') == auth, f'{d.name}: link authenticated by {ln.get("auth")!r}, want {auth!r}: {ln}')
        check(ln.get('stanzas_in', 0) >= 1 and ln.get('stanzas_out', 0) >= 1,
              f'{d.name}: the link did not carry stanzas both ways: {ln}')
        dirs = sorted(p.get('dir', '?') for p in ln.get('pairs', []))
        check(dirs == ['in', 'out'], f'{d.name}: want a pair each way on the {what} stream: {ln.get("pairs")}')
    na, nb = established_to(ip_a, S2S), established_to(ip_b, S2S)
    if a.stack == 'posix' and b.stack == 'posix' and na is not None and nb is not None:
        check(na + nb == 1, f'{na + nb} TCP connections between a.test and b.test (a accepted {na}, '
              f'b accepted {nb}), want 1')


def test_bidi_sasl_external(t):
    """SASL EXTERNAL: a.test asks for bidi on its stream; b.test answers on it
    (XEP-0288 2.2: from the stream's 'to', whose certificate a.test checked)."""
    ip_a, ip_b = t.ip(), t.ip()
    a = t.daemon('a.test', ip=ip_a, host_map={'b.test': ip_b}, bidi=True)
    b = t.daemon('b.test', ip=ip_b, host_map={'a.test': ip_a}, bidi=True)
    _exchange(t, a, b)
    _one_bidi_link(t, a, b, ip_a, ip_b, 'sasl-external', 'sasl-external')


def test_bidi_dialback_untrusted(t):
    """Dialback with untrusted certificates: b.test verifies a.test's key on
    a connection of its own (never the stream that asked, XEP-0288 2.2),
    which closes once answered; the answer goes back on a.test's stream
    (the inverse of the dialback pair)."""
    ip_a, ip_b = t.ip(), t.ip()
    args = ('--ca', t.run.foreign_ca)
    a = t.daemon('a.test', ip=ip_a, host_map={'b.test': ip_b}, extra_args=args, bidi=True)
    b = t.daemon('b.test', ip=ip_b, host_map={'a.test': ip_a}, extra_args=args, bidi=True)
    _exchange(t, a, b)
    _one_bidi_link(t, a, b, ip_a, ip_b, 'dialback', 'dialback')
    b.wait_log('for the db:verify alone', 5, 'the db:verify on a connection of its own')


def test_bidi_peer_without(t):
    """b.test runs with --no-bidi: a.test does not get bidi, two connections
    as before (one each way)."""
    ip_a, ip_b = t.ip(), t.ip()
    a = t.daemon('a.test', ip=ip_a, host_map={'b.test': ip_b}, bidi=True)
    b = t.daemon('b.test', ip=ip_b, host_map={'a.test': ip_a}, bidi=False)
    _exchange(t, a, b)
    for d, other in ((a, 'b.test'), (b, 'a.test')):
        dirs = sorted(ln.get('direction') for ln in _links_with(d, other) if ln.get('state') == 'open')
        check(dirs == ['in', 'out'], f'{d.name}: want an in and an out link with {other}, got {dirs}')
