# SPDX-License-Identifier: MIT
"""Shared pieces of the interop suite: failures, processes (started and
stopped by PID), the address plan (loopback on the POSIX port, the run's own
network namespace on the lwIP port), Debian packages, the test PKI, the DNS
server (dnsmasq, answering only the .test zone), the xs2sd under test and a
real XMPP client (slixmpp) for the peer server's side.

Nothing here ever looks a name up outside the plan: dnsmasq runs with
--no-resolv and no upstream, xs2sd gets --dns-server pointing at it, and the
slixmpp client is given its server's address (its DNS lookup is replaced)."""
import asyncio
import json
import logging
import os
import re
import signal
import socket
import subprocess
import threading
import time

import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import testkit  # noqa: E402
from testkit import Fail, check, poll, read_text, TCP_LISTEN, TCP_TIME_WAIT  # noqa: E402,F401
import netsim  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MKCERTS = os.path.normpath(os.path.join(HERE, '..', 'tools', 'mkcerts.sh'))

S2S_PORT = 5269
XS2S_DOMAIN = 'xs2s.test'
XS2S_USER = f'u@{XS2S_DOMAIN}'
DNSMASQ_PATHS = ('/usr/sbin/dnsmasq', '/sbin/dnsmasq')


# ---- the address plan ----------------------------------------------------------

# The same last octets on either port; the network is the build's port's:
# loopback on the POSIX port (the integration tests use 127.0.0.31-60), the
# run's own network namespace on the lwIP port (test/netsim.py).
NETS = {'posix': '127.0.0', 'lwip': netsim.NET}
DNS_OCTET, XS2S_OCTET = 80, 81     # the peers' are theirs (PeerServer.ip)
DNS_PORT = 5300
PORT = XS2S_IP = DNS_IP = None    # use_port()


def use_port(port):
    """Take the address plan of `port` ('posix' or 'lwip') for this run."""
    global PORT, XS2S_IP, DNS_IP
    PORT = port
    XS2S_IP, DNS_IP = addr(XS2S_OCTET), addr(DNS_OCTET)


def addr(octet):
    """The plan's address with this last octet."""
    return f'{NETS[PORT]}.{octet}'


use_port('posix')


# ---- loopback sockets --------------------------------------------------------



def port_states(ip, port, proto='tcp'):
    """States (hex, as in /proc/net/tcp) of the IPv4 sockets bound to
    ip:port (for udp: '07' = bound), or None without /proc."""
    want = ''.join('%02X' % int(x) for x in reversed(ip.split('.'))) + ':%04X' % port
    states = set()
    try:
        with open(f'/proc/net/{proto}') as f:
            next(f)
            for line in f:
                parts = line.split()
                if parts[1] == want:
                    states.add(parts[3])
    except OSError:
        return None
    return states


# Closing states in which the kernel retransmits until the remote ACKs:
# FIN_WAIT1, LAST_ACK, CLOSING.
TCP_UNACKED_CLOSE = {'04', '09', '0B'}


def states_towards(ip):
    """{(local 'ip:port', state)} of the kernel's IPv4 TCP sockets whose
    remote address is ip (empty without /proc)."""
    want = ''.join('%02X' % int(x) for x in reversed(ip.split('.')))
    found = set()
    try:
        with open('/proc/net/tcp') as f:
            next(f)
            for line in f:
                parts = line.split()
                if parts[2].split(':')[0] == want:
                    a, p = parts[1].split(':')
                    local = '.'.join(str(int(a[i:i + 2], 16)) for i in (6, 4, 2, 0)) + f':{int(p, 16)}'
                    found.add((local, parts[3]))
    except OSError:
        pass
    return found


def wildcard_listener(port):
    """True when a TCP socket listens on port on every address (0.0.0.0 or
    ::), e.g. a system XMPP server started by its package: our loopback
    listeners could not bind next to it."""
    if TCP_LISTEN in (port_states('0.0.0.0', port) or set()):
        return True
    want = '0' * 32 + ':%04X' % port
    try:
        with open('/proc/net/tcp6') as f:
            return any(ln.split()[1] == want and ln.split()[3] == TCP_LISTEN for ln in list(f)[1:])
    except OSError:
        return False


