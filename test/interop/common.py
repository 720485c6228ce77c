# SPDX-License-Identifier: MIT
"""What the interop suite has of its own on top of test/lib: the address plan
(loopback on the POSIX port, the run's own network namespace on the lwIP
port), TLS suite names, Debian packages, the xs2sd under test (Xs2s:
lib.xs2sd.Xs2sd for xs2s.test) and a real XMPP client (slixmpp) for the peer
server's side.

Nothing here ever looks a name up outside the plan: dnsmasq (lib.dnsmasq)
runs with --no-resolv and no upstream, xs2sd gets --dns-server pointing at
it, and the slixmpp client is given its server's address (its DNS lookup is
replaced)."""
import asyncio
import concurrent.futures
import logging
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from lib import netsim  # noqa: E402
from lib.tcp import require_free  # noqa: E402
from lib.testkit import Fail, check, poll  # noqa: E402
from lib.xs2sd import S2S_PORT, Xs2sBot, Xs2sd  # noqa: E402

XS2S_DOMAIN = 'xs2s.test'
XS2S_USER = f'u@{XS2S_DOMAIN}'


# ---- the address plan ----------------------------------------------------------

# The same last octets on either port; the network is the build's port's:
# loopback on the POSIX port (the integration tests use 127.0.0.31-60), the
# run's own network namespace on the lwIP port (test/lib/netsim.py).
NETS = {'posix': '127.0.0', 'lwip': netsim.NET}
DNS_OCTET, XS2S_OCTET = 80, 81     # the peers' are theirs (PeerServer.ip)
DNS_PORT = 5300
DIRECT_DNS_PORT = 5301             # the direct TLS cells' own dnsmasq (cells.py DIRECT_TLS)
DIRECT_TLS_PORT = 5270             # XEP-0368 direct TLS s2s, on every side
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


# ---- xs2sd -------------------------------------------------------------------

class Xs2s(Xs2sd):
    """The xs2sd under test (lib.xs2sd.Xs2sd), serving XS2S_DOMAIN on
    XS2S_IP:5269, finding peers through dnsmasq, named 'xs2sd' in messages.
    build: a copy of the programs only (no .config): the port is the run's.
    components, component_listen: XEP-0114 components (lib.xs2sd.Xs2sd).
    cert: the name of its certificate in pki (default XS2S_DOMAIN's;
    Pki.special for others). net: the run's netsim.TapNet on the lwIP port
    (None on POSIX); stop() then also waits until the peers' sockets towards
    XS2S_IP have finished closing (the next cell's peer needs its port)."""

    def __init__(self, build, workdir, pki, ca, auth, cert=XS2S_DOMAIN, net=None, extra=(), components=None,
                 component_listen=None):
        super().__init__(build, XS2S_DOMAIN, XS2S_IP, name='xs2sd', cert=pki.cert(cert), key=pki.key(cert),
                         ca=ca, admin=os.path.join(workdir, 'xs2s.sock'),
                         log_path=os.path.join(workdir, 'xs2sd.log'), dns_server=f'{DNS_IP}:{DNS_PORT}',
                         auth=auth, net=net, stack=PORT, settle=True, extra=extra, components=components,
                         component_listen=component_listen)

    def start(self, timeout=10):
        require_free(self.ip, self.port, self.name)
        return super().start(timeout)


class Bot(Xs2sBot):
    """The example bot (BUILD/xs2s-bot, lib.xs2sd.Xs2sBot) as XS2S_DOMAIN on
    XS2S_IP:5269, JID bot@XS2S_DOMAIN, with the test CA; host_map {domain:
    address} finds the peers (the bot has no DNS option). Stopped like Xs2s
    (on lwIP also waiting for the peers' sockets to close)."""

    def __init__(self, build, workdir, pki, host_map, net=None):
        super().__init__(build, XS2S_DOMAIN, XS2S_IP, name='xs2s-bot', cert=pki.cert(XS2S_DOMAIN),
                         key=pki.key(XS2S_DOMAIN), ca=pki.ca, log_path=os.path.join(workdir, 'xs2s-bot.log'),
                         host_map=host_map, net=net, stack=PORT, settle=True)

    def start(self, timeout=10):
        require_free(self.ip, self.port, self.name)
        return super().start(timeout)


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
        self.presences = []             # (from bare JID, kind): every presence received, in order
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

        def presence(kind):
            def f(p):
                with self._lock:
                    self.presences.append((p['from'].bare, kind))
            return f
        for kind in ('available', 'unavailable', 'subscribe', 'subscribed', 'unsubscribe', 'unsubscribed',
                     'error'):
            x.add_event_handler(f'presence_{kind}', presence(kind))

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

    def _on_loop(self, fn, timeout=5):
        """fn() run on the client's own loop (slixmpp is not thread-safe); its result."""
        check(self.loop is not None, 'XMPP client not running')
        done = concurrent.futures.Future()

        def run():
            try:
                done.set_result(fn())
            except Exception as e:  # noqa: BLE001 - handed to the caller
                done.set_exception(e)
        self.loop.call_soon_threadsafe(run)
        return done.result(timeout)

    def subscribe(self, jid):
        """Add jid to the roster (a roster set) and ask for its presence
        (RFC 6121 3.1.1: presence of type subscribe), as a user's client does."""
        async def go():
            # A roster get first: the session becomes an "interested resource"
            # (RFC 6121 2.2), which is what gets roster pushes and the contact's
            # "subscribed" (Prosody sends them to interested resources only).
            await self.xmpp.get_roster()
            await self.xmpp.update_roster(jid, name=jid.split('@')[0])
            self.xmpp.send_presence_subscription(pto=jid)
        asyncio.run_coroutine_threadsafe(go(), self.loop).result(10)

    def roster_subscription(self, jid):
        """The roster's subscription state of jid ('none', 'to', ...) as the server pushed it."""
        return self._on_loop(lambda: self.xmpp.client_roster[jid]['subscription'])

    def presence_seen(self, jid, kind, since=0):
        """Presences of this kind from bare jid, after the first `since` ones received."""
        with self._lock:
            return [p for p in self.presences[since:] if p == (jid, kind)]

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
