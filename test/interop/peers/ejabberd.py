# SPDX-License-Identifier: MIT
"""ejabberd (Debian package ejabberd, 23.01 in bookworm) as an interop peer.

Everything lives in the cell's directory: ejabberd.yml, the Mnesia spool
(accounts), the certificate and key, the logs, the resolver files. ejabberd
is started directly with `erl` (not through ejabberdctl, which reads
/etc/default/ejabberd, /etc/ejabberd/inetrc and wants /var/lib/ejabberd), as
the `ejabberd` user; unshare, sh, setpriv, erl and erlexec all exec, so the
PID we hold is the Erlang VM's own (checked: /proc/PID/exe is beam.smp).
ejabberd does not refuse root, but it has no reason to run as root.

No epmd at all: the node listens for Erlang distribution on a fixed port of
its own address (-erl_epmd_port P -start_epmd false, bound by
inet_dist_use_interface), and the control node (ejabberd_ctl for `register`,
an rpc for our view of its s2s sessions) connects to that port with
-dist_listen false, as ejabberdctl does with ERL_DIST_PORT. So no epmd daemon
is ever started that could outlive a cell. The cookie is random per cell.

Name resolution, two resolvers:
- SRV (xmpp_stream_out: inet_res:getbyname) and anything else Erlang resolves
  itself: an ERL_INETRC file with `{resolv_conf, ""}` (first: after a
  nameserver it would drop it), our hosts file, `{lookup, [file, dns]}` and
  nameserver = our dnsmasq. /etc/resolv.conf and /etc/hosts are not read.
- A/AAAA of the SRV target: p1_xmpp 1.6.1 calls net:getaddrinfo, i.e. glibc,
  which no inetrc reaches and which cannot be given a DNS port. So ejabberd
  runs in its own mount namespace (unshare --mount, needs root/CAP_SYS_ADMIN)
  with the cell's hosts (the .test names and their addresses in the run's
  plan, the same as dnsmasq's), nsswitch.conf (`hosts: files`: glibc never sends a DNS
  query) and resolv.conf bind-mounted over /etc's (on the lwIP port inside
  the run's network namespace as well: the mount namespace is a child of
  it). Nothing is resolved off the run's addresses; `fqdn` is set so ejabberd does not look up the machine's name.
  outgoing_s2s_families: [ipv4].

Method forcing: s2s_cafile is the cell's trusted CA (ca_file, which only
validates ejabberd's own certificate, is the test CA). With the test CA and
without mod_s2s_dialback, SASL EXTERNAL is the only method ejabberd has
(Prosody's s2s_secure_auth = true). With a foreign CA, xs2s's certificate does
not verify, so ejabberd neither offers nor can complete EXTERNAL, and
mod_s2s_dialback authenticates xs2s (ejabberd's outgoing streams always try
EXTERNAL first and log a warning when xs2s --auth dialback offers no SASL).

Its own view: an rpc lists the stream processes of ejabberd_s2s_in_sup /
ejabberd_s2s_out_sup with their state (stream_authenticated, server,
remote_server), xmpp_socket:get_negotiated_cipher ("TLSv1.3 TLS_AES_...")
and get_verify_result (0 = valid); the method of each process comes from
its log line "(tls|<0.487.0>) Accepted outbound s2s dialback|EXTERNAL
authentication A -> B (IP)". Saved as s2s-state.txt in the cell's directory.

Known crash: p1_xmpp 1.6.1 (xmpp_stream_pkix:get_cert_domains, badarg in
++) kills the stream process when it checks a trusted peer certificate that
has an XmppAddr subjectAltName (SASL EXTERNAL, either direction); a method
cell would then fail with ejabberd's [error] lines, xs2sd sees a closed
stream. The failure cell 'peer-crashes-on-xmppaddr' (cells.py) expects exactly
that for xs2s -> ejabberd (and fails once the crash is gone); it sets
expected_errors so that those [error] reports are not a problem at stop()."""
import os
import re
import secrets
import shutil
import socket
import subprocess
import time

import common
from lib.proc import Proc
from lib.tcp import listening, require_free
from lib.testkit import check, poll
from peers.base import PeerServer, PlanAddress, S2sView

