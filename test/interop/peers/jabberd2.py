# SPDX-License-Identifier: MIT
"""jabberd2 (Debian package jabberd2, 2.7.0 in bookworm) as an interop peer.

jabberd2 is four processes talking through its router: jabberd2-router,
jabberd2-sm (session manager, storage), jabberd2-s2s and jabberd2-c2s. Each
is started here, as the `jabber` user (subprocess user=/group=, so every PID
held is the process's own; checked against the pidfiles), with its own XML
configuration in the cell's directory (never /etc/jabberd2): router.xml,
router-users.xml (the component secret), sm.xml, s2s.xml, c2s.xml. Storage
and authentication share one SQLite file (Debian's db-setup.sqlite schema);
the user is one row of `authreg` (plaintext password, as Debian's c2s.xml
ships it) and the session manager creates it on first login
(sm.xml `<user><auto-create/>`). The sm module chains are Debian's minus
amp, vacation, vCard, private storage, announce; `offline` must stay: in
jabberd2 it is mod_offline that delivers a message addressed to a bare JID
to the user's top session (mod_deliver only handles full JIDs; without
offline the sm answers feature-not-implemented).

Name resolution: jabberd2-s2s resolves through udns (libudns0, `dns_init`),
which reads /etc/resolv.conf unless NSCACHEIP is set; RES_OPTIONS="port:5300"
sets the server port and an empty LOCALDOMAIN clears the search list. So s2s
runs with NSCACHEIP=<dnsmasq's address> RES_OPTIONS=port:5300 LOCALDOMAIN= :
our dnsmasq is its only resolver. (/etc/hosts is read only when the A lookup
returns nothing; dnsmasq answers every name of the cell.)

TLS: s2s.xml `<local><pemfile>` (key + certificate chain in one file),
`<cachain>` the cell's trusted CA, `<security><require_tls>1</require_tls>`
(no dialback on a plaintext stream, in or out). c2s: `<id pemfile=...
require-starttls='true'>`.

What jabberd2 cannot do: SASL EXTERNAL on s2s. jabberd2-s2s uses its SASL
plugin only for the connection to its own router; incoming s2s streams are
initialised with S2S_DB_HEADER | SX_SSL_STARTTLS_OFFER only (s2s/in.c), so
its features after TLS carry no <mechanisms/>; outgoing streams go straight
to dialback after STARTTLS (s2s/out.c). Its only certificate setting is
OpenSSL's verify-mode. See UNSUPPORTED.

Its own view: jabberd2 has no admin interface; its s2s log (notice level,
the Debian build has no debug logging: `-D` says "Debugging not enabled")
says `outgoing route 'L/R' is now valid TLS` / `incoming route 'L/R' is now
valid TLS` once dialback validated a route on a TLS stream. It never logs the
TLS version or cipher, so S2sView has tls_version = cipher = None."""
import os
import re
import secrets
import shutil
import socket
import sqlite3
import ssl
import subprocess

import common
from lib.proc import Proc
from lib.tcp import listening, require_free
from lib.testkit import check, poll
from peers.base import PeerServer, PlanAddress, S2sView

LIBDIR = '/usr/lib/x86_64-linux-gnu/jabberd2'
SCHEMA = '/usr/share/doc/jabberd2/db-setup.sqlite.gz'
ROUTER_PORT = 5347
COMPONENTS = ('router', 'sm', 's2s', 'c2s')     # start order

