# SPDX-License-Identifier: MIT
"""Inbound stream negotiation refusals: unknown host, stanzas before
authentication, dialback before STARTTLS, unsolicited dialback verdicts."""
import s2speer
from s2speer import NS_STREAM
from harness import (check, start_b, other_link_works, plain_stream, expect_refused, Fail)


def test_stream_to_unknown_host(t):
    b, ip_a = start_b(t)
    s = t.raw_connect(b.addr, 'c.test->nobody.test')
    s.send(s2speer.stream_header('c.test', 'nobody.test'))
    try:
        s.read_header()
    except s2speer.PeerError as e:
        raise Fail(f'no stream header before the stream error: {e}')
    expect_refused(b, s, 'host-unknown')
    feats = [it for it in s.received if it.is_(NS_STREAM, 'features')]
    check(not feats, f'features offered on a stream to a host not served: {feats}')
    other_link_works(t, b, ip_a)


def test_stanza_before_auth(t):
    cid = t.ident('c.test')
    b, ip_a = start_b(t)
    s = t.open_stream(cid, 'b.test', b.addr)  # STARTTLS and restart, no dialback
    s.send(s2speer.message('x@c.test', 'u@b.test', f'UNAUTH {t.nonce}'))
    expect_refused(b, s, 'not-authorized')

    s = plain_stream(t, b)  # TLS is required: dialback must wait for it
    key = s2speer.db_key(cid.secret, 'b.test', 'c.test', s.stream_id)
    s.send(f"<db:result from='c.test' to='b.test'>{key}</db:result>")
    expect_refused(b, s, 'policy-violation')
    started = b.find_log('claims to be')
    check(not started, f'b.test began dialback on a plaintext stream: {started}')
    other_link_works(t, b, ip_a)
    b.assert_no_body('UNAUTH')


def test_unsolicited_dialback_verdict(t):
    cid = t.ident('c.test')
    b, ip_a = start_b(t)
    s = t.open_stream(cid, 'b.test', b.addr)
    s.send("<db:result from='c.test' to='b.test' type='valid'/>")
    expect_refused(b, s, 'not-authorized')
    b.wait_log('unsolicited', 5)
    auth = b.links(remote='c.test', auth='dialback')
    check(not auth, f'c.test authenticated by a verdict it gave itself: {auth}')
    other_link_works(t, b, ip_a)
