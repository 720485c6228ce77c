# SPDX-License-Identifier: MIT
"""Integration test harness: runs xs2sd instances, talks to them through
xs2sctl --json, captures their logs, and hands out loopback addresses and
raw peers (s2speer) to the tests. Every test gets a T (context) whose
cleanup stops everything it started, by PID."""
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time

import s2speer
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from testkit import Fail, check, poll, read_text, Xs2sctlViews, TCP_LISTEN, TCP_TIME_WAIT  # noqa: E402,F401
import netsim  # noqa: E402

PORT = 5269
# The addresses tests get from t.ip(): loopback on the POSIX port; on the lwIP
# port, the suite's network namespace (test/netsim.py), where each lwIP
# daemon's address is routed to its own TAP device.
POOL_POSIX = [f'127.0.0.{n}' for n in range(31, 61)]
POOL_LWIP = [f'{netsim.NET}.{n}' for n in range(31, 61)]
HERE = os.path.dirname(os.path.abspath(__file__))
MKCERTS = os.path.join(HERE, '..', 'tools', 'mkcerts.sh')
# Certificates made once per run; 'a.test,a2.test' is one cert for both names.
CERT_DOMAINS = ['a.test,a2.test', 'b.test', 'c.test']




class Skip(Exception):
    """A test that cannot run in this run (says why); not a pass, not a failure."""


def _elf_id(path):
    """(e_machine, class, byte order) of an ELF file, or None."""
    try:
        with open(path, 'rb') as f:
            h = f.read(20)
    except OSError:
        return None
    if len(h) < 20 or h[:4] != b'\x7fELF':
        return None
    return int.from_bytes(h[18:20], 'little' if h[5] == 1 else 'big'), h[4], h[5]


def build_runner(build):
    """The command that runs BUILD's xs2sd on this machine: [] when it is
    built for it; for a cross build (a router defconfig), qemu-user for its
    CPU with -L /usr/<triplet> (where Debian's cross C library lives; the
    triplet from the build's CONFIG_XS2S_CROSS_COMPILE)."""
    mine, it = _elf_id('/proc/self/exe'), _elf_id(os.path.join(build, 'xs2sd'))
    if it is None or it == mine:
        return []
    machine, cls, order = it
    little = order == 1
    cpu = {183: 'aarch64', 62: 'x86_64', 3: 'i386'}.get(machine)
    if machine == 40:
        cpu = 'arm' if little else 'armeb'
    elif machine == 8:
        cpu = 'mips' + ('64' if cls == 2 else '') + ('el' if little else '')
    elif machine == 243:
        cpu = 'riscv64' if cls == 2 else 'riscv32'
    if cpu is None:
        raise Fail(f'{build}/xs2sd: ELF machine {machine}: no qemu-user mapping for it')
    if not shutil.which(f'qemu-{cpu}'):
        raise Fail(f'qemu-{cpu} not found: `make deps-router` installs qemu-user')
    argv = [f'qemu-{cpu}']
    prefix = build_kconfig(build, 'XS2S_CROSS_COMPILE')
    if prefix:
        argv += ['-L', '/usr/' + os.path.basename(prefix).rstrip('-')]
    return argv


def hostport(ip, port):
    """'ip:port', or '[ip]:port' for IPv6."""
    return f'[{ip}]:{port}' if ':' in ip else f'{ip}:{port}'


def free_port(ip, prefer, taken=()):
    """The first port from prefer (then upwards from its last one) not in
    taken and with nothing but TIME_WAIT sockets bound to ip on it."""
    for port in list(prefer) + list(range(prefer[-1] + 1, prefer[-1] + 200)):
        st = _port_states(ip, port)
        if port not in taken and (st is None or st <= {TCP_TIME_WAIT}):
            return port
    raise Fail(f'no free port on {ip} near {prefer}')


def _port_states(ip, port=PORT):
    """TCP states (hex, as in /proc/net/tcp) of the sockets bound to ip:port,
    or None when /proc/net/tcp cannot be read. Lets us check for a listener
    without opening a probe connection to it. An IPv6 ip ('::1') is looked
    up in /proc/net/tcp6."""
    if ':' in ip:
        raw = socket.inet_pton(socket.AF_INET6, ip)  # 4 host-order (little-endian) words
        want = ''.join('%08X' % int.from_bytes(raw[i:i + 4], 'little') for i in range(0, 16, 4))
        path = '/proc/net/tcp6'
    else:
        want = ''.join('%02X' % int(x) for x in reversed(ip.split('.')))
        path = '/proc/net/tcp'
    want += ':%04X' % port
    states = set()
    try:
        with open(path) as f:
            next(f)
            for line in f:
                parts = line.split()
                if parts[1] == want:
                    states.add(parts[3])
    except OSError:
        return None
    return states