# jabberd2 never logs the TLS version or cipher of an s2s stream (only
# ',TLS'; its 'using cipher' line is debug-only, and Debian's build has no
# debug). This shim, preloaded into jabberd2-s2s only, asks jabberd2's own
# OpenSSL session once its handshake completed (SSL_connect/SSL_accept
# returned 1, where sx/ssl.c then reads the cipher bits) and appends one line
# per handshake to $XS2S_TLS_LOG. It changes nothing in the handshake.
TLS_SHIM_C = r'''
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

static void note(SSL *ssl, const char *dir) {
    const char *path = getenv("XS2S_TLS_LOG");
    FILE *f = path ? fopen(path, "a") : NULL;
    if (!f) return;
    X509 *peer = SSL_get1_peer_certificate(ssl);
    long vr = SSL_get_verify_result(ssl);
    fprintf(f, "TLS dir=%s version=%s cipher=%s peer_cert=%s verify=%ld (%s)\n", dir,
            SSL_get_version(ssl), SSL_get_cipher_name(ssl), peer ? "yes" : "no", vr,
            X509_verify_cert_error_string(vr));
    X509_free(peer);
    fclose(f);
}

int SSL_connect(SSL *ssl) {
    static int (*real)(SSL *);
    if (!real) real = (int (*)(SSL *)) dlsym(RTLD_NEXT, "SSL_connect");
    int r = real(ssl);
    if (r == 1) note(ssl, "out");
    return r;
}

int SSL_accept(SSL *ssl) {
    static int (*real)(SSL *);
    if (!real) real = (int (*)(SSL *)) dlsym(RTLD_NEXT, "SSL_accept");
    int r = real(ssl);
    if (r == 1) note(ssl, "in");
    return r;
}
'''

ROUTER_XML = '''<!-- Written by test/interop/peers/jabberd2.py for one xs2s interop cell. -->
<router>
  <id>router</id>
  <pidfile>{dir}/router.pid</pidfile>
  <log type='file'><file>{dir}/router.log</file></log>
  <local>
    <ip>{ip}</ip>
    <port>{router_port}</port>
    <users>{dir}/router-users.xml</users>
  </local>
  <check><interval>60</interval><keepalive>0</keepalive></check>
  <io>
    <max_fds>256</max_fds>
    <limits><bytes>0</bytes><connects>0</connects></limits>
    <access><order>allow,deny</order></access>
  </io>
  <aliases/>
  <aci>
    <acl type='all'><user>jabberd</user></acl>
  </aci>
</router>
'''

ROUTER_USERS_XML = '''<users>
  <user><name>jabberd</name><secret>{secret}</secret></user>
</users>
'''

ROUTER_CLIENT = '''  <router>
    <ip>{ip}</ip>
    <port>{router_port}</port>
    <user>jabberd</user>
    <pass>{secret}</pass>
    <retry><init>10</init><lost>3</lost><sleep>1</sleep></retry>
  </router>'''

SQLITE = '''<sqlite>
      <dbname>{dir}/jabberd2.db</dbname>
      <busy-timeout>2000</busy-timeout>{extra}
    </sqlite>'''

SM_XML = '''<!-- Written by test/interop/peers/jabberd2.py for one xs2s interop cell. -->
<sm>
  <id>{domain}</id>
  <pidfile>{dir}/sm.pid</pidfile>
{router}
  <log type='file'><file>{dir}/sm.log</file></log>
  <local><id>{domain}</id></local>
  <storage>
    <path>{lib}</path>
    <driver>sqlite</driver>
    {sqlite}
  </storage>
  <modules>
    <path>{lib}</path>
    <chain id='sess-start'><module>status</module></chain>
    <chain id='sess-end'><module>status</module><module>iq-last</module></chain>
    <chain id='in-sess'>
      <module>validate</module><module>status</module><module>privacy</module>
      <module>roster</module><module>iq-ping</module><module>disco</module>
      <module>offline</module><module>presence</module><module>deliver</module>
    </chain>
    <chain id='out-sess'/>
    <chain id='in-router'>
      <module>session</module><module>validate</module><module>presence</module>
      <module>privacy</module>
    </chain>
    <chain id='out-router'><module>privacy</module></chain>
    <chain id='pkt-sm'>
      <module>iq-last</module><module>iq-ping</module><module>iq-time</module>
      <module>iq-version</module><module>disco</module><module>status</module>
      <module>presence</module>
    </chain>
    <chain id='pkt-user'>
      <module>roster</module><module>presence</module><module>disco</module>
      <module>deliver</module><module>offline</module><module>iq-last</module>
    </chain>
    <chain id='pkt-router'><module>session</module><module>disco</module></chain>
    <chain id='user-load'><module>active</module><module>roster</module><module>privacy</module></chain>
    <chain id='user-unload'/>
    <chain id='user-create'><module>active</module></chain>
    <chain id='user-delete'>
      <module>active</module><module>offline</module><module>privacy</module><module>roster</module>
      <module>status</module><module>iq-last</module>
    </chain>
    <chain id='disco-extend'><module>iq-version</module></chain>
  </modules>
  <discovery>
    <identity><category>server</category><type>im</type><name>jabberd2</name></identity>
  </discovery>
  <user>
    <auto-create/>
  </user>
</sm>
'''

