# SPDX-License-Identifier: MIT
"""The integration suite's harness, on top of test/lib: the per-test
context T (every test gets one; its cleanup stops everything it started, by
PID), the run's address pool and certificates, the suite's xs2sd (Daemon:
lib.xs2sd.Xs2sd with the suite's defaults), and the raw peers (s2speer) and
helpers the tests share."""
import os
import secrets
import socket
import sys
import threading
import time

import s2speer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from lib import netsim  # noqa: E402
from lib.dnsmasq import Dnsmasq  # noqa: E402
from lib.pki import Pki, mkcerts  # noqa: E402
from lib.tcp import TCP_LISTEN, TCP_TIME_WAIT, free_port, hostport, port_states  # noqa: E402,F401
from lib.testkit import Fail, Skip, check, poll, read_text  # noqa: E402,F401
from lib.testkit import kconfig as build_kconfig  # noqa: E402
from lib.xs2sd import S2S_PORT, Xs2sBot, Xs2sd, build_runner  # noqa: E402,F401

# Tests written before test/lib `import netsim` (it was test/netsim.py): the
# same module under its old name.
sys.modules.setdefault('netsim', netsim)

PORT = S2S_PORT
# The addresses tests get from t.ip(): loopback on the POSIX port; on the lwIP
# port, the suite's network namespace (test/lib/netsim.py), where each lwIP
# daemon's address is routed to its own TAP device.
POOL_POSIX = [f'127.0.0.{n}' for n in range(31, 61)]
POOL_LWIP = [f'{netsim.NET}.{n}' for n in range(31, 61)]
# Certificates made once per run; 'a.test,a2.test' is one cert for both names.
CERT_DOMAINS = ['a.test,a2.test', 'b.test', 'c.test']
DNS_PORT = 5300                 # T.dnsmasq()


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
        self._next_ip = 0
        # The run's certificates (CERT_DOMAINS), and a CA that signed none of
        # them: --ca with it makes every peer certificate 'untrusted'
        # (dialback must decide). A failure fails every test that needs them.
        self.certs = os.path.join(rundir, 'certs')
        foreign = os.path.join(rundir, 'foreign')
        self.foreign_ca = os.path.join(foreign, 'ca.pem')
        self.cert_error = None
        try:
            Pki(self.certs, CERT_DOMAINS, foreign)
        except Fail as e:
            self.cert_error = str(e)
        self._pki = {}

    def pki(self, name, args):
        """A certificate directory of this run, RUNDIR/NAME, made once with
        `mkcerts.sh RUNDIR/NAME ARGS...` (domain lists and NAME:OPT specs,
        see mkcerts.sh; it gets its own CA). Returns its path; Fail if
        mkcerts.sh fails or NAME was used before with other args."""
        args = list(args)
        path = os.path.join(self.dir, name)
        if name in self._pki:
            check(self._pki[name] == args, f'pki {name!r} made before with other args')
        else:
            mkcerts(path, args, name)
            self._pki[name] = args
        return path

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
                st = port_states(ip, PORT)
                if st is None or ok(st):
                    self._next_ip = pool.index(ip) + 1
                    return ip
        raise Fail(f'no free address in {pool[0]}-{pool[-1]} (port {PORT} in use everywhere)')


