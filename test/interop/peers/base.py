# SPDX-License-Identifier: MIT
"""What the interop runner needs from a peer XMPP server. A new server
(ejabberd, jabberd2, ...) is one module in this package with one subclass
of PeerServer, listed in peers/__init__.py."""
import os
import pwd

import common


class Setup:
    """How one cell's method is forced on the peer's side.

    trust_ca   the only CA file the peer may trust for s2s certificates
               (the test CA: xs2s's certificate is valid; a foreign CA:
               it is untrusted, so only dialback can authenticate xs2s)
    secure_auth  refuse any s2s peer whose certificate is not valid for
               its domain (Prosody's s2s_secure_auth): no dialback fallback
    s2s_tls    False: no TLS at all on s2s (no certificate for s2s, STARTTLS
               neither offered nor used, encryption not required); c2s keeps
               its certificate. Only for servers listing the failure mode
               'peer-without-starttls' in PeerServer.failure_modes.
    bidi       XEP-0288 bidirectional streams on (Prosody: mod_s2s_bidi); only
               for servers listing a 'bidi-*' feature in PeerServer.features.
    direct_tls True: the peer also listens for XEP-0368 direct TLS s2s on
               common.DIRECT_TLS_PORT (and looks up _xmpps-server SRV
               records, as it does anyway). Only for servers listing
               directions in PeerServer.direct_tls_directions.
    dns_port   the cell's own dnsmasq port on common.DNS_IP (the direct TLS
               cells' zone has _xmpps-server records), None: the run's.
    smacks     XEP-0198 stream management on s2s (Prosody: mod_smacks with
               smacks_enabled_s2s = true); for the feature 'stream-management'.
    """

    def __init__(self, trust_ca, secure_auth, s2s_tls=True, bidi=False, direct_tls=False, dns_port=None,
                 smacks=False):
        self.trust_ca, self.secure_auth, self.s2s_tls = trust_ca, secure_auth, s2s_tls
        self.bidi = bidi
        self.smacks = smacks
        self.direct_tls = direct_tls    # also listen for XEP-0368 direct TLS s2s on DIRECT_TLS_PORT
        self.dns_port = dns_port        # the resolver's port on common.DNS_IP (None: common.DNS_PORT)


class S2sView:
    """One s2s session as the peer server itself sees it."""

    def __init__(self, direction, local, remote, method, tls_version=None, cipher=None,
                 cert=None, raw=''):
        self.direction = direction      # 'in' or 'out', from the peer's point of view
        self.local, self.remote = local, remote
        self.method = method            # 'dialback', 'sasl-external' or 'none'
        self.tls_version, self.cipher, self.cert = tls_version, cipher, cert
        self.raw = raw                  # the server's own words, for the report

    def __repr__(self):
        return (f'<{self.direction} {self.local}->{self.remote} {self.method} '
                f'{self.tls_version} {self.cipher} cert={self.cert}>')


class PlanAddress:
    """A class attribute that reads as the run's address with this last
    octet (common.addr: 127.0.0.N on the POSIX port, 10.77.0.N on lwIP)."""

    def __init__(self, octet):
        self.octet = octet

    def __get__(self, obj, cls=None):
        return common.addr(self.octet)


class PeerServer:
    """A real XMPP server on one address of the run's address plan (a
    kernel-local address: loopback, or lo in the lwIP run's network
    namespace), configured in its own temporary directory (never in /etc),
    started and stopped by PID.

    Subclasses set the class attributes and implement the methods below."""

    key = 'peer'                # command-line name (run.py --server KEY)
    title = 'Peer'              # name in the table
    packages = ()               # Debian packages it needs (installed on demand)
    domain = 'peer.test'        # its XMPP domain (gets a certificate from the test CA)
    ip = PlanAddress(82)        # its address (s2s on 5269, c2s below); a free last octet
    c2s_port = 5222
    user, password = 'alice', 'interop-secret'
    # Failure cells (cells.py FAILURES) this server implements. A server opts in
    # by listing a mode's key; a mode it does not list gets no cell at all.
    #   'peer-distrusts-xs2s'     configure(Setup(foreign CA, secure_auth=True))
    #   'peer-without-starttls'   configure(Setup(..., s2s_tls=False))
    #   'peer-restarted-mid-link' stop() then start() again, same configuration
    failure_modes = ()
    # Application cells (cells.py APPS) run with this server: its user talks
    # to an application on xs2s's side (e.g. 'example-bot': the C example bot).
    # The server needs only what the method cells need (configure, start, a
    # user, s2s_view).
    app_checks = ()
    # Feature cells (cells.py FEATURES) this server runs, by key:
    #   'account-presence'        its user subscribes to an xs2s device account and chats with it
    features = ()
    # XEP-0368 direct TLS cells (cells.py DIRECT_TLS) in these directions
    # ('to-xs2s': the peer connects to xs2s's --listen-tls port found by
    # _xmpps-server SRV; 'from-xs2s': xs2s connects to the peer's direct TLS
    # port). A direction the server cannot do is left out, with the reason in
    # direct_tls_missing (shown in the table).
    direct_tls_directions = ()
    direct_tls_missing = {}
    direct_tls_cell = 'direct-tls'    # which of cells.DIRECT_TLS_CELLS (its authentication method)
    # Methods the server cannot do at all: method key -> why (its source or
    # docs). Such cells still run; a failure is reported as "unsupported by
    # peer" with what both sides said, a pass as an error (update the list).
    unsupported = {}

    def __init__(self, run, workdir):
        self.run, self.dir = run, workdir
        os.makedirs(workdir, exist_ok=True)

    @property
    def user_jid(self):
        return f'{self.user}@{self.domain}'

    # ---- once per run ----
    @classmethod
    def version(cls):
        """The version string shown in the table: the Debian package's
        (the first of `packages`)."""
        return common.pkg_version(cls.packages[0]) or 'not installed'

    def system_user(self, name):
        """Run the server as the system user its package made: sets uid, gid."""
        pw = pwd.getpwnam(name)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid

    # ---- per cell ----
    def configure(self, setup):
        """Write the configuration for this cell (a Setup) into self.dir,
        with the run's DNS server (common.DNS_IP:DNS_PORT) as its only
        resolver, and create self.user with self.password."""
        raise NotImplementedError

    def start(self):
        """Start it and return once s2s and c2s are listening."""
        raise NotImplementedError

    def stop(self):
        """Stop every process it started, by PID. Returns a list of problems."""
        raise NotImplementedError

    def s2s_view(self):
        """Its current s2s sessions, as a list of S2sView (from its own
        admin interface or logs)."""
        raise NotImplementedError

    def log_lines(self, regex):
        """Lines of its log matching regex (what it said, for failure cells)."""
        return []

    def logs(self):
        """[(name, path, skip)] of its log files, shown when a cell fails;
        lines matching the regex skip (or None) are left out of the tail."""
        return []