S2S_XML = '''<!-- Written by test/interop/peers/jabberd2.py for one xs2s interop cell. -->
<s2s>
  <id>s2s</id>
  <pidfile>{dir}/s2s.pid</pidfile>
{router}
  <log type='file'><file>{dir}/s2s.log</file></log>
  <local>
    <ip>{ip}</ip>
    <port>{s2s_port}</port>
    <secret>{db_secret}</secret>
    <pemfile>{pem}</pemfile>
    <cachain>{ca}</cachain>
    <verify-mode>{verify_mode}</verify-mode>
  </local>
  <io>
    <max_fds>256</max_fds>
    <limits><stanzasize>65535</stanzasize></limits>
  </io>
  <check>
    <interval>5</interval>
    <queue>20</queue>
    <retry>20</retry>
    <idle>86400</idle>
    <keepalive>0</keepalive>
    <dnscache>300</dnscache>
  </check>
  <lookup>
    <srv>xmpp-server</srv>
    <min-ttl>30</min-ttl>
    <max-ttl>300</max-ttl>
    <bad-host-timeout>0</bad-host-timeout>
  </lookup>
  <security>
    <require_tls>1</require_tls>
  </security>
</s2s>
'''

C2S_XML = '''<!-- Written by test/interop/peers/jabberd2.py for one xs2s interop cell. -->
<c2s>
  <id>c2s</id>
  <pidfile>{dir}/c2s.pid</pidfile>
{router}
  <log type='file'><file>{dir}/c2s.log</file></log>
  <local>
    <id realm='{domain}' pemfile='{pem}' require-starttls='true'>{domain}</id>
    <ip>{ip}</ip>
    <port>{c2s_port}</port>
  </local>
  <io>
    <max_fds>256</max_fds>
    <limits><bytes>0</bytes><stanzas>0</stanzas><connects>0</connects><stanzasize>65535</stanzasize></limits>
    <access><order>allow,deny</order></access>
    <check><interval>0</interval><idle>0</idle><keepalive>0</keepalive></check>
  </io>
  <authreg>
    <path>{lib}</path>
    <module>sqlite</module>
    <mechanisms>
      <traditional/>
      <sasl/>
    </mechanisms>
    <ssl-mechanisms>
      <traditional><plain/></traditional>
      <sasl><plain/></sasl>
    </ssl-mechanisms>
    {sqlite}
  </authreg>
</c2s>
'''

# Why a method cannot be forced on jabberd2 (for the table / report).
UNSUPPORTED = {
    'sasl-external': 'jabberd2 2.7.0 has no SASL on s2s: its incoming s2s streams offer only STARTTLS '
                     'and dialback (s2s/in.c: sx_server_init(S2S_DB_HEADER | SX_SSL_STARTTLS_OFFER)), '
                     'its outgoing streams send db:result right after STARTTLS (s2s/out.c)',
}


