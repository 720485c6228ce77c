# SPDX-License-Identifier: MIT
"""dnsmasq as the tests' DNS server: it answers only the .test zone, from
its command line, and never forwards anything off the machine (no upstream:
--no-resolv and no --server; --local=/test/; --no-hosts;
--conf-file=/dev/null). Any other name gets REFUSED, a name of .test without
records NXDOMAIN. Every query is logged."""
import os
import shutil
import socket
import struct
import time

from .proc import Proc
from .tcp import require_free
from .testkit import Fail, check

DNSMASQ_PATHS = ('/usr/sbin/dnsmasq', '/sbin/dnsmasq')
QTYPE = {'A': 1, 'SOA': 6, 'SRV': 33}


def dnsmasq_exe():
    """dnsmasq's path, or None when it is not installed (Debian package dnsmasq-base)."""
    return shutil.which('dnsmasq') or next((p for p in DNSMASQ_PATHS if os.access(p, os.X_OK)), None)


def dns_query(name, qtype, qid=0x5c5c):
    """A DNS query (recursion desired) for name, qtype a number."""
    q = struct.pack('>HHHHHH', qid, 0x0100, 1, 0, 0, 0)
    for label in name.split('.'):
        q += bytes([len(label)]) + label.encode()
    return q + b'\0' + struct.pack('>HH', qtype, 1)


def xmpp_srv(domain, port=5269):
    """The SRV record _xmpp-server._tcp.DOMAIN -> DOMAIN:port (for srv=)."""
    return (f'_xmpp-server._tcp.{domain}', domain, port, 0, 5)


class Dnsmasq(Proc):
    """dnsmasq on ip:port (UDP), started and stopped by PID (Proc). hosts:
    {name: IPv4 address} (A records); srv: (name, target, port, priority,
    weight) SRV records. start() returns once it answers `probe` (name, type);
    queries() lists what it was asked."""

    def __init__(self, ip, port, log_path, hosts=None, srv=(), probe=('test', 'SOA')):
        exe = dnsmasq_exe()
        check(exe, 'dnsmasq not installed (Debian package dnsmasq-base)')
        self.ip, self.port, self.probe = ip, port, probe
        argv = [exe, '--no-daemon', '--no-resolv', '--no-hosts', '--conf-file=/dev/null', '--pid-file',
                '--bind-interfaces', f'--listen-address={ip}', f'--port={port}',
                '--local=/test/', '--cache-size=0', '--log-queries', '--log-facility=-']
        argv += [f'--host-record={name},{addr}' for name, addr in (hosts or {}).items()]
        argv += [f'--srv-host={name},{target},{p},{prio},{weight}' for name, target, p, prio, weight in srv]
        super().__init__('dnsmasq', argv, log_path)

    def start(self, timeout=5):
        require_free(self.ip, self.port, 'dnsmasq', 'udp')
        super().start()
        query = dns_query(self.probe[0], QTYPE[self.probe[1]])
        deadline = time.monotonic() + timeout
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            while True:
                if not self.alive():
                    self.exit_problem = 'reported'
                    raise Fail(f'dnsmasq exited at start with status {self.proc.returncode}: '
                               + ' | '.join(self.log_tail(5)))
                try:
                    s.sendto(query, (self.ip, self.port))
                    s.recv(512)
                    return self
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise Fail(f'dnsmasq on {self.ip}:{self.port} did not answer within {timeout}s')

    def queries(self):
        """What it was asked so far, in order: (type, name), e.g. ('SRV', '_xmpp-server._tcp.b.test')."""
        out = []
        for ln in self.log_text().splitlines():
            i = ln.find('query[')
            if i >= 0:
                typ, _, rest = ln[i + 6:].partition('] ')
                out.append((typ, rest.split(' ')[0]))
        return out