def require_free(ip, port, who, proto='tcp'):
    """Fail unless nothing but TIME_WAIT sockets use ip:port."""
    st = port_states(ip, port, proto)
    check(not st or st <= {TCP_TIME_WAIT},
          f'{who}: {ip}:{port}/{proto} is in use (socket states {sorted(st)}); '
          f'is an earlier run still going?')
    check(proto != 'tcp' or not wildcard_listener(port),
          f'{who}: something listens on port {port} on all addresses (a system XMPP server '
          f'started by its Debian package? e.g. systemctl stop prosody); not touching it')


def listening(ip, port):
    st = port_states(ip, port)
    return st is None or TCP_LISTEN in st


# ---- TLS names ---------------------------------------------------------------

def iana_cipher(name):
    """A TLS 1.3 suite as IANA/OpenSSL spell it: wolfSSL (and so xs2sctl)
    says TLS13-AES128-GCM-SHA256 for TLS_AES_128_GCM_SHA256. TLS 1.2 names
    (ECDHE-ECDSA-AES128-GCM-SHA256) are the same in both and kept."""
    if not name or not name.startswith('TLS13-'):
        return name
    rest = name[len('TLS13-'):]
    for short, long_ in (('AES128', 'AES_128'), ('AES256', 'AES_256')):
        rest = rest.replace(short, long_)
    return 'TLS_' + rest.replace('-', '_')


# ---- Debian packages ---------------------------------------------------------

def pkg_version(pkg):
    """Installed version of a Debian package, or None."""
    r = subprocess.run(['dpkg-query', '-W', '-f', '${Status}\t${Version}', pkg],
                       capture_output=True, text=True)
    if r.returncode != 0 or not r.stdout.startswith('install ok installed'):
        return None
    return r.stdout.split('\t', 1)[1]


_apt_updated = False


def apt_install(packages, log_path):
    """Install the Debian packages that are missing (no recommends), from
    Debian's archive through apt-get; Fail if that does not work."""
    global _apt_updated
    missing = [p for p in packages if pkg_version(p) is None]
    if not missing:
        return []
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    with open(log_path, 'a') as log, _no_service_starts():
        for attempt in range(2):
            if attempt or not _apt_updated:
                subprocess.run(['apt-get', 'update', '-qq'], stdout=log, stderr=subprocess.STDOUT,
                               env=env, timeout=300)
                _apt_updated = True
            log.write(f'# apt-get install {" ".join(missing)}\n')
            log.flush()
            r = subprocess.run(['apt-get', 'install', '-y', '--no-install-recommends'] + missing,
                               stdout=log, stderr=subprocess.STDOUT, env=env, timeout=600)
            if r.returncode == 0:
                return missing
    raise Fail(f'apt-get install {" ".join(missing)} failed (see {log_path})')


POLICY_RC_D = '/usr/sbin/policy-rc.d'


class _no_service_starts:
    """While packages install, forbid Debian's maintainer scripts to start
    the servers' system services (they would take the s2s/c2s ports on every
    address): a temporary policy-rc.d answering 101, unless one exists."""

    def __enter__(self):
        self.made = not os.path.exists(POLICY_RC_D)
        if self.made:
            with open(POLICY_RC_D, 'w') as f:
                f.write('#!/bin/sh\n# temporary, test/interop: no service starts during installs\nexit 101\n')
            os.chmod(POLICY_RC_D, 0o755)
        return self

    def __exit__(self, *exc):
        if self.made:
            os.unlink(POLICY_RC_D)
        return False


# ---- processes ---------------------------------------------------------------