# XEP-0368 direct TLS cells: an ejabberd_s2s_in listener with `tls: true`
# (ejabberd_s2s_in's listen options include tls; outbound, p1_xmpp 1.6.1's
# xmpp_stream_out looks up _xmpps-server._tcp before _xmpp-server and
# connects with TLS first, SNI and ALPN xmpp-server).
DIRECT_TLS_LISTENER = '''  - port: {port}
    ip: "{ip}"
    module: ejabberd_s2s_in
    tls: true
    shaper: none
    max_stanza_size: 1048576
'''

ERL_LIBS = '/usr/lib/x86_64-linux-gnu'   # where Debian puts ejabberd and its deps
DIST_PORT = 5283                         # Erlang distribution, on self.ip only

CONFIG = '''# Written by test/interop/peers/ejabberd.py for one xs2s interop cell.
# Never used outside this directory; nothing here is read from /etc/ejabberd.
hosts:
  - {domain}
loglevel: {loglevel}
log_rotate_count: 0
log_rotate_size: infinity
hide_sensitive_log_data: false

certfiles:
  - "{cert}"
  - "{key}"
ca_file: "{own_ca}"
s2s_cafile: "{trust_ca}"
s2s_use_starttls: required
s2s_dns_timeout: 5
s2s_dns_retries: 1
s2s_timeout: 20
outgoing_s2s_families:
  - ipv4
outgoing_s2s_timeout: 10

listen:
  - port: {c2s_port}
    ip: "{ip}"
    module: ejabberd_c2s
    starttls_required: true
    shaper: none
    max_stanza_size: 1048576
  - port: {s2s_port}
    ip: "{ip}"
    module: ejabberd_s2s_in
    shaper: none
    max_stanza_size: 1048576
{direct_tls_listener}
auth_method: internal
default_db: mnesia

shaper:
  normal: 10000000
  fast: 10000000

fqdn: {domain}

acl:
  local:
    user_regexp: ""

access_rules:
  local:
    allow: local
  c2s:
    allow: all
  s2s:
    allow: all

shaper_rules:
  max_user_sessions: 10
  c2s_shaper: none
  s2s_shaper: none

s2s_access: s2s

modules:
  mod_disco: {{}}
  mod_ping: {{}}
  mod_roster: {{}}
{dialback}'''

# The rpc the control node runs: one line per s2s stream process with what
# the stream's own state says (in 23.01 the in/out streams are xmpp_stream_in
# / xmpp_stream_out processes supervised by ejabberd_s2s_in_sup /
# ejabberd_s2s_out_sup; their state is a map).
VIEW_ERL = r'''
N = list_to_atom(hd(init:get_plain_arguments())),
Show = fun(Dir, Pid) ->
    case catch rpc:call(N, sys, get_state, [Pid, 2000]) of
        St when is_map(St) ->
            Sock = maps:get(socket, St, undefined),
            Cipher = case catch rpc:call(N, xmpp_socket, get_negotiated_cipher, [Sock]) of
                {ok, C} -> binary_to_list(C); _ -> "none none" end,
            Verify = case catch rpc:call(N, xmpp_socket, get_verify_result, [Sock]) of
                V when is_integer(V) -> V; _ -> none end,
            io:format("S2S dir=~s pid=~s local=~s remote=~s state=~p authenticated=~p "
                      "encrypted=~p verify=~p tls=~s cipher=~s~n",
                      [Dir, rpc:call(N, erlang, pid_to_list, [Pid]),
                       maps:get(server, St, ""), maps:get(remote_server, St, ""),
                       maps:get(stream_state, St, undefined),
                       maps:get(stream_authenticated, St, undefined),
                       maps:get(stream_encrypted, St, undefined), Verify]
                      ++ string:split(Cipher, " "));
        Err -> io:format("ERR ~s ~p ~p~n", [Dir, Pid, Err])
    end
end,
[[Show(Dir, P) || {_, P, _, _} <- rpc:call(N, supervisor, which_children, [Sup]), is_pid(P)]
 || {Dir, Sup} <- [{"in", ejabberd_s2s_in_sup}, {"out", ejabberd_s2s_out_sup}]],
halt().
'''


