#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Boot the MPS2 AN386 image in QEMU and federate with a host xs2sd.

  run.py MPS2_BUILD HOST_BUILD --pki DIR [--keep]

MPS2_BUILD is a build of cfg/mps2_an386_defconfig whose identity is
mps2.test from DIR (DIR/mps2.test.chain.pem, .key, DIR/ca.pem) and whose
host map sends a.test to 10.0.2.100:5269 (the Makefile's test-mps2 target
configures and builds it so). HOST_BUILD holds a POSIX xs2sd and xs2sctl
(a.test). The run re-executes itself in a network namespace of its own.

Network (QEMU user mode, -nic user,model=lan9118): the image is 10.0.2.15;
hostfwd tcp:127.0.0.1:5269-:5269 lets a.test reach mps2.test on
127.0.0.1:5269; guestfwd tcp:10.0.2.100:5269-cmd:nc 127.0.0.1 5270 gives
the image an address for a.test (xs2sd on 127.0.0.1:5270): QEMU runs one nc
per connection the image opens there.

Cases, each with a fresh xs2sd and a freshly booted image, both directions
(a message each way, its body checked on the other side's inbox, then a
3000-byte one to the image; then the status table read from the image's UART
and xs2sctl status on the host):
  sasl-external   both certificates valid: STARTTLS + SASL EXTERNAL both ways
                  (the host xs2sd with --no-bidi, as in the dialback case: an
                  in and an out link)
  sasl-external-bidi  the same with XEP-0288 on both sides: the image's one
                  connection carries both directions (one bidi row each side)
  dialback        a.test offers dialback only and its certificate is from a CA
                  the image does not trust: the image authenticates a.test by
                  a dialback round trip (db:verify to a.test through guestfwd),
                  a.test authenticates mps2.test by dialback (with its valid
                  certificate: dialback+cert, XEP-0344, or a round trip)
  prosody         Prosody (Debian's prosody 0.12, lua-unbound) as prosody.test on
                  127.0.0.1:5271, its user logged in with a real client (slixmpp):
                  STARTTLS + SASL EXTERNAL both ways (s2s_secure_auth). Both find
                  each other by DNS SRV, from dnsmasq on 127.0.0.1:5300: Prosody
                  gets mps2.test -> 127.0.0.1:5269 (the hostfwd); the image asks
                  over lwIP's UDP (its CONFIG_XS2S_DNS_SERVER 10.0.2.2:5300: QEMU
                  hands the host alias 10.0.2.2 to the host's loopback) and gets
                  prosody.test -> 10.0.2.2:5271.
Exit status 1 if a case failed; logs stay in the run directory (printed)."""
import argparse
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from lib.pki import mkcerts  # noqa: E402
from lib.testkit import Fail, check  # noqa: E402
from lib.xs2sd import Xs2sd  # noqa: E402

DEVICE, PEER = 'mps2.test', 'a.test'
HOST_IP, PEER_PORT, DEVICE_FWD_PORT = '127.0.0.1', 5270, 5269
PROSODY, PROSODY_S2S_PORT, PROSODY_C2S_PORT = 'prosody.test', 5271, 5222
DNS_PORT = 5300
GUESTFWD = f'tcp:10.0.2.100:5269-cmd:nc {HOST_IP} {PEER_PORT}'
QEMU_HOST_ALIAS = '10.0.2.2'   # QEMU user networking: the guest's way to the host's loopback
HOSTFWD = f'tcp:{HOST_IP}:{DEVICE_FWD_PORT}-:5269'
BOOT_TIMEOUT = 20
MSG_TIMEOUT = 40      # TLS handshakes on an emulated Cortex-M4: seconds each
NS_FLAG = 'XS2S_MPS2_NETNS'


class Image:
    """The image in qemu-system-arm: UART0 on stdin/stdout (a reader thread
    keeps everything it printed), semihosting on."""

    def __init__(self, build, log_path, icount=False):
        self.elf = os.path.join(build, 'xs2s-mps2.elf')
        self.icount = icount
        self.log_path = log_path
        self.out = ''
        self.lock = threading.Lock()
        self.proc = None

    def start(self):
        check(os.path.exists(self.elf), f'{self.elf} not found (build it first)')
        argv = ['qemu-system-arm', '-M', 'mps2-an386', '-display', 'none', '-monitor', 'none',
                '-serial', 'stdio', '-semihosting-config', 'enable=on,target=native', '-kernel', self.elf,
                '-nic', f'user,model=lan9118,hostfwd={HOSTFWD},guestfwd={GUESTFWD}']
        if self.icount:
            argv += ['-icount', 'shift=0']   # 1 ns of virtual time per instruction: `tls` counts instructions
        self.log = open(self.log_path, 'w')
        self.log.write(' '.join(argv) + '\n')
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        threading.Thread(target=self._read, daemon=True).start()
        # Entropy from the host is said loudly at every boot (no TRNG in QEMU's mps2).
        self.wait_for(r'^\*\*\* ENTROPY: QEMU emulates no TRNG', BOOT_TIMEOUT, 'the entropy warning at boot')
        self.wait_for(r'xs2s> ', BOOT_TIMEOUT, 'the console prompt after boot')
        return self

    def _read(self):
        while True:
            b = self.proc.stdout.read1(4096) if hasattr(self.proc.stdout, 'read1') else self.proc.stdout.read(1)
            if not b:
                return
            text = b.decode('utf-8', 'replace').replace('\r', '')
            with self.lock:
                self.out += text
            self.log.write(text)
            self.log.flush()

    def text(self):
        with self.lock:
            return self.out

    def wait_for(self, regex, timeout, what, start=0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(regex, self.text()[start:], re.M)
            if m:
                return m
            if self.proc.poll() is not None:
                raise Fail(f'QEMU exited ({self.proc.returncode}) waiting for {what}; UART tail:\n'
                           + self.tail())
            time.sleep(0.1)
        raise Fail(f'no {what} on the UART within {timeout}s; UART tail:\n' + self.tail())

    def command(self, line, until, timeout=10, what=None):
        """Type line on the console; return the output up to the regex until."""
        start = len(self.text())
        self.proc.stdin.write((line + '\n').encode())
        self.proc.stdin.flush()
        m = self.wait_for(until, timeout, what or f'answer to {line!r}', start)
        return self.text()[start:start + m.end()]

    def status_rows(self):
        """The status table's link rows: dicts of the text columns."""
        out = self.command('status', r'^  lwip:PBUF_POOL .*$', what='the status table')
        rows = []
        for ln in out.splitlines():
            f = ln.split()
            if len(f) >= 15 and f[0].isdigit() and f[1] in ('in', 'out', 'bidi'):
                rows.append({'id': f[0], 'dir': f[1], 'local': f[2], 'remote': f[3], 'state': f[4],
                             'transport': f[5], 'tls': f[6], 'cipher': f[7], 'auth': f[8], 'cert': f[9]})
        return out, rows

    def inbox_bodies(self):
        out = self.command('inbox', r'^inbox: \d+ messages?$', timeout=20, what='the inbox')
        return re.findall(r'^inbox: from=\S+ to=\S+ type=\S+.* body=(.*)$', out, re.M)

    def tail(self, n=30):
        return '\n'.join(self.text().splitlines()[-n:])

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()


def wait_until(fn, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.3)
    raise Fail(f'timed out after {timeout}s waiting for {what}')


def run_case(name, args, rundir, pki, peer_cert, peer_key, auth, want_dev_in_auth, want_peer_in_auth, bidi=False):
    """One case: returns a one-line summary; raises Fail. bidi: XEP-0288 on
    the host xs2sd too (the image has it by default): one link each side,
    direction bidi; otherwise the host runs --no-bidi (an in and an out link)."""
    nonce = secrets.token_hex(4)
    peer = Xs2sd(args.host_build, PEER, HOST_IP, port=PEER_PORT, cert=peer_cert, key=peer_key,
                 ca=os.path.join(pki, 'ca.pem'), admin=os.path.join(rundir, f'{name}.admin'),
                 log_path=os.path.join(rundir, f'{name}-a.test.log'), auth=auth,
                 host_map={DEVICE: (HOST_IP, DEVICE_FWD_PORT)}, extra=() if bidi else ('--no-bidi',))
    image = Image(args.mps2_build, os.path.join(rundir, f'{name}-uart.log'), args.icount)
    try:
        peer.start()
        image.start()
        t0 = time.monotonic()
        # The image to a.test (the image's outgoing link).
        body_out = f'from the board {nonce}'
        image.command(f'send --from dev@{DEVICE} --to user@{PEER} --body "{body_out}"', r'^(sent|error.*)$')
        peer.wait_body(body_out, timeout=MSG_TIMEOUT, frm=f'dev@{DEVICE}')
        t_out = time.monotonic() - t0
        # a.test to the image (the image's incoming link).
        body_in = f'to the board {nonce}'
        peer.send(f'user@{PEER}', f'dev@{DEVICE}', body_in)
        got = []
        wait_until(lambda: body_in in (got.extend(image.inbox_bodies()) or got), MSG_TIMEOUT,
                   f'the image to receive {body_in!r} from a.test')
        t_in = time.monotonic() - t0 - t_out
        # A body of 3000 bytes: several TCP segments and TLS records in one burst
        # through the LAN9118's receive FIFO (the image's inbox holds 4 KiB).
        big = (f'{nonce} ' + 'xs2s-on-cortex-m4 ' * 200)[:3000]
        peer.send(f'user@{PEER}', f'dev@{DEVICE}', big)
        got = []
        wait_until(lambda: big in (got.extend(image.inbox_bodies()) or got), MSG_TIMEOUT,
                   'the image to receive a 3000-byte body from a.test')
        table, rows = image.status_rows()
        if bidi:
            mine = [r for r in rows if r['remote'] == PEER and r['state'] == 'open']
            check(len(mine) == 1 and mine[0]['dir'] == 'bidi',
                  f'the image\'s status shows not exactly one open bidi link with a.test:\n{table}')
            dev_out = dev_in = mine
        else:
            dev_out = [r for r in rows if r['dir'] == 'out' and r['remote'] == PEER and r['state'] == 'open']
            dev_in = [r for r in rows if r['dir'] == 'in' and r['remote'] == PEER and r['state'] == 'open']
            check(dev_out and dev_in, f'the image\'s status shows no open in and out link with a.test:\n{table}')
        for r in dev_out + dev_in:
            check(r['transport'] == 'starttls' and r['tls'].startswith('TLSv1.'),
                  f'the image\'s link {r["id"]} is not STARTTLS: {r}')
        check(dev_in[0]['auth'] in want_dev_in_auth,
              f'the image authenticated a.test by {dev_in[0]["auth"]}, expected {want_dev_in_auth}')
        check(dev_out[0]['auth'] in want_peer_in_auth,
              f'the image\'s outgoing link was authenticated by {dev_out[0]["auth"]}, expected {want_peer_in_auth}')
        host_in = peer.links(direction='bidi' if bidi else 'in', remote=DEVICE)
        check(not bidi or len(peer.links(remote=DEVICE)) == 1,
              f'a.test: want one (bidi) link with the image: {peer.links(remote=DEVICE)}')
        check(host_in and host_in[0]['auth'] in want_peer_in_auth and host_in[0]['transport'] == 'starttls',
              f'a.test\'s incoming link from the image: {host_in}')
        print(f'PASS {name}: image out {dev_out[0]["tls"]} {dev_out[0]["cipher"]} auth {dev_out[0]["auth"]} '
              f'({t_out:.1f} s to deliver incl. handshake), image in auth {dev_in[0]["auth"]} '
              f'cert {dev_in[0]["cert"]} ({t_in:.1f} s); a.test in auth {host_in[0]["auth"]}', flush=True)
        shown = [ln for ln in table.splitlines() if ln.startswith('ID ') or re.match(r'^\d+ +(in|out|bidi) ', ln)
                 or re.match(r'^  (link_slots|tls_arena|xml_arena|lwip:heap|lwip:PBUF_POOL|lwip:TCP_PCB) ', ln)]
        shown += image.command('tls', r'^tls: .*$', what='the handshake cost').strip().splitlines()[-1:]
        print('  the image\'s status table (UART):\n' + '\n'.join('    ' + ln for ln in shown), flush=True)
    finally:
        image.stop()
        peer.stop()


PROSODY_CFG = '''-- Written by test/mps2/run.py; nothing is read from /etc/prosody.
pidfile = "{dir}/prosody.pid"
data_path = "{dir}/data"
log = {{ {{ levels = {{ min = "debug" }}, to = "file", filename = "{dir}/prosody.log" }} }}
interfaces = {{ "127.0.0.1" }}
local_interfaces = {{ "127.0.0.1" }}
s2s_ports = {{ {s2s_port} }}
c2s_ports = {{ {c2s_port} }}
c2s_direct_tls_ports = {{ }}
s2s_direct_tls_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
use_ipv6 = false
modules_enabled = {{ "tls"; "saslauth"; "dialback"; "disco"; "roster"; "posix"; "admin_shell" }}
modules_disabled = {{ "offline" }}
admin_socket = "{dir}/data/prosody.sock"
authentication = "internal_hashed"
storage = "internal"
c2s_require_encryption = true
s2s_require_encryption = true
s2s_secure_auth = true
certificates = "{dir}"
ssl = {{ certificate = "{cert}"; key = "{key}"; cafile = "{ca}"; capath = false; }}
unbound = {{ resolvconf = false; hoststxt = false; forward = {{ "127.0.0.1@{dns_port}" }};
            options = {{ ["local-zone:"] = "test. transparent" }} }}
VirtualHost "{domain}"
'''


def run_prosody_case(args, rundir, pki):
    """Prosody <-> the image, STARTTLS + SASL EXTERNAL both ways."""
    import pwd  # noqa: PLC0415
    from lib.dnsmasq import Dnsmasq, xmpp_srv  # noqa: PLC0415
    from lib.proc import Proc  # noqa: PLC0415
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'interop'))
    import common  # noqa: PLC0415  (the interop suite's slixmpp client)
    for prog in ('prosody', 'prosodyctl'):
        check(shutil.which(prog), f'{prog} not found (Debian package prosody; make deps-mps2)')
    nonce = secrets.token_hex(4)
    pw = pwd.getpwnam('prosody')
    pdir = os.path.join(rundir, 'prosody')
    os.makedirs(os.path.join(pdir, 'data'), exist_ok=True)
    files = {}
    for name, src in (('cert', f'{PROSODY}.chain.pem'), ('key', f'{PROSODY}.key'), ('ca', 'ca.pem')):
        files[name] = os.path.join(pdir, os.path.basename(src))
        shutil.copyfile(os.path.join(pki, src), files[name])
    for root in (pdir, os.path.join(pdir, 'data'), *files.values()):
        os.chown(root, pw.pw_uid, pw.pw_gid)
    os.chmod(pdir, 0o755)
    os.chmod(files['key'], 0o600)
    cfg = os.path.join(pdir, 'prosody.cfg.lua')
    with open(cfg, 'w') as f:
        f.write(PROSODY_CFG.format(dir=pdir, s2s_port=PROSODY_S2S_PORT, c2s_port=PROSODY_C2S_PORT,
                                   dns_port=DNS_PORT, domain=PROSODY, **files))
    as_prosody = dict(user=pw.pw_uid, group=pw.pw_gid, extra_groups=[], cwd=pdir,
                      env={'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'LANG': 'C.UTF-8', 'HOME': pdir})
    password = secrets.token_hex(8)
    r = subprocess.run(['prosodyctl', '--config', cfg, 'register', 'user', PROSODY, password],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20, **as_prosody)
    check(r.returncode == 0, f'prosodyctl register failed: {(r.stdout + r.stderr).strip()[-300:]}')
    dns = Dnsmasq(HOST_IP, DNS_PORT, os.path.join(rundir, 'prosody-dnsmasq.log'),
                  hosts={DEVICE: HOST_IP, PROSODY: QEMU_HOST_ALIAS},
                  srv=[xmpp_srv(DEVICE, DEVICE_FWD_PORT), xmpp_srv(PROSODY, PROSODY_S2S_PORT)])
    prosody = Proc('prosody', ['prosody', '--config', cfg, '-F'], os.path.join(pdir, 'prosody.stdout'),
                   **as_prosody)
    image = Image(args.mps2_build, os.path.join(rundir, 'prosody-uart.log'), args.icount)
    client = None
    try:
        dns.start()
        prosody.start()
        wait_until(lambda: not prosody.alive() or (os.path.exists(os.path.join(pdir, 'data', 'prosody.sock'))
                                                   and listening(PROSODY_S2S_PORT) and listening(PROSODY_C2S_PORT)),
                   15, 'prosody to listen')
        check(prosody.alive(), 'prosody exited at start: ' + ' | '.join(prosody.log_tail(5)))
        client = common.XmppClient(f'user@{PROSODY}', password, (HOST_IP, PROSODY_C2S_PORT), files['ca'],
                                   os.path.join(rundir, 'prosody-client.log')).start()
        image.start()
        body_out = f'board to prosody {nonce}'
        image.command(f'send --from dev@{DEVICE} --to user@{PROSODY} --body "{body_out}"', r'^(sent|error.*)$')
        client.wait_body(body_out, f'dev@{DEVICE}', timeout=MSG_TIMEOUT)
        asked = dns.queries()
        check(('SRV', f'_xmpp-server._tcp.{PROSODY}') in asked,
              f'the image reached Prosody without asking dnsmasq for its SRV record: {asked}')
        body_in = f'prosody to board {nonce}'
        client.send(f'dev@{DEVICE}', body_in)
        got = []
        wait_until(lambda: body_in in (got.extend(image.inbox_bodies()) or got), MSG_TIMEOUT,
                   f'the image to receive {body_in!r} from Prosody')
        table, rows = image.status_rows()
        dev = {r['dir']: r for r in rows if r['remote'] == PROSODY and r['state'] == 'open'}
        check('in' in dev and 'out' in dev, f'the image\'s status shows no open in and out link with {PROSODY}:\n{table}')
        for r in dev.values():
            check(r['transport'] == 'starttls' and r['auth'] == 'sasl-external' and r['cert'] == 'valid',
                  f'the image\'s link with Prosody: {r}')
        print(f'PASS prosody: image out {dev["out"]["tls"]} {dev["out"]["cipher"]} auth {dev["out"]["auth"]}, '
              f'image in {dev["in"]["tls"]} auth {dev["in"]["auth"]} cert {dev["in"]["cert"]}; '
              'messages delivered both ways to and from a Prosody user (slixmpp); the image found Prosody by DNS SRV',
              flush=True)
        shown = [ln for ln in table.splitlines() if ln.startswith('ID ') or re.match(r'^\d+ +(in|out) ', ln)]
        print('  the image\'s status table (UART):\n' + '\n'.join('    ' + ln for ln in shown), flush=True)
    finally:
        image.stop()
        if client is not None and client.loop is not None:
            client.loop.call_soon_threadsafe(client.xmpp.disconnect)
        prosody.stop(grace=5, ok_status=(0,))
        dns.stop()


def listening(port):
    import socket  # noqa: PLC0415
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((HOST_IP, port)) == 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('mps2_build')
    ap.add_argument('host_build')
    ap.add_argument('--pki', required=True)
    ap.add_argument('--keep', action='store_true')
    ap.add_argument('--icount', action='store_true',
                    help='QEMU -icount shift=0: the `tls` line counts instructions (1 us = 1000)')
    args = ap.parse_args()
    if os.environ.get(NS_FLAG) != '1':
        # Our own network namespace: 127.0.0.1:5269/5270 are ours alone.
        env = dict(os.environ, **{NS_FLAG: '1'})
        cmd = 'ip link set lo up && exec "$@"'
        os.execvpe('unshare', ['unshare', '--net', 'sh', '-c', cmd, 'sh', sys.executable] + sys.argv, env)
    for prog in ('qemu-system-arm', 'nc'):
        check(shutil.which(prog), f'{prog} not found (make deps-mps2 installs it)')
    rundir = tempfile.mkdtemp(prefix='xs2s-mps2-')
    os.chmod(rundir, 0o755)
    pki = os.path.abspath(args.pki)
    foreign = mkcerts(os.path.join(rundir, 'foreign'), [PEER])
    cases = [
        ('sasl-external', dict(peer_cert=os.path.join(pki, 'a.test.chain.pem'), peer_key=os.path.join(pki, 'a.test.key'),
                               auth='sasl-external', want_dev_in_auth=('sasl-external',),
                               want_peer_in_auth=('sasl-external',))),
        ('dialback', dict(peer_cert=os.path.join(foreign, 'a.test.chain.pem'), peer_key=os.path.join(foreign, 'a.test.key'),
                          auth='dialback', want_dev_in_auth=('dialback',),
                          want_peer_in_auth=('dialback', 'dialback+cert'))),
        # XEP-0288: the image's stream to a.test carries a.test's answers too.
        ('sasl-external-bidi', dict(peer_cert=os.path.join(pki, 'a.test.chain.pem'),
                                    peer_key=os.path.join(pki, 'a.test.key'), auth='sasl-external',
                                    want_dev_in_auth=('sasl-external',), want_peer_in_auth=('sasl-external',),
                                    bidi=True)),
    ]
    failed = 0
    for name, kw in cases:
        try:
            run_case(name, args, rundir, pki, **kw)
        except Fail as e:
            failed += 1
            print(f'FAIL {name}: {e}', flush=True)
    try:
        run_prosody_case(args, rundir, pki)
    except Fail as e:
        failed += 1
        print(f'FAIL prosody: {e}', flush=True)
    print(f'{len(cases) + 1 - failed} passed, {failed} failed; logs in {rundir}', flush=True)
    if not failed and not args.keep:
        shutil.rmtree(rundir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
