# SPDX-License-Identifier: MIT
"""Device accounts (xs2sd --account): a raw c.test subscribes to
sensor@b.test over an authenticated stream and gets `subscribed` and the
presence over b's own outbound stream (RFC 6121 3.1.5), the subscription
is in the subscriptions file and survives a restart (the restarted xs2sd
sends the presence at start); the ask policy through xs2sctl; and two
daemons: an account's presence reaches a subscriber on another xs2sd when
it starts."""
import os
import time

from s2speer import NS_SERVER
from harness import PORT, check, poll, start_b, authenticated_stream, peer_stanza, expect_quiet, read_text

ACCT = 'sensor@b.test'


def presence(frm, to, ptype=None):
    t = f" type='{ptype}'" if ptype else ''
    return f"<presence from='{frm}' to='{to}'{t} id='{os.urandom(4).hex()}'/>"


def is_presence(frm, to, ptype=None):
    """A predicate for the raw peer's stanzas: presence from frm to to, of ptype (None: available)."""
    return lambda x: (x.is_(NS_SERVER, 'presence') and x.attrs.get('from') == frm
                      and x.attrs.get('to') == to and x.attrs.get('type') == ptype)


def start_b_account(t, args, ip=None, c=None):
    """b.test with sensor@b.test and the given account options; c.test's
    FakeServer (made unless given) receives b's outbound streams. Returns
    (c's Identity, the FakeServer, b)."""
    cid = t.ident('c.test')
    ip_b = ip or t.ip()
    if c is None:
        c = t.fake_server(cid, on_result='accept', hosts={'b.test': (ip_b, PORT)})
    b, _ = start_b(t, c.addr[0], ip=ip_b, extra_args=['--account', ACCT] + list(args))
    return cid, c, b


def subscriptions(d):
    return d.ctl_json('subscriptions').get('subscriptions', [])


def test_account_subscribe_presence_and_restart(t):
    """Allow list (c.test): subscribe gets subscribed, then the presence; a
    probe gets the presence again; the file holds the subscription, and a
    restarted xs2sd loads it and sends the presence at start."""
    path = os.path.join(t.dir, 'subscriptions')
    args = ['--subscription-policy', 'allow-list', '--allow-subscriber', 'c.test', '--subscriptions-file', path]
    cid, c, b = start_b_account(t, args)
    s = authenticated_stream(t, cid, b)
    s.send(presence('x@c.test/r', ACCT, 'subscribe'))
    peer_stanza(c, is_presence(ACCT, 'x@c.test', 'subscribed'), 10, 'subscribed from sensor@b.test')
    peer_stanza(c, is_presence(ACCT, 'x@c.test'), 10, 'the presence of sensor@b.test')
    check([x.attrs.get('type') for x in c.stanzas if x.is_(NS_SERVER, 'presence')] == ['subscribed', None],
          f'c.test: subscribed, then the presence, expected: {c.stanzas}')
    check(all(x.tls for x in c.stanzas), 'presence sent without TLS')
    check('sensor@b.test x@c.test subscribed' in read_text(path),
          f'{path}: no subscription: {read_text(path)!r}')
    check(subscriptions(b) == [{'account': ACCT, 'contact': 'x@c.test', 'state': 'subscribed'}],
          f'xs2sctl subscriptions: {subscriptions(b)}')
    pools = b.status().get('pools', {})
    check(pools.get('subscriptions', {}).get('used') == 1 and pools.get('accounts', {}).get('used') == 1,
          f'status pools: accounts {pools.get("accounts")}, subscriptions {pools.get("subscriptions")}')
    # RFC 6121 4.3.2: a subscriber's probe gets the presence.
    n = len(c.stanzas)
    s.send(presence('x@c.test/r', ACCT, 'probe'))
    peer_stanza(c, lambda x: x in c.stanzas[n:] and is_presence(ACCT, 'x@c.test/r')(x), 10, 'probe answer')
    expect_quiet(s)

    # A restart keeps it: the new xs2sd sends the presence at start.
    s.close()
    check(b.stop_now(timeout=8) == 0, f'{b.name}: unclean stop')
    problems = b.reap(time.monotonic() + 5)
    check(not problems, f'{b.name}: {problems}')
    n = len(c.stanzas)
    _, _, b2 = start_b_account(t, args, ip=b.ip, c=c)
    peer_stanza(c, lambda x: x in c.stanzas[n:] and is_presence(ACCT, 'x@c.test')(x), 15,
                'the presence after the restart')
    check(subscriptions(b2) == [{'account': ACCT, 'contact': 'x@c.test', 'state': 'subscribed'}],
          f'after the restart, xs2sctl subscriptions: {subscriptions(b2)}')
    b2.wait_log(r'subscriptions file .*: 1 subscription\b', 5)


