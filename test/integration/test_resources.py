# SPDX-License-Identifier: MIT
"""Running out of link slots, and peers that vanish during stream setup."""
import s2speer
from harness import check, poll, kconfig, start_b, other_link_works, plain_stream


def test_link_slots_exhausted(t):
    size = kconfig(t.run, 'XS2S_MAX_LINKS')
    check(isinstance(size, int) and size > 0,
          f'CONFIG_XS2S_MAX_LINKS not found in {t.run.build}/.config')
    b, ip_a = start_b(t)
    check(b.status()['pools']['links']['size'] == size,
          f'status pools.links.size is not CONFIG_XS2S_MAX_LINKS={size}: {b.status()["pools"]}')
    held = [plain_stream(t, b) for _ in range(size)]  # every slot, in stream setup
    pool = b.status()['pools']['links']
    check(pool['used'] == size and pool['fails'] == 0, f'after {size} streams: {pool}')

    try:  # one too many: accepted then closed, or refused
        extra = t.raw_connect(b.addr, 'one too many')
        extra.send(s2speer.stream_header('c.test', 'b.test'))
        check(extra.wait_closed(5), 'a connection beyond the last link slot was not closed')
        check(not extra.received, f'a connection beyond the last slot was served: {extra.received}')
    except OSError:
        pass
    b.wait_log(r'all \d+ link slots in use', 5)
    pool = b.status()['pools']['links']
    check(pool['used'] == pool['size'] == size and pool['high'] == size and pool['fails'] > 0,
          f'pools.links should be full with a refusal counted: {pool}')

    for s in held:
        s.close()
    check(poll(lambda: b.status()['pools']['links']['used'] == 0, 5, 0.2),
          f'link slots not freed 5 s after the peers closed: {b.status()["pools"]["links"]}')
    other_link_works(t, b, ip_a, both=True)


def test_peer_closes_during_setup_bounces(t):
    """d.test accepts b's connection, reads its header and hangs up."""
    d = t.raw_listener(lambda s: s.read_header(5), name='d.test')
    b, ip_a = start_b(t, hosts={'d.test': d.addr[0]})
    body = f'to a peer that hangs up {t.nonce}'
    b.send('u@b.test', 'x@d.test', body)
    m = b.wait_message(lambda m: m.get('type') == 'error' and m.get('body') == body, 5,
                       'bounce of the message to d.test')
    check(m.get('error') == 'remote-server-not-found',
          f'bounce condition {m.get("error")!r}, expected remote-server-not-found: {m}')
    check(m.get('from', '').split('/')[0] == 'x@d.test' and m.get('to', '').split('/')[0] == 'u@b.test',
          f'bounce wrongly addressed: {m}')
    check(d.handled, f'd.test never got b.test\'s stream header (errors: {d.errors})')
    check(not b.links(remote='d.test'), f'a link to d.test is left: {b.status().get("links")}')
    other_link_works(t, b, ip_a)