class Proc:
    """One child process with its output in a log file. Stopped by PID:
    SIGTERM, then SIGKILL after `grace` seconds."""

    def __init__(self, name, argv, log_path, **popen_kw):
        self.name, self.argv, self.log_path, self.popen_kw = name, list(argv), log_path, popen_kw
        self.proc = None
        self.exit_problem = None

    def start(self):
        with open(self.log_path, 'a') as log:
            log.write('# ' + ' '.join(self.argv) + '\n')
            log.flush()
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         **self.popen_kw)
        return self

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace=5, ok_status=(0, -signal.SIGTERM)):
        """Stop it; returns a list of problems (died early, unclean exit, killed)."""
        problems = []
        if self.proc is None:
            return problems
        if self.proc.poll() is not None:
            if self.exit_problem == 'reported':  # start() already said why
                return problems
            problems.append(f'{self.name}: exited on its own during the test (status {self.proc.returncode})')
            return problems
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(grace)
            if rc not in ok_status:
                problems.append(f'{self.name}: exit status {rc} after SIGTERM')
        except subprocess.TimeoutExpired:
            problems.append(f'{self.name}: still running {grace} s after SIGTERM, killed')
            self.proc.kill()
            self.proc.wait(5)
        return problems

    def log_text(self):
        return read_text(self.log_path)

    def log_tail(self, n=30):
        return self.log_text().splitlines()[-n:]


# ---- PKI ---------------------------------------------------------------------

class Pki:
    """The run's certificates (test/tools/mkcerts.sh): DIR/ca.pem signs a
    leaf per domain (DIR/D.pem, D.chain.pem, D.key); foreign_ca is a CA that
    signed none of them (trusting only it makes every peer 'untrusted')."""

    def __init__(self, rundir, domains):
        self.dir = os.path.join(rundir, 'pki')
        self.ca = os.path.join(self.dir, 'ca.pem')
        foreign = os.path.join(rundir, 'foreign-pki')
        self.foreign_ca = os.path.join(foreign, 'ca.pem')
        for d, args in ((self.dir, list(domains)), (foreign, ['foreign.test'])):
            r = subprocess.run(['bash', MKCERTS, d] + args, capture_output=True, text=True, timeout=60)
            check(r.returncode == 0, f'mkcerts.sh {d} failed: {r.stderr.strip()}')
        os.chmod(self.dir, 0o755)
        os.chmod(foreign, 0o755)

    def special(self, name, opts):
        """A spec certificate (mkcerts.sh NAME:OPTS, e.g. 'san=dns:xs2s.test+xmpp:xs2s.test'),
        signed by the test CA like the others; returns NAME for cert()/key()."""
        r = subprocess.run(['bash', MKCERTS, self.dir, f'{name}:{opts}'], capture_output=True,
                           text=True, timeout=60)
        check(r.returncode == 0, f'mkcerts.sh {self.dir} {name}:{opts} failed: {r.stderr.strip()}')
        return name

    def cert(self, domain, chain=True):
        return os.path.join(self.dir, domain + ('.chain.pem' if chain else '.pem'))

    def key(self, domain):
        return os.path.join(self.dir, domain + '.key')


# ---- DNS ---------------------------------------------------------------------

def _dns_query(name, qtype, qid=0x1ee7):
    q = qid.to_bytes(2, 'big') + b'\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00'
    for label in name.split('.'):
        q += bytes([len(label)]) + label.encode()
    return q + b'\0' + qtype.to_bytes(2, 'big') + b'\x00\x01'


