# SPDX-License-Identifier: MIT
"""Peer resolution through a real DNS server: dnsmasq on a loopback address
serves a tiny .test zone (SRV and address records); an a.test daemon WITHOUT
a host-map entry for b.test finds b.test through it (xs2sd --dns-server).

dnsmasq never forwards anything off the machine: --no-resolv and no
--server (no upstream at all), --local=/test/ (the zone is answered from the
command line only), --no-hosts, --conf-file=/dev/null. Only if dnsmasq is
not installed are these tests skipped, saying so."""
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time

from harness import Fail, check

DNS_PORT = 5300
XMPP_PORT = 5269
DNSMASQ_PATHS = ('/usr/sbin/dnsmasq', '/sbin/dnsmasq')
READY_TIMEOUT = 5
QUERY_TYPE_SOA = 6
CONNECT_RE = r'connecting to (\S+?):(\d+)'


def _dnsmasq_exe():
    return shutil.which('dnsmasq') or next((p for p in DNSMASQ_PATHS if os.access(p, os.X_OK)), None)


def _skip_without_dnsmasq(name):
    """True (and a clear SKIP line) when dnsmasq is not installed."""
    if _dnsmasq_exe():
        return False
    print(f'SKIP {name}: dnsmasq is not installed (apt-get install dnsmasq-base, or `make deps` '
          f'once DEPS_TEST lists dnsmasq)', flush=True)
    return True


def _query(name, qtype, qid=0x5c5c):
    q = struct.pack('>HHHHHH', qid, 0x0100, 1, 0, 0, 0)
    for label in name.split('.'):
        q += bytes([len(label)]) + label.encode()
    return q + b'\0' + struct.pack('>HH', qtype, 1)


class Dnsmasq:
    """dnsmasq answering only for .test on ip:DNS_PORT, started and stopped by
    PID. srv: (target, port, priority, weight) records of
    _xmpp-server._tcp.b.test; hosts: {name: IPv4 address}. Its query log is
    copied into the test's trace when it stops (shown on failure)."""

    def __init__(self, t, ip, srv=(), hosts=None):
        self.t, self.ip, self.proc = t, ip, None
        self.log_path = os.path.join(t.dir, 'dnsmasq.log')
        self.argv = [_dnsmasq_exe(), '--no-daemon', '--no-resolv', '--no-hosts', '--conf-file=/dev/null',
                     '--pid-file', '--bind-interfaces', f'--listen-address={ip}', f'--port={DNS_PORT}',
                     '--local=/test/', '--cache-size=0', '--log-queries', '--log-facility=-']
        for target, port, prio, weight in srv:
            self.argv.append(f'--srv-host=_xmpp-server._tcp.b.test,{target},{port},{prio},{weight}')
        for name, addr in (hosts or {}).items():
            self.argv.append(f'--host-record={name},{addr}')

    def start(self):
        with open(self.log_path, 'w') as log:
            log.write('# ' + ' '.join(self.argv) + '\n')
            log.flush()
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        self.t.servers.append(self)  # stopped by T.cleanup()
        deadline = time.monotonic() + READY_TIMEOUT
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            while True:
                if self.proc.poll() is not None:
                    raise Fail(f'dnsmasq exited at start with status {self.proc.returncode}: '
                               + ' | '.join(self.log_tail(5)))
                try:
                    s.sendto(_query('test', QUERY_TYPE_SOA), (self.ip, DNS_PORT))
                    s.recv(512)
                    return self
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise Fail(f'dnsmasq on {self.ip}:{DNS_PORT} did not answer within {READY_TIMEOUT}s')

    def log_tail(self, n=40):
        try:
            with open(self.log_path, errors='replace') as f:
                return f.read().splitlines()[-n:]
        except OSError:
            return []

    def queries(self):
        """The 'query[TYPE] name' lines dnsmasq logged, as (type, name)."""
        out = []
        for ln in self.log_tail(10000):
            i = ln.find('query[')
            if i >= 0:
                typ, _, rest = ln[i + 6:].partition('] ')
                out.append((typ, rest.split(' ')[0]))
        return out

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(3)
        for ln in self.log_tail():
            self.t.trace(f'dnsmasq| {ln}')
        self.proc = None


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
    if _skip_without_dnsmasq('test_dns_srv_priority_honoured'):
        return
    _require_dns_server_option(t)
    ip_a, ip_b, ip_dead, ip_dns = t.ip(), t.ip(), t.ip(), t.ip()
    dns = Dnsmasq(t, ip_dns, srv=[('b-dead.test', XMPP_PORT, 20, 5), ('b-live.test', XMPP_PORT, 10, 5)],
                  hosts={'b-live.test': ip_b, 'b-dead.test': ip_dead}).start()
    b = t.daemon('b.test', ip=ip_b, host_map={'a.test': ip_a})
    a = _a_finds_b(t, dns, ip_a, b, (ip_b, XMPP_PORT))
    check((ip_dead, XMPP_PORT) not in _connects(a),
          f'{a.name}: connected to the lower-priority (dead) target although the first one worked')


