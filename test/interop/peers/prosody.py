# SPDX-License-Identifier: MIT
"""Prosody (Debian package prosody, 0.12 in bookworm) as an interop peer.

Everything lives in the cell's directory: prosody.cfg.lua, the data
directory (accounts, admin socket), the certificate and key, the log. Prosody
refuses to run as root, so prosody and prosodyctl run as the `prosody` user
(subprocess user=/group=, so the PID we hold is Prosody's own).

Name resolution: Prosody 0.12 resolves through libunbound when lua-unbound is
installed (otherwise its legacy resolver, which always reads
/etc/resolv.conf and port 53). libunbound serves .test itself as an empty
local zone (RFC 6761 default), so `local-zone: "test." transparent` is needed
before anything is forwarded; `forward` sends every query to our dnsmasq,
`resolvconf = false` and `hoststxt = false` keep /etc/resolv.conf and
/etc/hosts out of it. No query can leave the run's addresses.

Method forcing: with the test CA as its only trusted CA and
`s2s_secure_auth = true`, Prosody offers SASL EXTERNAL and refuses any peer
whose certificate is not valid; xs2sd --auth sasl-external leaves EXTERNAL as
the only method. With a foreign CA, xs2s's certificate is untrusted, so
Prosody does not offer EXTERNAL, and `s2s_secure_auth = false` lets dialback
authenticate xs2s (Prosody 0.12 always does the db:verify round trip; it has
no XEP-0344 shortcut); xs2sd --auth dialback neither offers nor uses EXTERNAL."""
import os
import re
import shutil
import subprocess
import time

import common
from lib.proc import Proc
from lib.tcp import listening, require_free
from lib.testkit import check, poll
from peers.base import PeerServer, PlanAddress, S2sView

# Prints one line per s2s session (run in the admin shell's global env); bidi:
# mod_s2s_bidi's mark (s2sout.incoming / s2sin.outgoing: XEP-0288 negotiated).
VIEW_LUA = (
    '>local function row(s, dir) '
    'local sock = s.conn and s.conn:socket(); '
    'local i = sock and sock.info and sock:info() or {}; '
    'local db = s.dialback_key and "yes" or "no"; '
    'local authed = {}; '
    'for h, v in pairs(s.hosts or {}) do if v.dialback_key then db = "yes" end; '
    'if v.authed then authed[#authed+1] = h end end; '
    'print(("S2S dir=%s type=%s local=%s remote=%s secure=%s tls=%s cipher=%s sasl=%s '
    'dialback=%s chain=%s identity=%s authed=%s bidi=%s smacks=%s"):format(dir, tostring(s.type), '
    'tostring(dir == "in" and s.to_host or s.from_host), '
    'tostring(dir == "in" and s.from_host or s.to_host), tostring(s.secure), '
    'tostring(i.protocol), tostring(i.cipher), tostring(s.external_auth), db, '
    'tostring(s.cert_chain_status), tostring(s.cert_identity_status), '
    'table.concat(authed, ","), tostring(s.incoming or s.outgoing or false), tostring(s.smacks))) end; '
    'for s in pairs(prosody.incoming_s2s) do row(s, "in") end; '
    'for _, h in pairs(prosody.hosts) do for _, s in pairs(h.s2sout or {}) do row(s, "out") end end'
)
SHOW_COLUMNS = 'id host dir remote secure encryption cert s2s_sasl dialback'

CONFIG = '''-- Written by test/interop/peers/prosody.py for one xs2s interop cell.
-- Never used outside this directory; nothing here is read from /etc/prosody.
pidfile = "{dir}/prosody.pid"
data_path = "{dir}/data"
log = {{ {{ levels = {{ min = "debug" }}, to = "file", filename = "{dir}/prosody.log" }} }}

interfaces = {{ "{ip}" }}
local_interfaces = {{ "{ip}" }}
s2s_ports = {{ {s2s_port} }}
c2s_ports = {{ {c2s_port} }}
c2s_direct_tls_ports = {{ }}
s2s_direct_tls_ports = {{ {s2s_direct_tls_ports} }}
http_ports = {{ }}
https_ports = {{ }}
use_ipv6 = false

modules_enabled = {{
    "tls"; "saslauth"; "dialback"; "disco"; "ping"; "roster"; "limits";
    "posix"; "admin_shell";{extra_modules}
}}
modules_disabled = {{ "offline" }}
admin_socket = "{dir}/data/prosody.sock"

authentication = "internal_hashed"
storage = "internal"

c2s_require_encryption = true
{s2s_tls_options}s2s_secure_auth = {secure_auth}
s2s_timeout = 20
{extra_options}
-- The shipped limits (c2s 10kb/s, s2sin 30kb/s) raised out of the way.
limits = {{
    c2s = {{ rate = "10mb/s" }};
    s2sin = {{ rate = "10mb/s" }};
}}

{ssl_options}
-- libunbound: only our dnsmasq, never /etc/resolv.conf, /etc/hosts or the root servers.
unbound = {{
    resolvconf = false;
    hoststxt = false;
    forward = {{ "{dns_ip}@{dns_port}" }};
    options = {{ ["local-zone:"] = "test. transparent" }};
}}

VirtualHost "{domain}"
'''

