#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Interop tests between xs2sd and real XMPP servers.

  run.py BUILD [--table PATH] [--server KEY]... [-k TEXT]... [--keep]

BUILD holds xs2sd and xs2sctl (e.g. build/test); its .config says the port.
On the lwIP port (the host simulation) the run re-executes itself in a
network namespace of its own, with the same address plan on 10.77.0.0/24
instead of 127.0.0.0/8, and xs2sd runs lwIP over a TAP device
(test/lib/netsim.py). For every peer server (peers/: Prosody, ejabberd,
jabberd2), every method (STARTTLS + Dialback, STARTTLS + SASL EXTERNAL,
STARTTLS + Dialback with valid certificates) and both directions, a fresh
xs2sd and a fresh peer server are started, a real XMPP client on the peer's
side (slixmpp) sends a message to xs2s or receives one from it, and both
sides are asked how the s2s link that carried it was authenticated and
encrypted. Prints PASS/FAIL per cell, then 'N passed, N failed'; writes the
table (--table, default test/interop/out/interop.md, or interop-lwip.md on
lwIP). Exit status 1 if any cell failed. Missing Debian packages are
installed first (needs root). Logs stay in /tmp/xs2s-interop-* when
something failed (or with --keep).

The cells (methods, failure modes, their checks) are cells.py's, the table
table.py's; the loop, time limits and log tails are test/lib's (lib.runner)."""
import argparse
import os
import secrets
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import common  # noqa: E402  (puts test/ on sys.path for lib)
from cells import (APPS, DIRECT_TLS_CELLS, DIRECTIONS, FAILURES, FEATURES, METHODS, Cell, run_cell,  # noqa: E402
                   judge_unsupported)
import component  # noqa: E402
from lib import netsim, runner  # noqa: E402
from lib.dnsmasq import Dnsmasq, xmpp_srv  # noqa: E402
from lib.pki import Pki  # noqa: E402
from lib.testkit import Fail, kconfig  # noqa: E402
from peers import SERVERS  # noqa: E402
from table import PORT_TITLE, write_table  # noqa: E402

CLIENT_PACKAGES = ('python3-slixmpp', 'dnsmasq-base')
TAIL = 25
DEFAULT_TABLE = {'posix': os.path.join(HERE, 'out', 'interop.md'),
                 'lwip': os.path.join(HERE, 'out', 'interop-lwip.md')}


class Run:
    """What the cells of one run share: the build (a copy), the network,
    the PKI, dnsmasq."""

    def __init__(self, build, rundir, servers):
        self.source_build, self.dir = os.path.abspath(build), rundir
        self.build = os.path.join(rundir, 'bin')   # a copy: the build may be remade meanwhile
        self.servers = servers
        self.port = common.PORT
        # lwIP: the plan's addresses on lo, xs2sd's claimed for its TAP device at each start
        # (with its IPv6 twin when lwIP has IPv6, as xs2sd then expects --tap-ip6).
        self.net = netsim.TapNet([common.DNS_IP, common.XS2S_IP] + [s.ip for s in servers],
                                 ipv6=kconfig(build, 'XS2S_LWIP_IPV6') == 'y') if self.port == 'lwip' else None
        self.pki = None
        self.dns = None
        self.nonce = secrets.token_hex(3)


def print_cell(cell):
    tls = f'{cell.tls_version} {cell.cipher}' if cell.tls_version else ''
    if cell.unsupported:
        print(f'UNSUPPORTED {cell.name} ({cell.secs:.1f} s): {cell.server.title} cannot do '
              f'{cell.method.title}: {cell.unsupported}; observed: {cell.reason}', flush=True)
        return runner.SKIP
    if cell.passed and (cell.failure or cell.app):
        print(f'PASS {cell.name} ({cell.secs:.1f} s): xs2s: {cell.xs2s_view}; '
              f'{cell.server.title}: {cell.peer_view}', flush=True)
        return runner.PASS
    if cell.passed:
        print(f'PASS {cell.name} ({cell.secs:.1f} s): xs2s {cell.xs2s_view}; '
              f'{cell.server.title} {cell.peer_view}; {tls}', flush=True)
        return runner.PASS
    print(f'FAIL {cell.name} ({cell.secs:.1f} s): {cell.reason}', flush=True)
    for name, path, skip in cell.logs:
        runner.print_tail(name, path, TAIL, skip, width=300)
    return runner.FAIL


def run_one(run, index, cell, setup_error):
    """One cell (unless its server could not be set up), judged and printed."""
    if cell.server.key in setup_error:
        cell.reason = f'setup failed: {setup_error[cell.server.key]}'
    elif isinstance(cell, component.ComponentCell):
        component.run_component_cell(run, cell, index)
    else:
        run_cell(run, cell, index)
        judge_unsupported(cell)
    return print_cell(cell)


def install(servers, log_path):
    """Install the missing Debian packages of the client side and of each
    server; returns {server key: why} for the servers that cannot run."""
    errors = {}
    for s in servers:
        try:
            for pkg in common.apt_install(CLIENT_PACKAGES + tuple(s.packages), log_path):
                print(f'installed {pkg} {common.pkg_version(pkg)}', flush=True)
        except Fail as e:
            errors[s.key] = str(e)
    return errors


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('build')
    ap.add_argument('--table', help='where to write the generated table (default '
                    'test/interop/out/interop.md, interop-lwip.md for an lwIP build)')
    ap.add_argument('--server', action='append', choices=sorted(SERVERS), help='only these peers')
    ap.add_argument('-k', action='append', default=[], metavar='TEXT',
                    help='only cells whose name (SERVER-METHOD-DIRECTION) contains TEXT (repeatable)')
    ap.add_argument('--keep', action='store_true', help='keep the run directory')
    args = ap.parse_args()
    if os.geteuid() != 0:
        print('run.py needs root (apt-get, the peers\' own users, loopback port 5269)', file=sys.stderr)
        return 2
    # The port is a property of the build: the same cells run on both.
    port = netsim.build_port(args.build)
    servers = [SERVERS[k] for k in (args.server or list(SERVERS))]
    if port == 'lwip':
        # apt-get needs the machine's network: install before leaving it.
        install(servers, os.path.join(tempfile.gettempdir(), 'xs2s-interop-apt.log'))
        netsim.reexec_in_netns()
    common.use_port(port)
    table = args.table or DEFAULT_TABLE[port]
    cells = [Cell(s, m, d) for s in servers for m in METHODS for d in DIRECTIONS]
    cells += [Cell(s, f, d) for s in servers for f in FAILURES for d in f.directions
              if f.key in getattr(s, 'failure_modes', ())]
    cells += [Cell(s, a, d) for s in servers for a in APPS for d in a.directions
              if a.key in getattr(s, 'app_checks', ())]
    cells += [Cell(s, f, d) for s in servers for f in FEATURES for d in f.directions
              if f.key in getattr(s, 'features', ())]
    cells += [Cell(s, m, d) for s in servers for m in DIRECT_TLS_CELLS if m.key == getattr(s, 'direct_tls_cell', None)
              for d in getattr(s, 'direct_tls_directions', ())]
    cells += [component.ComponentCell(s) for s in servers if s.key in component.COMPONENT_SERVERS]
    cells = [c for c in cells if not args.k or any(k in c.name for k in args.k)]
    if not cells:
        print('no cell matches', file=sys.stderr)
        return 2

    rundir = tempfile.mkdtemp(prefix='xs2s-interop-')
    os.chmod(rundir, 0o755)
    try:
        run = Run(args.build, rundir, servers)
    except Fail as e:
        print(f'run.py: {e}', file=sys.stderr)
        return 2
    t0 = time.monotonic()
    try:
        setup_error = install(servers, os.path.join(rundir, 'apt.log'))
        os.makedirs(run.build)
        for prog in ('xs2sd', 'xs2sctl'):
            src = os.path.join(run.source_build, prog)
            if os.access(src, os.X_OK):
                shutil.copy2(src, run.build)
            else:
                setup_error = {s.key: f'{src} not found or not executable (build it first)' for s in servers}
        if os.access(os.path.join(run.source_build, 'xs2s-bot'), os.X_OK):  # the application cells' (else they fail)
            shutil.copy2(os.path.join(run.source_build, 'xs2s-bot'), run.build)
        versions = {s.key: s.version() for s in servers}
        domains = [common.XS2S_DOMAIN] + [s.domain for s in servers]
        try:
            run.pki = Pki(os.path.join(rundir, 'pki'), domains, os.path.join(rundir, 'foreign-pki'))
            run.dns = Dnsmasq(common.DNS_IP, common.DNS_PORT, os.path.join(rundir, 'dnsmasq.log'),
                              hosts={common.XS2S_DOMAIN: common.XS2S_IP, **{s.domain: s.ip for s in servers},
                                     **component.dns_names()},
                              srv=[xmpp_srv(d, common.S2S_PORT) for d in domains + list(component.dns_names())],
                              probe=(common.XS2S_DOMAIN, 'A'))
            run.dns.start()
        except Fail as e:
            setup_error = {s.key: str(e) for s in servers}
        print(f'interop: {len(cells)} cells, xs2s on the {PORT_TITLE[run.port]}, peers: '
              + ', '.join(f'{s.title} {versions[s.key]}' for s in servers)
              + f'; logs in {rundir}', flush=True)
        tally = runner.run_each(cells, lambda i, cell: run_one(run, i, cell, setup_error))
    finally:
        if run.dns:
            for p in run.dns.stop():
                print(f'note: {p}')
            asked = sorted({f'[{typ}] {name}' for typ, name in run.dns.queries()})
            if asked:
                print(f'dnsmasq was asked: {", ".join(asked)}')
            stray = [q for q in asked if not q.rstrip('.').endswith('.test')]
            if stray:
                print(f'note: names outside .test were asked (and refused by dnsmasq): {stray}')
    write_table(table, cells, versions, run)
    print(f'table: {table} ({time.monotonic() - t0:.0f} s in all)')
    return runner.finish(tally, rundir, args.keep)

if __name__ == '__main__':
    sys.exit(main())