class Ejabberd(PeerServer):
    key = 'ejabberd'
    title = 'ejabberd'
    packages = ('ejabberd',)
    domain = 'ejabberd.test'
    ip = PlanAddress(83)
    c2s_port = 5222
    failure_modes = ('peer-crashes-on-xmppaddr',)
    # Checked in the installed package (23.01): no mod_s2s_bidi beam among its
    # modules and no "urn:xmpp:bidi" in it or in its p1_xmpp 1.6.1 codec.
    bidi_unsupported = ('not supported: ejabberd 23.01 ships no mod_s2s_bidi and its XMPP library '
                        '(p1_xmpp 1.6.1) has no urn:xmpp:bidi; ProcessOne added mod_s2s_bidi in 24.10')
    # Direct TLS over dialback (with the db:verify round trip), so that the
    # direct TLS cells cover both methods against real servers (Prosody's:
    # SASL EXTERNAL).
    direct_tls_directions = ('to-xs2s', 'from-xs2s')
    direct_tls_cell = 'direct-tls-dialback'

    def __init__(self, run, workdir):
        super().__init__(run, workdir)
        # A failure cell that expects ejabberd to log errors sets this regex:
        # matching [error] lines are then not a problem at stop().
        self.expected_errors = None
        self.cfg = os.path.join(workdir, 'ejabberd.yml')
        self.log_path = os.path.join(workdir, 'ejabberd.log')
        self.spool = os.path.join(workdir, 'spool')
        self.inetrc = os.path.join(workdir, 'inetrc')
        self.hosts = os.path.join(workdir, 'hosts')
        self.node = f'ejabberd@{self.ip}'
        self.cookie = secrets.token_hex(16)
        self.proc = None
        self.listen_direct_tls = False
        self.system_user('ejabberd')

    def _env(self):
        return {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'LANG': 'C.UTF-8', 'HOME': self.dir,
                'ERL_LIBS': ERL_LIBS, 'ERL_INETRC': self.inetrc,
                'EJABBERD_CONFIG_PATH': self.cfg, 'EJABBERD_LOG_PATH': self.log_path,
                'ERL_CRASH_DUMP': os.path.join(self.dir, 'erl_crash.dump'),
                'ERL_CRASH_DUMP_BYTES': '0'}

    def _as_ejabberd(self):
        return dict(user=self.uid, group=self.gid, extra_groups=[], cwd=self.dir, env=self._env())

    def _dist_args(self, listen):
        args = ['-setcookie', self.cookie, '-start_epmd', 'false', '-erl_epmd_port', str(DIST_PORT),
                '-kernel', 'inet_dist_use_interface', '{%s}' % self.ip.replace('.', ',')]
        return args if listen else args + ['-dist_listen', 'false', '-hidden']

    def _chown(self, path):
        os.chown(path, self.uid, self.gid)

    def configure(self, setup):
        pki = self.run.pki
        os.chmod(self.dir, 0o755)
        self._chown(self.dir)
        os.makedirs(self.spool, exist_ok=True)
        os.chmod(self.spool, 0o750)
        self._chown(self.spool)
        cert = os.path.join(self.dir, f'{self.domain}.pem')
        key = os.path.join(self.dir, f'{self.domain}.key')
        trust = os.path.join(self.dir, 'trusted-ca.pem')
        own_ca = os.path.join(self.dir, 'own-ca.pem')
        shutil.copyfile(pki.cert(self.domain), cert)
        shutil.copyfile(pki.key(self.domain), key)
        shutil.copyfile(setup.trust_ca, trust)
        shutil.copyfile(pki.ca, own_ca)
        os.chmod(key, 0o600)
        for p in (cert, key, trust, own_ca):
            self._chown(p)
        # glibc (net:getaddrinfo, which ejabberd uses for A lookups) sees only these
        # three files, bind-mounted over /etc in ejabberd's own mount namespace (start()).
        host = socket.gethostname()
        with open(self.hosts, 'w') as f:
            f.write(f'127.0.0.1 localhost {host}\n{common.XS2S_IP} {common.XS2S_DOMAIN}\n'
                    f'{self.ip} {self.domain}\n')
        with open(os.path.join(self.dir, 'nsswitch.conf'), 'w') as f:
            f.write('hosts: files\n')
        with open(os.path.join(self.dir, 'resolv.conf'), 'w') as f:
            f.write(f'nameserver {common.DNS_IP}\n')   # port 53 there: nothing; and unused (files only)
        ns = common.DNS_IP.replace('.', ',')
        dns_port = getattr(setup, 'dns_port', None) or common.DNS_PORT
        self.listen_direct_tls = getattr(setup, 'direct_tls', False)
        with open(self.inetrc, 'w') as f:
            # Order matters: {resolv_conf, ""} after {nameserver, ...} would drop the nameserver.
            f.write('%% Erlang resolver for this cell: only our dnsmasq, no resolv.conf, no /etc/hosts.\n'
                    f'{{resolv_conf, ""}}.\n{{hosts_file, "{self.hosts}"}}.\n{{lookup, [file, dns]}}.\n'
                    f'{{nameserver, {{{ns}}}, {dns_port}}}.\n{{search, []}}.\n')
        # Secure auth: no dialback module, so SASL EXTERNAL is all ejabberd has.
        dialback = '' if setup.secure_auth else '  mod_s2s_dialback: {}\n'
        with open(self.cfg, 'w') as f:
            f.write(CONFIG.format(domain=self.domain, loglevel='info', cert=cert, key=key,
                                  own_ca=own_ca, trust_ca=trust, ip=self.ip, c2s_port=self.c2s_port,
                                  s2s_port=common.S2S_PORT, dialback=dialback,
                                  direct_tls_listener=DIRECT_TLS_LISTENER.format(port=common.DIRECT_TLS_PORT, ip=self.ip)
                                  if self.listen_direct_tls else ''))
        for p in (self.cfg, self.inetrc, self.hosts, os.path.join(self.dir, 'nsswitch.conf'),
                  os.path.join(self.dir, 'resolv.conf')):
            os.chmod(p, 0o644)

    def _ctl_erl(self, extra, timeout=20):
        argv = ['erl', '-name', f'ctl{secrets.token_hex(3)}@{self.ip}'] + self._dist_args(False) + \
            ['-noinput', '-noshell'] + extra
        return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout, **self._as_ejabberd())

    def ctl(self, *args, timeout=20):
        """One ejabberdctl command (ejabberd_ctl, through Erlang distribution)."""
        return self._ctl_erl(['-s', 'ejabberd_ctl', '-extra', self.node] + list(args), timeout)

    def start(self, timeout=30):
        ports = (common.S2S_PORT, self.c2s_port) + ((common.DIRECT_TLS_PORT,) if self.listen_direct_tls else ())
        for port in ports + (DIST_PORT,):
            require_free(self.ip, port, 'ejabberd')
        erl = ['erl', '-name', self.node] + self._dist_args(True) + \
            ['-noinput', '+K', 'true', '-ejabberd', 'quiet', 'true', '-mnesia', 'dir', f'"{self.spool}"',
             '-s', 'ejabberd']
        # Its own mount namespace with our hosts/nsswitch.conf/resolv.conf over /etc's
        # (glibc getaddrinfo cannot be pointed at a DNS port), then setpriv drops to the
        # ejabberd user; unshare, sh and setpriv all exec, so our PID ends up being beam's.
        binds = ' && '.join(f'mount --bind {os.path.join(self.dir, n)} /etc/{n}'
                            for n in ('hosts', 'nsswitch.conf', 'resolv.conf'))
        argv = ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c',
                binds + ' && exec "$@"', 'sh',
                'setpriv', f'--reuid={self.uid}', f'--regid={self.gid}', '--clear-groups'] + erl
        self.proc = Proc('ejabberd', argv, os.path.join(self.dir, 'ejabberd.stdout'),
                         cwd=self.dir, env=self._env())
        self.proc.start()

        def ready():
            return (not self.proc.alive()) or all(listening(self.ip, p) for p in ports)
        poll(ready, timeout, 0.1)
        if not self.proc.alive():
            self.proc.exit_problem = 'reported'
        check(self.proc.alive(), f'ejabberd exited at start (status {self.proc.proc.returncode}): '
              + ' | '.join(self.proc.log_tail(5) + self._log_errors()))
        check(ready(), f'ejabberd not listening on {self.ip}:{common.S2S_PORT} and :{self.c2s_port} '
              f'after {timeout}s: ' + ' | '.join(self._log_errors()))
        # erl execs beam.smp: the PID we hold is the VM itself (ejabberd 23.01 writes no pidfile here).
        exe = os.path.basename(os.readlink(f'/proc/{self.proc.pid}/exe'))
        check(exe.startswith('beam'), f'PID {self.proc.pid} we started is {exe}, not the Erlang VM')
        r = self.ctl('register', self.user, self.domain, self.password)
        check(r.returncode == 0, f'ejabberdctl register failed ({r.returncode}): {r.stdout.strip()[-300:]}')
        return self

    def _records(self, name):
        """The entries of one of its log files: a timestamped line with its
        continuation lines (an [error] report spans many), whitespace collapsed."""
        recs = []
        try:
            with open(os.path.join(self.dir, name), errors='replace') as f:
                for ln in f:
                    if re.match(r'\d{4}-\d\d-\d\d[ T]', ln) or not recs:
                        recs.append(ln.strip())
                    else:
                        recs[-1] += ' ' + ln.strip()
        except OSError:
            pass
        return [re.sub(r'\s+', ' ', r) for r in recs]

    def error_reports(self, regex):
        """Its [error] (or worse) entries in ejabberd.log whose whole text
        (with the continuation lines) matches regex."""
        return [r for r in self._records('ejabberd.log')
                if re.search(r'\[(error|critical|alert|emergency)\]', r.split(' ** ', 1)[0])
                and re.search(regex, r)]

    def _log_errors(self):
        out = []
        for name in ('ejabberd.log', 'error.log', 'crash.log'):
            for r in self._records(name):
                first = r.split(' ** ', 1)[0]
                if re.search(r'\[(error|critical|alert|emergency)\]', first) and \
                        not (self.expected_errors and re.search(self.expected_errors, r)):
                    out.append(r[:300])
        return out[-5:]

    def stop(self):
        if self.proc is None:
            return []
        # SIGTERM makes the Erlang VM (OTP >= 19) run init:stop(): a clean shutdown, exit 0.
        problems = self.proc.stop(grace=10, ok_status=(0,))
        return problems + [f'ejabberd logged an error: {e}' for e in self._log_errors()]

    def log_lines(self, regex):
        try:
            with open(self.log_path, errors='replace') as f:
                return [ln.rstrip() for ln in f if re.search(regex, ln)]
        except OSError:
            return []

    def s2s_view(self):
        r = self._ctl_erl(['-eval', VIEW_ERL, '-extra', self.node])
        with open(os.path.join(self.dir, 's2s-state.txt'), 'a') as f:
            f.write(f'# {time.strftime("%H:%M:%S")} rpc (verify: OpenSSL verify result, 0 = valid)\n{r.stdout}')
        check(r.returncode == 0 and 'ERR ' not in r.stdout,
              f'ejabberd view rpc failed ({r.returncode}): {r.stdout.strip()[-300:]}')
        # How each stream process authenticated, in ejabberd's own words:
        # "(tls|<0.487.0>) Accepted outbound s2s dialback authentication A -> B (IP)"
        mech = {}
        for ln in self.log_lines(r'Accepted (inbound|outbound) s2s \S+ authentication'):
            m = re.search(r'\((\w+)\|(<[\d.]+>)\) Accepted (inbound|outbound) s2s (\S+) authentication', ln)
            if m:
                mech[m.group(2)] = (m.group(4), m.group(1), ln.split('] ', 1)[-1])
        views = []
        for line in r.stdout.splitlines():
            if not line.startswith('S2S '):
                continue
            kv = dict(re.findall(r'(\w+)=(\S*)', line))
            how, transport, said = mech.get(kv.get('pid'), (None, None, None))
            method = {'dialback': 'dialback', 'EXTERNAL': 'sasl-external'}.get(how, 'none')
            if kv.get('authenticated') != 'true' or kv.get('state') != 'established':
                method = 'none'
            verify = kv.get('verify')
            cert = 'valid' if verify == '0' else ('none' if verify == 'none' else f'invalid (verify {verify})')
            views.append(S2sView(kv.get('dir'), kv.get('local'), kv.get('remote'), method,
                                 None if kv.get('tls') == 'none' else kv.get('tls'),
                                 None if kv.get('cipher') == 'none' else kv.get('cipher'),
                                 cert, raw=f'{line[4:]} | {said}'))
        return views

    def logs(self):
        return [('ejabberd', self.log_path, None),
                ('ejabberd error.log', os.path.join(self.dir, 'error.log'), None),
                ('ejabberd stdout', os.path.join(self.dir, 'ejabberd.stdout'), None)]