SSL_BOTH = '''certificates = "{dir}"
ssl = {{
    certificate = "{cert}";
    key = "{key}";
    cafile = "{ca}";
    capath = false;
}}
'''

# No TLS on s2s (failure cell peer-without-starttls): the certificate only in
# c2s_ssl, an empty certificates directory (no automatic lookup), STARTTLS
# neither offered nor used on s2s. (Without a certificate alone, Prosody 0.12
# still offers s2s STARTTLS, "SNI will be required", and fails the handshake.)
SSL_C2S_ONLY = '''certificates = "{dir}/no-certificates"
ssl = {{
    cafile = "{ca}";
    capath = false;
}}
c2s_ssl = {{
    certificate = "{cert}";
    key = "{key}";
}}
'''
S2S_TLS = 's2s_require_encryption = true\n'
# XEP-0198 on s2s (mod_smacks; on by default in 0.12, said explicitly here).
SMACKS_S2S = 'smacks_enabled_s2s = true\n'
S2S_NO_TLS = 's2s_require_encryption = false\ns2s_allow_encryption = false\n'


class Prosody(PeerServer):
    key = 'prosody'
    title = 'Prosody'
    packages = ('prosody', 'lua-unbound')
    domain = 'prosody.test'
    ip = PlanAddress(82)
    c2s_port = 5222
    failure_modes = ('peer-distrusts-xs2s', 'peer-without-starttls', 'peer-restarted-mid-link')
    app_checks = ('example-bot',)
    features = ('account-presence', 'bidi-sasl-external', 'bidi-dialback', 'bidi-dialback-cert', 'liveness',
                'deny-domain', 'stream-management')
    direct_tls_directions = ('to-xs2s', 'from-xs2s')

    def __init__(self, run, workdir):
        super().__init__(run, workdir)
        self.cfg = os.path.join(workdir, 'prosody.cfg.lua')
        self.log_path = os.path.join(workdir, 'prosody.log')
        self.proc = None
        self.listen_direct_tls = False
        self.system_user('prosody')

    def _as_prosody(self):
        return dict(user=self.uid, group=self.gid, extra_groups=[], cwd=self.dir,
                    env={'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'LANG': 'C.UTF-8',
                         'HOME': self.dir})

    def _chown(self, path):
        os.chown(path, self.uid, self.gid)

    def configure(self, setup):
        # Without lua-unbound, Prosody 0.12 falls back to its legacy resolver,
        # which reads /etc/resolv.conf and would ask the machine's DNS server.
        r = subprocess.run(['lua5.4', '-e', 'require "lunbound"'], capture_output=True, text=True)
        check(r.returncode == 0, 'lua-unbound is not usable by lua5.4 (Prosody would use '
              f'/etc/resolv.conf): {r.stderr.strip()[-200:]}')
        pki = self.run.pki
        os.chmod(self.dir, 0o755)
        self._chown(self.dir)
        data = os.path.join(self.dir, 'data')
        os.makedirs(data, exist_ok=True)
        os.chmod(data, 0o750)
        self._chown(data)
        cert = os.path.join(self.dir, f'{self.domain}.crt')
        key = os.path.join(self.dir, f'{self.domain}.key')
        ca = os.path.join(self.dir, 'trusted-ca.pem')
        shutil.copyfile(pki.cert(self.domain), cert)
        shutil.copyfile(pki.key(self.domain), key)
        shutil.copyfile(setup.trust_ca, ca)
        os.chmod(key, 0o600)
        for p in (cert, key, ca):
            self._chown(p)
        s2s_tls = getattr(setup, 's2s_tls', True)
        if not s2s_tls:
            empty = os.path.join(self.dir, 'no-certificates')
            os.makedirs(empty, exist_ok=True)
            self._chown(empty)
        ssl = (SSL_BOTH if s2s_tls else SSL_C2S_ONLY).format(dir=self.dir, cert=cert, key=key, ca=ca)
        self.listen_direct_tls = getattr(setup, 'direct_tls', False)
        dns_port = getattr(setup, 'dns_port', None) or common.DNS_PORT
        with open(self.cfg, 'w') as f:
            f.write(CONFIG.format(dir=self.dir, ip=self.ip, s2s_port=common.S2S_PORT,
                                  s2s_direct_tls_ports=common.DIRECT_TLS_PORT if self.listen_direct_tls else '',
                                  c2s_port=self.c2s_port, domain=self.domain,
                                  secure_auth='true' if setup.secure_auth else 'false',
                                  s2s_tls_options=S2S_TLS if s2s_tls else S2S_NO_TLS,
                                  ssl_options=ssl, dns_ip=common.DNS_IP, dns_port=dns_port,
                                  extra_modules=(' "s2s_bidi";' if getattr(setup, 'bidi', False) else '')
                                  + (' "smacks";' if getattr(setup, 'smacks', False) else ''),
                                  extra_options=SMACKS_S2S if getattr(setup, 'smacks', False) else ''))
        os.chmod(self.cfg, 0o644)
        r = self._ctl('register', self.user, self.domain, self.password)
        check(r.returncode == 0, f'prosodyctl register failed ({r.returncode}): {r.stdout.strip()[-300:]}')

    def _ctl(self, *args, timeout=15):
        return subprocess.run(['prosodyctl', '--config', self.cfg] + list(args), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=timeout, **self._as_prosody())

    def start(self, timeout=15):
        ports = (common.S2S_PORT, self.c2s_port) + ((common.DIRECT_TLS_PORT,) if self.listen_direct_tls else ())
        for port in ports:
            require_free(self.ip, port, 'prosody')
        self.proc = Proc('prosody', ['prosody', '--config', self.cfg, '-F'],
                         os.path.join(self.dir, 'prosody.stdout'), **self._as_prosody())
        self.proc.start()
        sock = os.path.join(self.dir, 'data', 'prosody.sock')

        def ready():
            return (not self.proc.alive()) or (
                all(listening(self.ip, p) for p in ports) and os.path.exists(sock))
        poll(ready, timeout, 0.05)
        if not self.proc.alive():
            self.proc.exit_problem = 'reported'
        check(self.proc.alive(), f'prosody exited at start (status {self.proc.proc.returncode}): '
              + ' | '.join(self.proc.log_tail(5) + self._log_errors()))
        check(ready(), f'prosody not listening on {self.ip}:{common.S2S_PORT} and :{self.c2s_port} '
              f'with its admin socket after {timeout}s')
        # The PID we will stop is Prosody's own (no wrapper in between).
        pidfile = os.path.join(self.dir, 'prosody.pid')
        pid = poll(lambda: os.path.exists(pidfile) and open(pidfile).read().strip() == str(self.proc.pid)
                   and str(self.proc.pid), 5, 0.05) or (os.path.exists(pidfile) and open(pidfile).read().strip())
        check(pid == str(self.proc.pid), f'prosody.pid says {pid!r}, we started PID {self.proc.pid}')
        return self

    def _log_errors(self):
        try:
            with open(self.log_path, errors='replace') as f:
                return [ln.strip() for ln in f if '\terror\t' in ln][-5:]
        except OSError:
            return []

    def stop(self):
        if self.proc is None:
            return []
        problems = self.proc.stop(grace=5, ok_status=(0,))
        return problems + [f'prosody logged an error: {e}' for e in self._log_errors()]

    def shell(self, line):
        """One admin shell command (prosodyctl shell, through the admin socket)."""
        r = self._ctl('shell', line)
        check(r.returncode == 0, f'prosodyctl shell failed ({r.returncode}): {r.stdout.strip()[-300:]}')
        return r.stdout

    def s2s_view(self):
        # The human table as well, into the cell's directory, for the record.
        with open(os.path.join(self.dir, 's2s-show.txt'), 'a') as f:
            f.write(f'# {time.strftime("%H:%M:%S")} s2s:show()\n')
            f.write(self.shell(f's2s:show(nil, "{SHOW_COLUMNS}")'))
        views = []
        for line in self.shell(VIEW_LUA).splitlines():
            if not line.startswith('S2S '):
                continue
            kv = dict(re.findall(r'(\w+)=(\S*)', line))
            if kv.get('sasl') == 'succeeded':
                method = 'sasl-external'
            elif kv.get('dialback') == 'yes' and kv.get('type') in ('s2sin', 's2sout'):
                method = 'dialback'
            else:
                method = 'none'
            cert = kv.get('identity') if kv.get('chain') == 'valid' else kv.get('chain')
            views.append(S2sView(kv.get('dir'), kv.get('local'), kv.get('remote'), method,
                                 None if kv.get('tls') == 'nil' else kv.get('tls'),
                                 None if kv.get('cipher') == 'nil' else kv.get('cipher'),
                                 cert, raw=line[4:]))
        return views

    def log_lines(self, regex):
        try:
            with open(self.log_path, errors='replace') as f:
                return [ln.rstrip() for ln in f if re.search(regex, ln)]
        except OSError:
            return []

    def logs(self):
        return [('prosody (without debug lines)', self.log_path, r'\tdebug\t'),
                ('prosody stdout', os.path.join(self.dir, 'prosody.stdout'), None)]