class Jabberd2(PeerServer):
    key = 'jabberd2'
    title = 'jabberd2'
    packages = ('jabberd2', 'gcc', 'libc6-dev', 'libssl-dev')   # the last three: the TLS shim
    unsupported = UNSUPPORTED
    # Checked in the installed package (2.7.0): no "bidi" anywhere in jabberd2-s2s.
    bidi_unsupported = 'not supported: jabberd2 2.7.0\'s s2s component has no XEP-0288 (no urn:xmpp:bidi)'
    domain = 'jabberd2.test'
    ip = PlanAddress(84)
    c2s_port = 5222
    # XEP-0368: no direct TLS cells. jabberd2 2.7.0's s2s has a plain listener
    # only (s2s.xml: <port>, no <ssl-port> as c2s.xml has; no `ssl-port` or
    # `xmpps` string in /usr/sbin/jabberd2-s2s, while jabberd2-c2s has
    # `ssl-port`), and its resolver's <srv> list names services that are all
    # connected to the same way, with STARTTLS.
    direct_tls_missing = {
        'to-xs2s': 'jabberd2 2.7.0 s2s never connects with TLS first (its `<srv>` services all use STARTTLS; '
                   'no `xmpps` in jabberd2-s2s)',
        'from-xs2s': 'jabberd2 2.7.0 s2s has no direct TLS listener (s2s.xml: `<port>` only, no `<ssl-port>` '
                     'as c2s has)',
    }

    def __init__(self, run, workdir):
        super().__init__(run, workdir)
        self.procs = {}
        self.system_user('jabber')
        self.secret = secrets.token_hex(12)

    def _path(self, name):
        return os.path.join(self.dir, name)

    def _env(self, extra=None):
        env = {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'LANG': 'C.UTF-8', 'HOME': self.dir}
        env.update(extra or {})
        return env

    def configure(self, setup):
        pki = self.run.pki
        os.chmod(self.dir, 0o755)
        os.chown(self.dir, self.uid, self.gid)
        # One PEM file with key and certificate chain (jabberd2's pemfile).
        pem = self._path(f'{self.domain}.pem')
        with open(pem, 'w') as out:
            for src in (pki.key(self.domain), pki.cert(self.domain)):
                with open(src) as f:
                    out.write(f.read())
        os.chmod(pem, 0o600)
        ca = self._path('trusted-ca.pem')
        shutil.copyfile(setup.trust_ca, ca)
        # secure_auth: let OpenSSL refuse a peer whose certificate does not
        # chain to the trusted CA (SSL_VERIFY_PEER | FAIL_IF_NO_PEER_CERT |
        # CLIENT_ONCE); that is all jabberd2 can do, it has no EXTERNAL.
        # Otherwise 0: any certificate, dialback authenticates.
        verify_mode = 7 if setup.secure_auth else 0
        router = ROUTER_CLIENT.format(ip=self.ip, router_port=ROUTER_PORT, secret=self.secret)
        sqlite_sm = SQLITE.format(dir=self.dir, extra='')
        sqlite_c2s = SQLITE.format(dir=self.dir, extra='\n      <password_type><plaintext/></password_type>')
        kw = dict(dir=self.dir, ip=self.ip, domain=self.domain, router=router, lib=LIBDIR,
                  router_port=ROUTER_PORT, secret=self.secret)
        files = {
            'router.xml': ROUTER_XML.format(**kw),
            'router-users.xml': ROUTER_USERS_XML.format(**kw),
            'sm.xml': SM_XML.format(sqlite=sqlite_sm, **kw),
            's2s.xml': S2S_XML.format(s2s_port=common.S2S_PORT, db_secret=secrets.token_hex(20), pem=pem,
                                      ca=ca, verify_mode=verify_mode, **kw),
            'c2s.xml': C2S_XML.format(c2s_port=self.c2s_port, pem=pem, sqlite=sqlite_c2s, **kw),
        }
        for name, text in files.items():
            with open(self._path(name), 'w') as f:
                f.write(text)
            os.chmod(self._path(name), 0o640)
        # Storage + authreg: Debian's schema, the user as one authreg row.
        db = self._path('jabberd2.db')
        r = subprocess.run(['sh', '-c', f'zcat {SCHEMA} | sqlite3 {db}'], capture_output=True, text=True,
                           timeout=30)
        check(r.returncode == 0, f'creating {db} from {SCHEMA} failed: {r.stderr.strip()[-300:]}')
        con = sqlite3.connect(db)
        try:
            con.execute('INSERT INTO authreg (username, realm, password) VALUES (?, ?, ?)',
                        (self.user, self.domain, self.password))
            con.commit()
        finally:
            con.close()
        # The TLS shim for jabberd2-s2s (see TLS_SHIM_C).
        src = self._path('tls-shim.c')
        with open(src, 'w') as f:
            f.write(TLS_SHIM_C)
        r = subprocess.run(['gcc', '-shared', '-fPIC', '-O2', '-o', self._path('tls-shim.so'), src, '-ldl', '-lssl',
                            '-lcrypto'], capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, f'building the TLS shim failed: {r.stderr.strip()[-300:]}')
        open(self._path('s2s-tls.log'), 'w').close()
        for name in os.listdir(self.dir):
            os.chown(self._path(name), self.uid, self.gid)

    def start(self, timeout=20):
        for port in (common.S2S_PORT, self.c2s_port, ROUTER_PORT):
            require_free(self.ip, port, 'jabberd2')
        # udns: our dnsmasq only (never /etc/resolv.conf), no search list.
        dns_env = {'NSCACHEIP': common.DNS_IP, 'RES_OPTIONS': f'port:{common.DNS_PORT}', 'LOCALDOMAIN': '',
                   # its TLS sessions, as its own OpenSSL sees them (TLS_SHIM_C)
                   'LD_PRELOAD': self._path('tls-shim.so'), 'XS2S_TLS_LOG': self._path('s2s-tls.log')}
        ready = {
            'router': lambda: listening(self.ip, ROUTER_PORT),
            'sm': lambda: self._logged('sm', r'ready for sessions|connection to router established'),
            's2s': lambda: listening(self.ip, common.S2S_PORT),
            'c2s': lambda: listening(self.ip, self.c2s_port),
        }
        for comp in COMPONENTS:
            p = Proc(f'jabberd2-{comp}', [f'/usr/sbin/jabberd2-{comp}', '-c', self._path(f'{comp}.xml')],
                     self._path(f'{comp}.stdout'), user=self.uid, group=self.gid, extra_groups=[],
                     cwd=self.dir, env=self._env(dns_env if comp == 's2s' else None))
            self.procs[comp] = p
            p.start()
            poll(lambda: (not p.alive()) or ready[comp](), timeout, 0.05)
            if not p.alive():
                p.exit_problem = 'reported'
            check(p.alive(), f'jabberd2-{comp} exited at start (status {p.proc.returncode}): '
                  + ' | '.join(p.log_tail(3) + self._log_tail(comp, 5)))
            check(ready[comp](), f'jabberd2-{comp} not ready after {timeout}s: '
                  + ' | '.join(self._log_tail(comp, 5)))
        # s2s and c2s must have joined the router before the client logs in.
        for comp in ('s2s', 'c2s'):
            check(poll(lambda: self._logged(comp, 'connection to router established'), timeout, 0.05),
                  f'jabberd2-{comp} never connected to its router: ' + ' | '.join(self._log_tail(comp, 5)))
        # The PIDs we hold are the components' own (no wrapper in between).
        for comp, p in self.procs.items():
            pidfile = self._path(f'{comp}.pid')
            pid = poll(lambda: os.path.exists(pidfile) and open(pidfile).read().strip(), 5, 0.05)
            check(pid == str(p.pid), f'{comp}.pid says {pid!r}, we started PID {p.pid}')
        return self

    def _log_lines(self, comp):
        try:
            with open(self._path(f'{comp}.log'), errors='replace') as f:
                return [ln.rstrip() for ln in f]
        except OSError:
            return []

    def _log_tail(self, comp, n):
        return self._log_lines(comp)[-n:]

    def _logged(self, comp, regex):
        return any(re.search(regex, ln) for ln in self._log_lines(comp))

    def _log_errors(self):
        return [f'{c}: {ln}' for c in COMPONENTS for ln in self._log_lines(c)
                if re.search(r'\[error\]|\[crit\]|\[alert\]|\[emerg\]', ln)][-5:]

    def stop(self):
        problems = []
        # Reverse order: the router last, so the others do not spin on it.
        for comp in reversed(COMPONENTS):
            p = self.procs.get(comp)
            if p is not None:
                problems += p.stop(grace=5, ok_status=(0,))
        return problems + [f'jabberd2 logged an error: {e}' for e in self._log_errors()]

    def _tls_sessions(self):
        try:
            with open(self._path('s2s-tls.log'), errors='replace') as f:
                return [dict(re.findall(r'(\w+)=(\S+)', ln), raw=ln.strip()) for ln in f if ln.startswith('TLS ')]
        except OSError:
            return []

    def s2s_view(self):
        views = []
        tls = self._tls_sessions()
        for ln in self._log_lines('s2s'):
            m = re.search(r"(outgoing|incoming) route '([^'/]*)/([^']*)' is now valid(.*)$", ln)
            if not m:
                continue
            # ',TLS' in the flags: the stream was encrypted; jabberd2 does not
            # say with which version or cipher: its OpenSSL does (shim).
            d = 'out' if m.group(1) == 'outgoing' else 'in'
            encrypted = 'TLS' in m.group(4).strip().split(',')
            t = next((x for x in tls if x.get('dir') == d), {}) if encrypted else {}
            # OpenSSL's verify result. jabberd2 sets X509_V_FLAG_CRL_CHECK and its
            # verify callback ignores X509_V_ERR_UNABLE_TO_GET_CRL (3; sx/ssl.c),
            # so 0 and 3 both mean: chains to the trusted CA. jabberd2 never
            # checks the name in the certificate.
            if not t:
                cert = None
            elif t.get('peer_cert') != 'yes':
                cert = 'not requested'        # in, verify-mode 0: no client certificate asked for
            else:
                cert = 'valid' if t.get('verify') in ('0', '3') else 'untrusted'
            views.append(S2sView(d, m.group(2), m.group(3), 'dialback', t.get('version'), t.get('cipher'),
                                 cert, raw=ln.strip() + (f' | {t["raw"]}' if t else '')))
        return views

    def s2s_features(self, timeout=5):
        """Evidence for UNSUPPORTED: jabberd2's s2s stream features before and
        after STARTTLS, as xs2s.test with a valid certificate would get them
        (after TLS jabberd2 offers dialback only, never <mechanisms/>)."""
        pki = self.run.pki
        hdr = ("<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
               "xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' "
               f"from='{common.XS2S_DOMAIN}' to='{self.domain}' version='1.0'>").encode()

        def read_until(sock, pat):
            buf = b''
            while not re.search(pat, buf):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                buf += chunk
            return buf.decode(errors='replace')
        feats = r'</stream:features>|<stream:features/>'.encode()
        with socket.create_connection((self.ip, common.S2S_PORT), timeout) as raw:
            raw.sendall(hdr)
            before = re.search(r'<stream:features.*', read_until(raw, feats), re.S).group(0)
            raw.sendall(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
            read_until(raw, rb'<proceed[^>]*>')
            ctx = ssl.create_default_context(cafile=pki.ca)
            ctx.load_cert_chain(pki.cert(common.XS2S_DOMAIN), pki.key(common.XS2S_DOMAIN))
            with ctx.wrap_socket(raw, server_hostname=self.domain) as tls:
                tls.sendall(hdr)
                after = re.search(r'<stream:features.*', read_until(tls, feats), re.S).group(0)
        return before, after

    def logs(self):
        return [(f'jabberd2-{c}', self._path(f'{c}.log'), None) for c in COMPONENTS] + \
               [(f'jabberd2-{c} stdout', self._path(f'{c}.stdout'), None) for c in COMPONENTS]