def test_dns_srv_next_candidate(t):
    """SRV: a dead address has the lower priority number: it is tried first,
    then the live one (the link walks the candidate list)."""
    if _skip_without_dnsmasq('test_dns_srv_next_candidate'):
        return
    _require_dns_server_option(t)
    ip_a, ip_b, ip_dead, ip_dns = t.ip(), t.ip(), t.ip(), t.ip()
    dns = Dnsmasq(t, ip_dns, srv=[('b-dead.test', XMPP_PORT, 10, 5), ('b-live.test', XMPP_PORT, 20, 5)],
                  hosts={'b-live.test': ip_b, 'b-dead.test': ip_dead}).start()
    b = t.daemon('b.test', ip=ip_b, host_map={'a.test': ip_a})
    a = _a_finds_b(t, dns, ip_a, b, (ip_dead, XMPP_PORT))
    check((ip_b, XMPP_PORT) in _connects(a), f'{a.name}: never connected to the live target')


def test_dns_fallback_to_a(t):
    """No SRV records for b.test (NXDOMAIN from dnsmasq's local zone): the
    address record of b.test itself, port 5269."""
    if _skip_without_dnsmasq('test_dns_fallback_to_a'):
        return
    _require_dns_server_option(t)
    ip_a, ip_b, ip_dns = t.ip(), t.ip(), t.ip()
    dns = Dnsmasq(t, ip_dns, hosts={'b.test': ip_b}).start()
    b = t.daemon('b.test', ip=ip_b, host_map={'a.test': ip_a})
    _a_finds_b(t, dns, ip_a, b, (ip_b, XMPP_PORT))
    q = dns.queries()
    check(('A', 'b.test') in q, f'dnsmasq saw no A query for b.test: {q}')
    check(q.index(('SRV', '_xmpp-server._tcp.b.test')) < q.index(('A', 'b.test')),
          f'the A query came before the SRV query: {q}')


def test_dns_no_such_domain(t):
    """Neither SRV nor address records: the sender gets a remote-server-not-found bounce."""
    if _skip_without_dnsmasq('test_dns_no_such_domain'):
        return
    _require_dns_server_option(t)
    ip_a, ip_dns = t.ip(), t.ip()
    Dnsmasq(t, ip_dns).start()
    a = t.daemon('a.test', ip=ip_a, extra_args=['--dns-server', f'{ip_dns}:{DNS_PORT}'])
    body = f'to nowhere {t.nonce}'
    a.send('u@a.test', 'x@b.test', body)
    m = a.wait_message(lambda m: m.get('type') == 'error', 20, 'bounce')
    check(m.get('error') == 'remote-server-not-found', f'{a.name}: bounce {m}, expected remote-server-not-found')