class Dnsmasq(Proc):
    """dnsmasq on DNS_IP:DNS_PORT answering only the .test zone from its
    command line: for each {domain: ip}, an A record and
    _xmpp-server._tcp.DOMAIN SRV -> DOMAIN:5269. No upstream (--no-resolv,
    no --server), no /etc/hosts, --local=/test/: nothing is ever forwarded;
    any other name gets REFUSED. Every query is logged."""

    def __init__(self, log_path, records):
        exe = next((p for p in DNSMASQ_PATHS if os.access(p, os.X_OK)), None)
        check(exe, 'dnsmasq not installed (Debian package dnsmasq-base)')
        argv = [exe, '--no-daemon', '--no-resolv', '--no-hosts', '--conf-file=/dev/null', '--pid-file',
                '--bind-interfaces', f'--listen-address={DNS_IP}', f'--port={DNS_PORT}',
                '--local=/test/', '--cache-size=0', '--log-queries', '--log-facility=-']
        for domain, ip in records.items():
            argv += [f'--host-record={domain},{ip}',
                     f'--srv-host=_xmpp-server._tcp.{domain},{domain},{S2S_PORT},0,5']
        super().__init__('dnsmasq', argv, log_path)

    def start(self, timeout=5):
        require_free(DNS_IP, DNS_PORT, 'dnsmasq', 'udp')
        super().start()
        deadline = time.monotonic() + timeout
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            while True:
                check(self.alive(), f'dnsmasq exited at start: {" | ".join(self.log_tail(5))}')
                try:
                    s.sendto(_dns_query(XS2S_DOMAIN, 1), (DNS_IP, DNS_PORT))
                    s.recv(512)
                    return self
                except OSError:
                    pass
                check(time.monotonic() < deadline, f'dnsmasq on {DNS_IP}:{DNS_PORT} silent after {timeout}s')

    def queries(self):
        """Names asked so far (query[TYPE] NAME)."""
        out = []
        for ln in self.log_text().splitlines():
            if 'query[' in ln:
                out.append(ln.split('query', 1)[1].split(' from ')[0])
        return out


# ---- xs2sd -------------------------------------------------------------------