class Run:
    """State shared by all tests of one run."""

    def __init__(self, build, rundir, peer_build=None):
        """peer_build: a build of the other port, for the tests that mix ports."""
        self.build = os.path.abspath(build)
        self.peer_build = os.path.abspath(peer_build) if peer_build else None
        self.xs2sd = os.path.join(self.build, 'xs2sd')
        self.xs2sctl = os.path.join(self.build, 'xs2sctl')
        self.runner = build_runner(self.build)  # runs this build's programs: qemu-user for a cross build
        self.dir = rundir
        # The port is a property of the build: the same tests run on both.
        self.port = netsim.build_port(self.build)
        self.pool = POOL_LWIP if self.port == 'lwip' else POOL_POSIX
        self.net = (netsim.TapNet(self.pool, ipv6=kconfig(self, 'XS2S_LWIP_IPV6') == 'y')
                    if self.port == 'lwip' else None)
        self.certs = os.path.join(rundir, 'certs')
        self._next_ip = 0
        self.cert_error = None
        r = subprocess.run(['bash', MKCERTS, self.certs] + CERT_DOMAINS,
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            self.cert_error = f'mkcerts.sh failed: {r.stderr.strip()}'
        # A CA that signed none of the test certificates: --ca with it makes
        # every peer certificate 'untrusted' (dialback must decide).
        foreign = os.path.join(rundir, 'foreign')
        self.foreign_ca = os.path.join(foreign, 'ca.pem')
        r = subprocess.run(['bash', MKCERTS, foreign, 'foreign.test'],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0 and not self.cert_error:
            self.cert_error = f'mkcerts.sh (foreign CA) failed: {r.stderr.strip()}'
        self._pki = {}

    def pki(self, name, args):
        """A certificate directory of this run, RUNDIR/NAME, made once with
        `mkcerts.sh RUNDIR/NAME ARGS...` (domain lists and NAME:OPT specs,
        see mkcerts.sh; it gets its own CA). Returns its path; Fail if
        mkcerts.sh fails or NAME was used before with other args."""
        args = list(args)
        if name in self._pki:
            check(self._pki[name] == args, f'pki {name!r} made before with other args')
        else:
            path = os.path.join(self.dir, name)
            r = subprocess.run(['bash', MKCERTS, path] + args,
                               capture_output=True, text=True, timeout=60)
            check(r.returncode == 0, f'mkcerts.sh {name} failed: {r.stderr.strip()}')
            self._pki[name] = args
        return os.path.join(self.dir, name)

    def alloc_ip(self, taken):
        """Next pool address with nothing bound to it on PORT and not in
        `taken`, round-robin over the run; failing that, one whose only
        sockets are in TIME_WAIT (left by an earlier test or run; binding
        there needs SO_REUSEADDR, which servers normally set)."""
        pool = self.pool
        order = [pool[(self._next_ip + i) % len(pool)] for i in range(len(pool))]
        order = [ip for ip in order if ip not in taken]
        for ok in (lambda st: not st, lambda st: st <= {TCP_TIME_WAIT}):
            for ip in order:
                st = _port_states(ip)
                if st is None or ok(st):
                    self._next_ip = pool.index(ip) + 1
                    return ip
        raise Fail(f'no free address in {pool[0]}-{pool[-1]} (port {PORT} in use everywhere)')


class Daemon(Xs2sctlViews):
    """One xs2sd process. Use T.daemon() to make one."""

    def __init__(self, t, domain, ip, aliases=(), host_map=None, tls_policy='required',
                 secret=None, log_level='debug', extra_args=(), port=PORT,
                 certdir=None, cert=None, chain=False, build=None):
        """host_map values: an address (port PORT), 'ADDR:PORT' / '[V6]:PORT'
        as given, or an (address, port) tuple. certdir (default the run's
        certificates) holds ca.pem (--ca) and CERT.pem + CERT.key (--cert,
        --key; CERT defaults to the domain; chain=True gives CERT.chain.pem).
        build: another build's xs2sd (default the run's); its .config says
        its port (self.stack: 'posix' or 'lwip')."""
        self.t, self.domain, self.ip, self.port = t, domain, ip, port
        self.build = build or t.run.build
        self.xs2sd = os.path.join(self.build, 'xs2sd')
        self.runner = build_runner(self.build)  # qemu-user for a cross build
        self.stack = netsim.build_port(self.build)
        self.addr = (ip, port)
        self.certdir, self.cert, self.chain = certdir, cert or domain, chain
        self.aliases = list(aliases)
        self.host_map = dict(host_map or {})
        self.tls_policy = tls_policy
        self.secret = secret or secrets.token_hex(16)
        self.log_level = log_level
        self.extra_args = list(extra_args)
        self.name = domain
        n = sum(1 for d in t.daemons if d.domain == domain)
        if n:
            self.name = f'{domain}-{n + 1}'
        self.admin = os.path.join(t.sockdir, f'{self.name}.sock')
        self.log_path = os.path.join(t.dir, f'{self.name}.log')
        self.proc = None
        self.tap_args = []          # lwIP port: --tap options for the address claimed at start
        self.messages = []          # every message drained from the inbox so far
        self.died = None            # set by terminate(): had it exited on its own?
        self.stopped = False        # stopped by the test itself (stop_now)

    def argv(self):
        certs = self.certdir or self.t.run.certs
        a = self.runner + [self.xs2sd, '--domain', self.domain]
        for al in self.aliases:
            a += ['--domain', al]
        a += ['--listen', hostport(self.ip, self.port),
              '--cert', os.path.join(certs, self.cert + ('.chain.pem' if self.chain else '.pem')),
              '--key', os.path.join(certs, self.cert + '.key'),
              '--ca', os.path.join(certs, 'ca.pem')]
        for dom, ip in self.host_map.items():
            if isinstance(ip, tuple):
                a += ['--host-map', f'{dom}={hostport(*ip)}']
            else:
                a += ['--host-map', f'{dom}={ip}:{PORT}' if ':' not in ip else f'{dom}={ip}']
        a += ['--admin', self.admin, '--dialback-secret', self.secret,
              '--tls-policy', self.tls_policy, '--log-level', self.log_level]
        # No lookup ever leaves the machine: nothing serves UDP 9 on loopback
        # (a test that wants DNS passes its own --dns-server, which wins).
        a += ['--dns-server', '127.0.0.1:9']
        return a + self.tap_args + self.extra_args

    def start(self, timeout=10):
        net = self.t.run.net
        if net is not None and self.stack == 'lwip':
            self.tap_args = net.claim(self.ip)
        argv = self.argv()
        self.states_at_start = _port_states(self.ip, self.port) or set()
        with open(self.log_path, 'w') as log:
            log.write('# ' + ' '.join(argv).replace(self.secret, '<secret>') + '\n')
            log.flush()
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            rc = self.proc.poll()
            if rc is not None:
                hint = (' (its address had TIME_WAIT sockets: does xs2sd set SO_REUSEADDR?)'
                        if TCP_TIME_WAIT in self.states_at_start else '')
                raise Fail(f'{self.name}: xs2sd exited during start-up with status {rc}{hint}')
            if self.tap_args:  # lwIP's sockets are not in /proc/net/tcp
                listening = bool(self.find_log(netsim.READY_LOG))
            else:
                st = _port_states(self.ip, self.port)
                listening = st is None or TCP_LISTEN in st  # no /proc: admin socket alone
            if listening and os.path.exists(self.admin):
                return
            if time.monotonic() > deadline:
                raise Fail(f'{self.name}: not ready after {timeout}s (listening on '
                           f'{self.ip}:{self.port}: {listening}, admin socket: '
                           f'{os.path.exists(self.admin)})')
            time.sleep(0.05)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def terminate(self):
        """Send SIGTERM (first half of stop)."""
        if self.stopped:
            return
        if self.proc is not None and self.proc.poll() is None:
            self.died = False
            self.proc.send_signal(signal.SIGTERM)
        elif self.proc is not None:
            self.died = True

    def reap(self, deadline):
        """Wait for the process until deadline (then SIGKILL). Returns a list of problems."""
        problems = []
        if self.proc is None:
            self._release_tap()
            return problems
        if getattr(self, 'died', None) is None:
            self.terminate()
        try:
            rc = self.proc.wait(max(0.0, deadline - time.monotonic()))
            if self.died:
                problems.append(f'{self.name}: xs2sd died during the test (status {rc})')
            elif rc not in (0, -signal.SIGTERM):
                problems.append(f'{self.name}: exit status {rc} after SIGTERM')
        except subprocess.TimeoutExpired:
            problems.append(f'{self.name}: still running 5 s after SIGTERM, killed')
            self.proc.kill()
            self.proc.wait(5)
        if re.search(r'AddressSanitizer|LeakSanitizer|runtime error:', self.log_text()):
            problems.append(f'{self.name}: sanitizer report in its log')
        self._release_tap()
        return problems

    def _release_tap(self):
        if self.tap_args:
            self.t.run.net.release(self.ip)
            self.tap_args = []

    def stop_now(self, timeout=5):
        """SIGTERM now and wait for the exit, as `systemctl stop` does;
        returns the exit status (Fail if still running after timeout).
        cleanup() then checks the status and the log as usual."""
        check(self.alive(), f'{self.name}: not running before SIGTERM (status {self.proc.poll()})')
        self.died, self.stopped = False, True
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Fail(f'{self.name}: still running {timeout} s after SIGTERM')

    def signal(self, sig):
        """Send sig (e.g. signal.SIGHUP) to the running daemon."""
        check(self.alive(), f'{self.name}: not running (status {self.proc.poll()})')
        self.proc.send_signal(sig)

    def stop(self):
        """SIGTERM, wait up to 5 s, then SIGKILL. Returns a list of problems."""
        self.terminate()
        return self.reap(time.monotonic() + 5)

    # ---- logs ----

    def log_text(self):
        return read_text(self.log_path)

    def log_tail(self, n=40):
        return self.log_text().splitlines()[-n:]

    def find_log(self, regex):
        """Log lines matching regex (case-insensitive)."""
        r = re.compile(regex, re.I)
        return [ln for ln in self.log_text().splitlines()
                if r.search(ln) and not ln.startswith('# ')]  # '# argv' header line

    def wait_log(self, regex, timeout=5, what=None):
        lines = poll(lambda: self.find_log(regex), timeout, 0.1)
        check(lines, f'{self.name}: no log line matching /{regex}/ within {timeout}s'
              + (f' ({what})' if what else ''))
        return lines

    # ---- admin ----

    def ctl(self, *args, timeout=5):
        argv = self.t.run.runner + [self.t.run.xs2sctl, '--admin', self.admin] + list(args)
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Fail(f'{self.name}: xs2sctl {args[0]} hung for {timeout}s')
        if r.returncode != 0:
            msg = ' | '.join((r.stderr.strip() or r.stdout.strip()).splitlines()[-3:])
            if self.proc.poll() is not None:
                msg += f' [xs2sd is not running: status {self.proc.poll()}]'
            raise Fail(f'{self.name}: xs2sctl {args[0]} failed ({r.returncode}): {msg}')
        return r.stdout

    def inbox(self):
        """Drain the inbox; returns the new messages (all are kept in .messages)."""
        msgs = self.ctl_json('inbox').get('messages', [])
        self.messages += msgs
        return msgs

    def wait_message(self, pred, timeout=15, what='message'):
        """Poll the inbox until a message with pred(m) arrived (possibly earlier)."""
        deadline = time.monotonic() + timeout
        while True:
            self.inbox()
            for m in self.messages:
                if pred(m):
                    return m
            if time.monotonic() > deadline:
                raise Fail(f'{self.name}: {what} not in inbox after {timeout}s; '
                           f'inbox so far: {self.messages}')
            time.sleep(0.1)

    def wait_body(self, body, timeout=15, frm=None):
        return self.wait_message(
            lambda m: m.get('body') == body and m.get('type') != 'error'
            and (frm is None or m.get('from', '').split('/')[0] == frm),
            timeout, f'message {body!r}' + (f' from {frm}' if frm else ''))

    def assert_no_body(self, text):
        self.inbox()
        bad = [m for m in self.messages if text in m.get('body', '')]
        check(not bad, f'{self.name}: inbox got what it must not: {bad}')


class T:
    """Per-test context. Everything made through it is cleaned up by cleanup()."""

    def __init__(self, run, name, index):
        self.run, self.name = run, name
        self.dir = os.path.join(run.dir, f'{index:02d}-{name}')
        os.makedirs(self.dir, exist_ok=True)
        # AF_UNIX paths are limited to 108 bytes.
        self.sockdir = self.dir if len(self.dir) < 80 else os.path.join(run.dir, f'{index:02d}')
        os.makedirs(self.sockdir, exist_ok=True)
        self.daemons, self.servers, self.streams, self.ips = [], [], [], []
        self.trace_path = os.path.join(self.dir, 'peers.log')
        self._trace_lock = threading.Lock()
        self.nonce = secrets.token_hex(3)

    def check_ready(self):
        if self.run.cert_error:
            raise Fail(self.run.cert_error)

    def trace(self, line):
        with self._trace_lock, open(self.trace_path, 'a') as f:
            f.write(f'{time.time():.3f} {line}\n')

    def ip(self):
        ip = self.run.alloc_ip(self.ips)
        self.ips.append(ip)
        return ip

    def ip6(self):
        """An IPv6 address for a daemon or peer: ::1 on the POSIX port (tests
        then tell daemons apart by port); on the lwIP port, the IPv6 twin
        (fd77::N) of a fresh pool address."""
        if self.run.port != 'lwip':
            return '::1'
        return netsim.v6_twin(self.ip())

    def daemon(self, domain, ip=None, **kw):
        """Start xs2sd for domain (on a fresh address unless ip is given) and wait until ready."""
        self.check_ready()
        d = Daemon(self, domain, ip or self.ip(), **kw)
        for prog in (d.xs2sd, self.run.xs2sctl):
            if not os.access(prog, os.X_OK):
                raise Fail(f'{os.path.basename(prog)} not found: {prog}')
        self.daemons.append(d)
        return d.start()

    def ident(self, domain, **kw):
        self.check_ready()
        return s2speer.Identity(domain, self.run.certs, **kw)

    def fake_server(self, ident, ip=None, **kw):
        srv = s2speer.FakeServer(ident, ip or self.ip(), trace=self.trace, **kw)
        self.servers.append(srv)
        return srv

    def open_stream(self, ident, to, addr, **kw):
        s = s2speer.open_stream(ident, to, addr, trace=self.trace, **kw)
        self.streams.append(s)
        return s

    def raw_listener(self, handler, ip=None, name='raw'):
        """A RawListener on ip (a fresh address unless given) running
        handler(stream) on every connection; stopped at cleanup."""
        srv = s2speer.RawListener(ip or self.ip(), handler, name=name, trace=self.trace)
        self.servers.append(srv)
        return srv

    def raw_connect(self, addr, label, timeout=5):
        """A plain TCP Stream to addr (nothing sent yet)."""
        s = s2speer.Stream(socket.create_connection(addr, timeout=timeout), label, self.trace)
        self.streams.append(s)
        return s

    def trace_tail(self, n=40):
        try:
            with open(self.trace_path, errors='replace') as f:
                return f.read().splitlines()[-n:]
        except OSError:
            return []

    def cleanup(self):
        """Stop every peer and daemon; returns problems found while stopping."""
        problems = []
        for s in self.streams:
            s.close()
        for srv in self.servers:
            srv.stop()
        for d in self.daemons:
            d.terminate()
        deadline = time.monotonic() + 5
        for d in self.daemons:
            try:
                problems += d.reap(deadline)
            except Exception as e:  # noqa: BLE001 - keep stopping the others
                problems.append(f'{d.name}: stop failed: {e!r}')
                if d.proc.poll() is None:
                    d.proc.kill()
        return problems


# ---- helpers shared by the tests -------------------------------------------

def kconfig(run, name):
    """Value of CONFIG_<name> in the build's .config (int if it is one;
    None when unset or when there is no .config)."""
    return build_kconfig(run.build, name)


def build_kconfig(build, name):
    """kconfig() of any build directory."""
    try:
        with open(os.path.join(build, '.config')) as f:
            text = f.read()
    except OSError:
        return None
    m = re.search(rf'^CONFIG_{re.escape(name)}=(.*)$', text, re.M)
    if not m:
        return None
    v = m.group(1).strip().strip('"')
    if re.fullmatch(r'0x[0-9a-fA-F]+', v):
        return int(v, 16)
    return int(v) if re.fullmatch(r'-?\d+', v) else v


def start_b(t, c_ip=None, hosts=None, **kw):
    """Start the daemon under test, b.test. Its host map knows a.test and
    a2.test (an address reserved for a later a.test daemon, see
    other_link_works), c.test (a raw peer) if c_ip is given, and any extra
    {domain: address} in hosts. Returns (b, ip_a)."""
    ip_a = t.ip()
    host_map = {'a.test': ip_a, 'a2.test': ip_a}
    if c_ip:
        host_map['c.test'] = c_ip
    host_map.update(hosts or {})
    return t.daemon('b.test', host_map=host_map, **kw), ip_a


def start_b_with_c(t, on_result='accept'):
    """b.test plus a FakeServer for c.test (c's authoritative server, and
    the receiving end of b's outbound link to c.test, which answers b's
    db:result per on_result: 'verify' checks it with b's authoritative side).
    Returns (c's Identity, the FakeServer, b, ip_a)."""
    cid = t.ident('c.test')
    ip_b = t.ip()
    c = t.fake_server(cid, on_result=on_result, hosts={'b.test': (ip_b, PORT)})
    b, ip_a = start_b(t, c.addr[0], ip=ip_b)
    return cid, c, b, ip_a


def other_link_works(t, b, ip_a, both=False):
    """After a failure on some other link: b is alive, and a fresh a.test
    daemon at ip_a still federates with it (a->b, and b->a if both)."""
    check(b.alive(), f'{b.name} died (status {b.proc.poll()})')
    a = t.daemon('a.test', ip=ip_a, host_map={'b.test': b.ip})
    body = f'a->b after the failure {t.nonce}'
    a.send('u@a.test', 'x@b.test', body)
    b.wait_body(body, 15, frm='u@a.test')
    if both:
        body = f'b->a after the failure {t.nonce}'
        b.send('x@b.test', 'u@a.test', body)
        a.wait_body(body, 15, frm='x@b.test')
    return a


def plain_stream(t, d, frm='c.test', to=None):
    """A raw unauthenticated stream to daemon d: header sent (from frm to
    d.domain unless `to`), header and features read; no STARTTLS."""
    to = to or d.domain
    s = t.raw_connect(d.addr, f'{frm}->{to}')
    s.send(s2speer.stream_header(frm, to))
    s.read_header()
    s.expect(s2speer.NS_STREAM, 'features')
    return s


def peer_stanza(srv, pred, timeout=10, what='stanza'):
    """The first stanza FakeServer srv received with pred(item), waiting up
    to timeout for it."""
    found = []

    def got(s):
        found[:] = [x for x in s.stanzas if pred(x)][:1]
        return bool(found)
    check(srv.wait_for(got, timeout),
          f'{srv.name}: {what} not received within {timeout}s; got {srv.stanzas} '
          f'(dialback results: {srv.results}, peer errors: {srv.errors})')
    return found[0]


def authenticated_stream(t, ident, d, inject=''):
    """Open a stream to daemon d as ident.domain (STARTTLS, then dialback,
    ident's own FakeServer answering the daemon's db:verify)."""
    try:
        s = t.open_stream(ident, d.domain, d.addr, inject=inject)
        r = s2speer.dialback(s, ident, d.domain)
    except s2speer.PeerError as e:
        raise Fail(f'could not authenticate to {d.name} as {ident.domain}: {e}')
    check(r.is_(s2speer.NS_DB, 'result') and r.attrs.get('type') == 'valid',
          f'dialback as {ident.domain} not accepted by {d.name}: {r.raw}')
    return s


def expect_stream_error(s, condition, timeout=10):
    """The next <stream:error/> on s has `condition`, and the stream closes after it."""
    try:
        it = s.wait_for(lambda i: i.is_(s2speer.NS_STREAM, 'error'), timeout)
    except s2speer.StreamClosed as e:
        raise Fail(f'stream closed without a <stream:error/> ({condition} expected): {e}')
    except s2speer.PeerError as e:
        raise Fail(f'no <stream:error/> ({condition} expected): {e}')
    check(it.condition() == condition,
          f'stream error {it.condition()!r}, expected {condition!r}: {it.raw}')
    check(s.wait_closed(5), 'stream not closed within 5 s after the stream error')
    return it


def expect_quiet(s, secs=0.5):
    """Nothing arrives on s for secs: no stream error, no close."""
    try:
        it = s.next(secs)
    except s2speer.Timeout:
        return
    except s2speer.PeerError as e:
        raise Fail(f'{s.label} should have stayed open and quiet: {e}')
    raise Fail(f'{s.label} should have stayed quiet, got {it!r}')


def expect_refused(d, s, condition):
    """d ends stream s with a <stream:error/> `condition`, says so in its
    log, and is still running."""
    expect_stream_error(s, condition)
    d.wait_log(f'stream error: {condition}', 5)
    check(d.alive(), f'{d.name} died (status {d.proc.poll()})')
