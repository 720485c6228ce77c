# SPDX-License-Identifier: MIT
"""Peer resolution through a real DNS server: dnsmasq on a loopback address
serves a tiny .test zone (SRV and address records); an a.test daemon WITHOUT
a host-map entry for b.test finds b.test through it (xs2sd --dns-server).

dnsmasq never forwards anything off the machine: --no-resolv and no
--server (no upstream at all), --local=/test/ (the zone is answered from the
command line only), --no-hosts, --conf-file=/dev/null. Only if dnsmasq is
not installed are these tests skipped, saying so."""
import re
import subprocess

from harness import DNS_PORT, Skip, check
from lib.dnsmasq import dnsmasq_exe

XMPP_PORT = 5269
SRV_B = '_xmpp-server._tcp.b.test'
CONNECT_RE = r'connecting to (\S+?):(\d+)'


def _need_dnsmasq():
    """Skip (saying so) when dnsmasq is not installed."""
    if not dnsmasq_exe():
        raise Skip('dnsmasq is not installed (apt-get install dnsmasq-base, or `make deps` '
                   'once DEPS_TEST lists dnsmasq)')


def _require_dns_server_option(t):
    """xs2sd must have --dns-server (the lead wires xs2s_dns_set_server into it)."""
    r = subprocess.run(t.run.runner + [t.run.xs2sd, '--help'], capture_output=True, text=True, timeout=5)
    check('--dns-server' in r.stdout + r.stderr,
          'xs2sd has no --dns-server option yet (port/posix/xs2sd.c must call xs2s_dns_set_server)')


def _connects(d):
    """(address, port) of every outbound connect d logged, in order."""
    out = []
    for ln in d.find_log(CONNECT_RE):
        m = re.search(CONNECT_RE, ln)
        out.append((m.group(1).strip('[]'), int(m.group(2))))
    return out


def _a_finds_b(t, dns, ip_a, b, first):
    """a.test (no host map for b.test, --dns-server dns) sends a message that
    b receives; a's first connect goes to `first`. Returns a."""
    a = t.daemon('a.test', ip=ip_a, extra_args=['--dns-server', f'{dns.ip}:{DNS_PORT}'])
    body = f'found through DNS {t.nonce}'
    a.send('u@a.test', 'x@b.test', body)
    b.wait_body(body, 20, frm='u@a.test')
    conns = _connects(a)
    check(conns, f'{a.name}: no "connecting to" line in its log')
    check(conns[0] == first, f'{a.name}: first connect went to {conns[0]}, expected {first} '
          f'(all connects: {conns})')
    check(('SRV', '_xmpp-server._tcp.b.test') in dns.queries(),
          f'dnsmasq saw no SRV query for b.test: {dns.queries()}')
    return a


def test_dns_srv_priority_honoured(t):
    """SRV: the live daemon has the lower priority number, a dead address the
    higher one: the live one is tried first and the message arrives."""
    _need_dnsmasq()
    _require_dns_server_option(t)
    ip_a, ip_b, ip_dead, ip_dns = t.ip(), t.ip(), t.ip(), t.ip()
    dns = t.dnsmasq(ip_dns, srv=[(SRV_B, 'b-dead.test', XMPP_PORT, 20, 5),
                                 (SRV_B, 'b-live.test', XMPP_PORT, 10, 5)],
                    hosts={'b-live.test': ip_b, 'b-dead.test': ip_dead})
    b = t.daemon('b.test', ip=ip_b, host_map={'a.test': ip_a})
    a = _a_finds_b(t, dns, ip_a, b, (ip_b, XMPP_PORT))
    check((ip_dead, XMPP_PORT) not in _connects(a),
          f'{a.name}: connected to the lower-priority (dead) target although the first one worked')


def test_dns_srv_next_candidate(t):
    """SRV: a dead address has the lower priority number: it is tried first,
    then the live one (the link walks the candidate list)."""
    _need_dnsmasq()
    _require_dns_server_option(t)
    ip_a, ip_b, ip_dead, ip_dns = t.ip(), t.ip(), t.ip(), t.ip()
    dns = t.dnsmasq(ip_dns, srv=[(SRV_B, 'b-dead.test', XMPP_PORT, 10, 5),
                                 (SRV_B, 'b-live.test', XMPP_PORT, 20, 5)],
                    hosts={'b-live.test': ip_b, 'b-dead.test': ip_dead})
    b = t.daemon('b.test', ip=ip_b, host_map={'a.test': ip_a})
    a = _a_finds_b(t, dns, ip_a, b, (ip_dead, XMPP_PORT))
    check((ip_b, XMPP_PORT) in _connects(a), f'{a.name}: never connected to the live target')


def test_dns_fallback_to_a(t):
    """No SRV records for b.test (NXDOMAIN from dnsmasq's local zone): the
    address record of b.test itself, port 5269."""
    _need_dnsmasq()
    _require_dns_server_option(t)
    ip_a, ip_b, ip_dns = t.ip(), t.ip(), t.ip()
    dns = t.dnsmasq(ip_dns, hosts={'b.test': ip_b})
    b = t.daemon('b.test', ip=ip_b, host_map={'a.test': ip_a})
    _a_finds_b(t, dns, ip_a, b, (ip_b, XMPP_PORT))
    q = dns.queries()
    check(('A', 'b.test') in q, f'dnsmasq saw no A query for b.test: {q}')
    check(q.index(('SRV', '_xmpp-server._tcp.b.test')) < q.index(('A', 'b.test')),
          f'the A query came before the SRV query: {q}')


def test_dns_no_such_domain(t):
    """Neither SRV nor address records: the sender gets a remote-server-not-found bounce."""
    _need_dnsmasq()
    _require_dns_server_option(t)
    ip_a, ip_dns = t.ip(), t.ip()
    t.dnsmasq(ip_dns)
    a = t.daemon('a.test', ip=ip_a, extra_args=['--dns-server', f'{ip_dns}:{DNS_PORT}'])
    body = f'to nowhere {t.nonce}'
    a.send('u@a.test', 'x@b.test', body)
    m = a.wait_message(lambda m: m.get('type') == 'error', 20, 'bounce')
    check(m.get('error') == 'remote-server-not-found', f'{a.name}: bounce {m}, expected remote-server-not-found')