class Xs2s(Proc, testkit.Xs2sctlViews):
    """The xs2sd under test, serving XS2S_DOMAIN on XS2S_IP:5269, finding
    peers through dnsmasq, inspected with xs2sctl --json. cert: the name of
    its certificate in pki (default XS2S_DOMAIN's; Pki.special for others).
    net: the run's netsim.TapNet on the lwIP port (None on POSIX): start()
    claims XS2S_IP for xs2sd's TAP device, stop() releases it."""

    def __init__(self, build, workdir, pki, ca, auth, extra=(), cert=XS2S_DOMAIN, net=None):
        self.build, self.net = build, net
        self.tap_args = []
        self.xs2sctl = os.path.join(build, 'xs2sctl')
        self.admin = os.path.join(workdir, 'xs2s.sock')
        self.domain, self.ip = XS2S_DOMAIN, XS2S_IP
        self.messages = []
        argv = [os.path.join(build, 'xs2sd'), '--domain', XS2S_DOMAIN,
                '--listen', f'{XS2S_IP}:{S2S_PORT}',
                '--cert', pki.cert(cert), '--key', pki.key(cert), '--ca', ca,
                '--admin', self.admin, '--dns-server', f'{DNS_IP}:{DNS_PORT}',
                '--auth', auth, '--log-level', 'debug'] + list(extra)
        super().__init__('xs2sd', argv, os.path.join(workdir, 'xs2sd.log'))

    def start(self, timeout=10):
        for prog in ('xs2sd', 'xs2sctl'):
            check(os.access(os.path.join(self.build, prog), os.X_OK),
                  f'{prog} not found in {self.build} (build it first)')
        require_free(XS2S_IP, S2S_PORT, 'xs2sd')
        if self.net:
            self.tap_args = self.net.claim(XS2S_IP)
            self.argv += self.tap_args
        super().start()
        ok = poll(lambda: not self.alive() or (self.listening() and os.path.exists(self.admin)),
                  timeout, 0.05)
        if not self.alive():
            self.exit_problem = 'reported'
        check(self.alive(), f'xs2sd exited during start-up (status {self.proc.returncode}): '
              + ' | '.join([ln for ln in self.log_text().splitlines() if not ln.startswith('# ')][:2]))
        check(ok, f'xs2sd not ready after {timeout}s')
        return self

    def listening(self):
        """xs2sd listens on XS2S_IP:5269: in /proc/net/tcp, or on lwIP (whose
        sockets are not the kernel's) once its start-up line says so."""
        if self.tap_args:
            return re.search(netsim.READY_LOG, self.log_text()) is not None
        return listening(XS2S_IP, S2S_PORT)

    def stop(self, grace=5):
        problems = super().stop(grace)
        if any(s in self.log_text() for s in ('AddressSanitizer', 'LeakSanitizer', 'runtime error:')):
            problems.append('xs2sd: sanitizer report in its log')
        if self.tap_args and not self.alive():
            self.net.release(XS2S_IP)
            self.tap_args = []
            problems += self._settle()
        return problems

    def _settle(self, timeout=10):
        """lwIP: xs2sd's stack went with its process, so a peer socket may
        wait for an ACK of its FIN that never comes (LAST_ACK). With XS2S_IP
        back on lo, the kernel answers the next retransmission with a RST:
        wait for that (the next cell's peer needs its port free)."""
        def left():
            return {s for s in states_towards(XS2S_IP) if s[1] in TCP_UNACKED_CLOSE}
        t0 = time.monotonic()
        before = left()
        if poll(lambda: not left(), timeout, 0.05):
            if before:
                with open(self.log_path, 'a') as f:
                    f.write(f'# suite: peer sockets left closing towards {XS2S_IP} after exit: '
                            f'{sorted(before)}; reset after {time.monotonic() - t0:.1f} s\n')
            return []
        return [f'xs2sd (lwIP): peer sockets still closing towards {XS2S_IP} {timeout} s after it '
                f'exited: {sorted(left())}']

    def ctl(self, *args, timeout=5):
        try:
            r = subprocess.run([self.xs2sctl, '--admin', self.admin] + list(args),
                               capture_output=True, text=True, timeout=timeout)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise Fail(f'xs2sctl {args[0]}: {e}')
        check(r.returncode == 0, f'xs2sctl {args[0]} failed ({r.returncode}): '
              f'{(r.stderr.strip() or r.stdout.strip())[-300:]}')
        return r.stdout

    def drain(self):
        """Move what is in xs2sd's inbox into self.messages; return them all."""
        out = json.loads(self.ctl('inbox', '--json'))
        self.messages += out.get('messages', [])
        return self.messages

    def bounces(self):
        """Error messages (bounces) received so far."""
        return [m for m in self.drain() if m.get('type') == 'error']

    def wait_body(self, body, timeout=15, abort=None):
        """The message with this body, once it is in the inbox. abort():
        something truthy ends the wait early (e.g. a bounce the sender got)."""
        deadline = time.monotonic() + timeout
        while True:
            for m in self.drain():
                if m.get('body') == body and m.get('type') != 'error':
                    return m
            why = abort() if abort else None
            check(not why, f'xs2sd: message {body!r} will not arrive: {why}')
            if time.monotonic() > deadline:
                raise Fail(f'xs2sd: message {body!r} not in its inbox after {timeout}s; '
                           f'inbox so far: {self.messages}')
            time.sleep(0.1)


# ---- a real XMPP client (slixmpp) ---------------------------------------------

