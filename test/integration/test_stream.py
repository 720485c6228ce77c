# SPDX-License-Identifier: MIT
"""Stream-level protection: addressing, restricted XML, stanza size."""
import s2speer
from s2speer import NS_STREAM
from harness import (check, start_b, other_link_works, authenticated_stream,
                     expect_stream_error, expect_refused, plain_stream)


def test_spoofed_from_refused(t):
    cid = t.ident('c.test')
    c = t.fake_server(cid)  # c.test's authoritative server
    b, ip_a = start_b(t, c.addr[0])
    s = authenticated_stream(t, cid, b)
    s.send(s2speer.message('mallory@evil.test', 'u@b.test', f'SPOOF {t.nonce}'))
    expect_refused(b, s, 'invalid-from')
    other_link_works(t, b, ip_a)
    b.assert_no_body('SPOOF')
    evil = [m for m in b.messages if 'evil.test' in m.get('from', '')]
    check(not evil, f'inbox has messages from evil.test: {evil}')


def _restricted(t, markup):
    b, ip_a = start_b(t)
    s = plain_stream(t, b)
    s.send(markup)
    expect_refused(b, s, 'restricted-xml')
    other_link_works(t, b, ip_a)


def test_restricted_xml_doctype(t):
    _restricted(t, '<!DOCTYPE foo>')


def test_restricted_xml_comment(t):
    _restricted(t, '<!-- hi -->')


def test_oversize_stanza(t):
    b, ip_a = start_b(t)
    s = plain_stream(t, b)
    big = s2speer.message('x@c.test', 'u@b.test', 'A' * 20000).encode()
    # Send in pieces and look for the error in between: the daemon may close
    # (and reset) before reading everything.
    err = None
    for i in range(0, len(big), 1024):
        try:
            s.send(big[i:i + 1024])
        except OSError:
            break
        try:
            it = s.next(0.02)
        except s2speer.Timeout:
            continue
        except s2speer.StreamClosed:
            break
        if it.kind == 'element' and it.is_(NS_STREAM, 'error'):
            err = it
            break
    if err is not None:
        check(err.condition() == 'policy-violation',
              f'stream error {err.condition()!r}, expected policy-violation: {err.raw}')
        check(s.wait_closed(5), 'stream not closed within 5 s after the stream error')
    else:
        expect_stream_error(s, 'policy-violation', 5)
    b.wait_log('policy-violation', 5)
    other_link_works(t, b, ip_a)


def test_xml_arena_exhaustion_fails_one_link(t):
    """A stanza within the size limit whose tree does not fit the XML arena
    (thousands of empty elements: about 144 bytes of arena each) fails only
    its own link, with resource-constraint; the daemon and its other links
    carry on, and the arena is whole again afterwards."""
    cid = t.ident('c.test')
    c = t.fake_server(cid)
    b, ip_a = start_b(t, c.addr[0])
    s = authenticated_stream(t, cid, b)
    kids = '<x/>' * 2400  # 9.6 KB of markup, under the 10240-byte stanza limit
    s.send(f"<message from='x@c.test' to='u@b.test' type='chat'><body>NODES</body>{kids}</message>")
    expect_stream_error(s, 'resource-constraint')
    b.wait_log('resource-constraint', 5)
    pools = b.status()['pools']['xml_arena']
    check(pools['fails'] > 0, f'the XML arena reports no refusal: {pools}')
    other_link_works(t, b, ip_a)
    b.assert_no_body('NODES')
    after = b.status()['pools']['xml_arena']
    check(after['used'] == pools['used'],
          f'XML arena not back to its idle use after the failure: {after} vs {pools}')