def test_account_ask_and_refusals(t):
    """Policy ask: the request waits (xs2sctl subscriptions: pending), xs2sctl
    subscription accept sends subscribed and the presence; refuse sends
    unsubscribed; unsubscribe then gets unavailable (RFC 6121 3.3.3)."""
    path = os.path.join(t.dir, 'subscriptions')
    cid, c, b = start_b_account(t, ['--subscription-policy', 'ask', '--subscriptions-file', path])
    s = authenticated_stream(t, cid, b)
    s.send(presence('x@c.test/r', ACCT, 'subscribe') + presence('y@c.test', ACCT, 'subscribe'))
    check(poll(lambda: len(subscriptions(b)) == 2, 10, 0.1), f'requests not waiting: {subscriptions(b)}')
    check({r['state'] for r in subscriptions(b)} == {'pending'}, f'not pending: {subscriptions(b)}')
    check('sensor@b.test x@c.test pending' in read_text(path), f'{path}: {read_text(path)!r}')
    check(not [x for x in c.stanzas if x.is_(NS_SERVER, 'presence')], f'answered before asked: {c.stanzas}')
    b.ctl('subscription', 'accept', ACCT, 'x@c.test')
    peer_stanza(c, is_presence(ACCT, 'x@c.test', 'subscribed'), 10, 'subscribed after accept')
    peer_stanza(c, is_presence(ACCT, 'x@c.test'), 10, 'the presence after accept')
    b.ctl('subscription', 'refuse', ACCT, 'y@c.test')
    peer_stanza(c, is_presence(ACCT, 'y@c.test', 'unsubscribed'), 10, 'unsubscribed after refuse')
    check(subscriptions(b) == [{'account': ACCT, 'contact': 'x@c.test', 'state': 'subscribed'}],
          f'xs2sctl subscriptions: {subscriptions(b)}')
    s.send(presence('x@c.test', ACCT, 'unsubscribe'))
    peer_stanza(c, is_presence(ACCT, 'x@c.test', 'unavailable'), 10, 'unavailable after unsubscribe')
    check(poll(lambda: not subscriptions(b), 5, 0.1), f'still subscribed: {subscriptions(b)}')
    check('x@c.test' not in read_text(path), f'{path} keeps x@c.test: {read_text(path)!r}')
    out = b.ctl('subscriptions')
    check('(no subscriptions)' in out, f'xs2sctl subscriptions: {out!r}')
    expect_quiet(s)


def test_account_presence_to_other_daemon(t):
    """Two daemons: a.test's account has a subscriber on b.test (from its
    subscriptions file); at start a.test opens a stream to b.test for the
    presence, which b.test receives (and, without a handler for it, drops)."""
    ip_a, ip_b = t.ip(), t.ip()
    path = os.path.join(t.dir, 'subscriptions')
    with open(path, 'w') as f:
        f.write('# saved earlier\nsensor@a.test x@b.test subscribed\n')
    b = t.daemon('b.test', ip=ip_b, host_map={'a.test': ip_a})
    a = t.daemon('a.test', ip=ip_a, host_map={'b.test': ip_b},
                 extra_args=['--account', 'sensor@a.test', '--subscriptions-file', path])
    b.wait_log(r'presence \(no type\) from sensor@a\.test to x@b\.test dropped', 15)
    check(poll(lambda: a.links(direction='out', remote='b.test', state='open'), 5, 0.1),
          f'a: no open link to b.test: {a.status().get("links")}')
    link = a.links(direction='out', remote='b.test', state='open')[0]
    check(link.get('stanzas_out', 0) >= 1 and link.get('transport') == 'starttls', f'a: link to b.test: {link}')
    pools = a.status().get('pools', {})
    check(pools.get('subscriptions', {}).get('used') == 1, f'a: subscriptions pool {pools.get("subscriptions")}')