class XmppClient:
    """A slixmpp c2s client (Debian python3-slixmpp) logged in to the peer
    server, run on its own asyncio loop in a thread. It connects to `addr`
    directly (no DNS lookup at all), requires STARTTLS and checks the
    server certificate against `ca`."""

    def __init__(self, jid, password, addr, ca, log_path):
        self.jid, self.password, self.addr, self.ca = jid, password, addr, ca
        self.log_path = log_path
        self.received = []              # (from bare JID, type, body)
        self.events = []                # connection events, for failure reports
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._gone = threading.Event()
        self._error = None
        self.loop = self.xmpp = self.thread = None

    def start(self, timeout=15):
        self.thread = threading.Thread(target=self._run, name='slixmpp', daemon=True)
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.1):
            check(self._error is None, f'XMPP client {self.jid}: {self._error}')
            check(time.monotonic() < deadline,
                  f'XMPP client {self.jid}: no session after {timeout}s (events: {self.events[-6:]})')
        return self

    def _run(self):
        # Its log goes to the cell's client.log, never to our stdout
        # (set up before the import: slixmpp logs a warning while importing).
        handler = logging.FileHandler(self.log_path)
        handler.setFormatter(logging.Formatter('%(asctime)s %(levelname)s %(name)s %(message)s'))
        root = logging.getLogger('slixmpp')
        root.setLevel(logging.DEBUG)
        root.handlers[:] = [handler]
        root.propagate = False
        try:
            import slixmpp  # noqa: PLC0415 - only needed here, installed on demand
        except ImportError as e:
            self._error = f'python3-slixmpp not usable: {e}'
            handler.close()
            return
        domain = self.jid.split('@', 1)[1].split('/')[0]
        ip, port = self.addr

        class Client(slixmpp.ClientXMPP):
            async def get_dns_records(self, d, p=None):
                # The server's address is given: never ask any resolver.
                return [(domain, ip, port)]

        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        x = self.xmpp = Client(self.jid, self.password)
        x.ca_certs = self.ca

        def ev(name):
            def f(data=None):
                self.events.append((name, str(data)[:200]))
            return f
        for name in ('connecting', 'connected', 'tls_success', 'auth_success', 'connection_failed',
                     'stream_error', 'ssl_invalid_chain', 'ssl_invalid_cert'):
            x.add_event_handler(name, ev(name))

        def session_start(_):
            x.send_presence()
            self._ready.set()

        def failed(data):
            self._error = f'login failed: {data}'

        def disconnected(data):
            self.events.append(('disconnected', str(data)))
            if not self._ready.is_set() and self._error is None:
                self._error = f'disconnected before the session started: {data} (events: {self.events[-6:]})'
            self._gone.set()

        def message(msg):
            body = msg['body']
            if msg['type'] == 'error':
                body = f"{msg['error']['condition']}: {msg['error']['text']}" + (f' (for {body!r})' if body else '')
            with self._lock:
                self.received.append((msg['from'].bare, msg['type'], body))

        x.add_event_handler('session_start', session_start)
        x.add_event_handler('failed_all_auth', failed)
        x.add_event_handler('disconnected', disconnected)
        x.add_event_handler('message', message)
        x.add_event_handler('message_error', message)
        try:
            x.connect(address=(ip, port))
            self.loop.run_forever()
            # Let slixmpp's own tasks end before the loop goes away.
            pending = asyncio.all_tasks(self.loop)
            for task in pending:
                task.cancel()
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        except Exception as e:  # noqa: BLE001 - reported by start()
            self._error = f'{type(e).__name__}: {e}'
        finally:
            self.loop.close()
            handler.close()

    def send(self, to, body):
        check(self.loop is not None, 'XMPP client not running')
        self.loop.call_soon_threadsafe(lambda: self.xmpp.send_message(mto=to, mbody=body, mtype='chat'))

    def errors(self):
        with self._lock:
            return [m for m in self.received if m[1] == 'error']

    def wait_body(self, body, frm, timeout=15, abort=None):
        """The message with this body, once received; abort() as in Xs2s.wait_body."""
        def got():
            with self._lock:
                found = [m for m in self.received if m[2] == body]
            return found or (abort() if abort else None)
        found = poll(got, timeout, 0.1)
        check(found, f'XMPP client {self.jid}: message {body!r} not received within {timeout}s '
              f'(received: {self.received})')
        check(isinstance(found, list), f'XMPP client {self.jid}: message {body!r} will not arrive: {found}')
        check(found[0][0] == frm and found[0][1] != 'error',
              f'XMPP client {self.jid}: {body!r} arrived from {found[0][0]} with type {found[0][1]} '
              f'(want from {frm}, not an error)')
        return found[0]

    def stop(self, timeout=5):
        if self.loop is None or not self.thread.is_alive():
            return
        self.loop.call_soon_threadsafe(lambda: self.xmpp.disconnect(wait=0.5))
        self._gone.wait(timeout)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout)