class Daemon(Xs2sd):
    """One xs2sd of a test (use T.daemon() to make one): lib.xs2sd.Xs2sd
    with the suite's defaults: debug log, a random dialback secret, TLS
    required, no XEP-0288 (bidi=True turns it on), and a DNS server nothing answers on (127.0.0.1:9: no lookup
    leaves the machine; a test that wants DNS passes its own --dns-server in
    extra_args, which wins)."""

    def __init__(self, t, domain, ip, aliases=(), host_map=None, tls_policy='required',
                 secret=None, log_level='debug', extra_args=(), port=PORT,
                 certdir=None, cert=None, chain=False, build=None, components=None, component_listen=None,
                 bidi=False):
        """host_map values: an address (port PORT), 'ADDR:PORT' / '[V6]:PORT'
        as given, or an (address, port) tuple. certdir (default the run's
        certificates) holds ca.pem (--ca) and CERT.pem + CERT.key (--cert,
        --key; CERT defaults to the domain; chain=True gives CERT.chain.pem).
        build: another build's xs2sd (default the run's); its .config says
        its port (self.stack: 'posix' or 'lwip'). components {name: secret}
        and component_listen: XEP-0114 components (lib.xs2sd.Xs2sd). bidi:
        XEP-0288 bidirectional streams, off (--no-bidi) unless a test asks,
        so that the other tests keep one connection per direction."""
        self.t = t
        name = domain
        n = sum(1 for d in t.daemons if d.domain == domain)
        if n:
            name = f'{domain}-{n + 1}'
        certs = certdir or t.run.certs
        cert = cert or domain
        super().__init__(build or t.run.build, domain, ip, name=name, port=port, aliases=aliases,
                         cert=os.path.join(certs, cert + ('.chain.pem' if chain else '.pem')),
                         key=os.path.join(certs, cert + '.key'), ca=os.path.join(certs, 'ca.pem'),
                         host_map=host_map, secret=secret or secrets.token_hex(16),
                         tls_policy=tls_policy, log_level=log_level, dns_server='127.0.0.1:9',
                         extra=tuple(extra_args) + (() if bidi else ('--no-bidi',)), admin=os.path.join(t.sockdir, f'{name}.sock'),
                         log_path=os.path.join(t.dir, f'{name}.log'), net=t.run.net,
                         xs2sctl=t.run.xs2sctl, components=components, component_listen=component_listen)


class Bot(Xs2sBot):
    """The example bot of a test (use T.bot() to make one): lib.xs2sd.Xs2sBot
    with the run's certificates for domain, its log in the test's directory."""

    def __init__(self, t, domain, ip, host_map=None, jid=None, extra_args=()):
        certs = t.run.certs
        name = f'{domain} bot'
        super().__init__(t.run.build, domain, ip, name=name, jid=jid,
                         cert=os.path.join(certs, domain + '.pem'), key=os.path.join(certs, domain + '.key'),
                         ca=os.path.join(certs, 'ca.pem'), host_map=host_map, extra=extra_args,
                         log_path=os.path.join(t.dir, f'{domain}-bot.log'), net=t.run.net,
                         xs2sctl=t.run.xs2sctl)


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
        self.dns = []
        self.owned = []
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
        self.daemons.append(d)
        return d.start()

    def bot(self, domain, ip=None, **kw):
        """Start the example bot (BUILD/xs2s-bot) for domain (on a fresh
        address unless ip is given) and wait until it is ready; stopped
        with the daemons at cleanup."""
        self.check_ready()
        b = Bot(self, domain, ip or self.ip(), **kw)
        self.daemons.append(b)
        return b.start()

    def own(self, thing):
        """Stop thing (anything with stop() returning a list of problems,
        e.g. an xs2sctl watch) at cleanup, first; returns it."""
        self.owned.append(thing)
        return thing

    def dnsmasq(self, ip, hosts=None, srv=()):
        """dnsmasq (lib.dnsmasq) on ip:DNS_PORT answering only .test: A
        records {name: address}, SRV records (name, target, port, priority,
        weight). Stopped at cleanup; its log then goes into the raw peers'
        trace (shown on failure)."""
        dns = Dnsmasq(ip, DNS_PORT, os.path.join(self.dir, 'dnsmasq.log'), hosts=hosts, srv=srv)
        self.dns.append(dns)
        return dns.start()

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

    def cleanup(self):
        """Stop every peer and daemon; returns problems found while stopping."""
        problems = []
        for o in self.owned:
            try:
                problems += o.stop() or []
            except Exception as e:  # noqa: BLE001 - keep stopping the others
                problems.append(f'stop failed: {e!r}')
        for s in self.streams:
            s.close()
        for srv in self.servers:
            srv.stop()
        for dns in self.dns:
            dns.stop(grace=3)
            for ln in dns.log_tail():
                self.trace(f'dnsmasq| {ln}')
        for d in self.daemons:
            d.terminate()
        deadline = time.monotonic() + 5
        for d in self.daemons:
            try:
                problems += d.reap(deadline)
            except Exception as e:  # noqa: BLE001 - keep stopping the others
                problems.append(f'{d.name}: stop failed: {e!r}')
                if d.alive():
                    d.proc.kill()
        return problems


# ---- helpers shared by the tests -------------------------------------------

def kconfig(run, name):
    """Value of CONFIG_<name> in the run's build's .config (lib.testkit.kconfig)."""
    return build_kconfig(run.build, name)


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
