# SPDX-License-Identifier: MIT
"""One xs2sd process of a test: its command line from keyword options, its
log, readiness, what xs2sctl --json says, and its stop by PID with the
checks every test makes (clean exit after SIGTERM, no sanitizer report).

On the lwIP port (the build's .config says it) the daemon is the host
simulation: start() claims its address for a TAP device of its own
(netsim.TapNet.claim, in the suite's network namespace), readiness comes
from its log (netsim.READY_LOG: lwIP's sockets are not in /proc/net/tcp),
and stop() gives the address back to the kernel."""
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time

from . import netsim, tcp
from .proc import Proc
from .tcp import hostport
from .testkit import Fail, check, kconfig, poll

S2S_PORT = 5269
SANITIZER_RE = r'AddressSanitizer|LeakSanitizer|runtime error:'


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
    """The command prefix that runs BUILD's programs on this machine: []
    when they are built for it; for a cross build (a router defconfig),
    qemu-user for its CPU with -L /usr/<triplet> (where Debian's cross C
    library lives; the triplet from the build's CONFIG_XS2S_CROSS_COMPILE)."""
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
    prefix = kconfig(build, 'XS2S_CROSS_COMPILE')
    if prefix:
        argv += ['-L', '/usr/' + os.path.basename(str(prefix)).rstrip('-')]
    return argv


class Xs2sd(Proc):
    """xs2sd from BUILD for domain on ip:port.

    cert, key, ca      --cert, --key, --ca (paths)
    admin, log_path    its admin socket (for xs2sctl) and log file
    name               how messages name it (default the domain)
    aliases            further --domain options (alias domains)
    host_map           {domain: address}: an address means port S2S_PORT,
                       'ADDR:PORT' / '[V6]:PORT' is given as is, an
                       (address, port) tuple is written as ADDR:PORT
    secret             --dialback-secret (hidden in the log's first line)
    components         {name: secret}: --component NAME=SECRET each (the
                       secrets hidden in the log's first line as well)
    component_listen   --component-listen ADDR:PORT (None: the build's default)
    tls_policy, auth, dns_server, log_level   the options of the same name
                       (left out when None)
    extra              further arguments, last (they win over the above)
    net                the run's netsim.TapNet on the lwIP port, else None
    stack              the port this xs2sd was built for, 'posix' or 'lwip'
                       (default: BUILD's .config says); an lwIP xs2sd given
                       a net claims its address there
    xs2sctl            the xs2sctl to use (default BUILD's); a cross
                       build's programs run under qemu-user (build_runner)
    settle             lwIP: stop() also waits until the kernel's sockets
                       towards ip have finished closing (see _settle)"""

    def __init__(self, build, domain, ip, *, cert, key, ca, admin, log_path, name=None,
                 port=S2S_PORT, aliases=(), host_map=None, secret=None, tls_policy=None, auth=None,
                 dns_server=None, log_level='debug', extra=(), net=None, stack=None, xs2sctl=None,
                 settle=False, components=None, component_listen=None):
        self.build, self.domain, self.ip, self.port = build, domain, ip, port
        self.addr = (ip, port)
        self.exe = os.path.join(build, 'xs2sd')
        self.xs2sctl = xs2sctl or os.path.join(build, 'xs2sctl')
        self.runner = build_runner(build)
        self.ctl_runner = build_runner(os.path.dirname(self.xs2sctl))
        self.stack = stack or netsim.build_port(build)
        self.admin = admin
        self.aliases, self.host_map = list(aliases), dict(host_map or {})
        self.cert, self.key, self.ca = cert, key, ca
        self.secret, self.tls_policy, self.auth = secret, tls_policy, auth
        self.dns_server, self.log_level, self.extra = dns_server, log_level, list(extra)
        self.net, self.settle = net, settle
        self.components, self.component_listen = dict(components or {}), component_listen
        self.tap_args = []          # lwIP: --tap options for the address claimed at start
        self.messages = []          # every message drained from the inbox so far
        self.states_at_start = set()
        super().__init__(name or domain, [], log_path, hide=[secret] + list(self.components.values()))

    def options(self):
        """The command line without the TAP options."""
        a = self.runner + [self.exe, '--domain', self.domain]
        for al in self.aliases:
            a += ['--domain', al]
        a += ['--listen', hostport(self.ip, self.port), '--cert', self.cert, '--key', self.key,
              '--ca', self.ca]
        for dom, ip in self.host_map.items():
            if isinstance(ip, tuple):
                a += ['--host-map', f'{dom}={hostport(*ip)}']
            else:
                a += ['--host-map', f'{dom}={ip}:{S2S_PORT}' if ':' not in ip else f'{dom}={ip}']
        a += ['--admin', self.admin]
        for opt, v in (('--dialback-secret', self.secret), ('--tls-policy', self.tls_policy),
                       ('--auth', self.auth), ('--log-level', self.log_level),
                       ('--dns-server', self.dns_server), ('--component-listen', self.component_listen)):
            if v is not None:
                a += [opt, v]
        for name, secret in self.components.items():
            a += ['--component', f'{name}={secret}']
        return a

    def start(self, timeout=10):
        """Start it and return once it listens and its admin socket exists."""
        for prog in (self.exe, self.xs2sctl):
            check(os.access(prog, os.X_OK), f'{os.path.basename(prog)} not found: {prog} (build it first)')
        if self.net is not None and self.stack == 'lwip':
            self.tap_args = self.net.claim(self.ip)
        self.argv = self.options() + self.tap_args + self.extra
        self.states_at_start = tcp.port_states(self.ip, self.port) or set()
        super().start()
        self.wait_ready(timeout)
        return self

    def listening(self):
        """xs2sd listens on ip:port: in /proc/net/tcp, or on lwIP (whose
        sockets are not the kernel's) once its start-up line says so."""
        if self.tap_args:
            return bool(self.find_log(netsim.READY_LOG))
        return tcp.listening(self.ip, self.port)   # also True without /proc: the admin socket decides

    def ready(self):
        """Up: its admin socket exists (once it listens)."""
        return os.path.exists(self.admin)

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            rc = self.proc.poll()
            if rc is not None:
                self.exit_problem = 'reported'
                hint = (' (its address had TIME_WAIT sockets: does xs2sd set SO_REUSEADDR?)'
                        if tcp.TCP_TIME_WAIT in self.states_at_start else '')
                said = [ln for ln in self.log_text().splitlines() if not ln.startswith('# ')][:2]
                raise Fail(f'{self.name}: xs2sd exited during start-up with status {rc}{hint}'
                           + (': ' + ' | '.join(said) if said else ''))
            up = self.listening()
            if up and self.ready():
                return
            if time.monotonic() > deadline:
                raise Fail(f'{self.name}: not ready after {timeout}s (listening on '
                           f'{hostport(self.ip, self.port)}: {up}, ready: {self.ready()})')
            time.sleep(0.05)

    def reap(self, deadline, ok_status=(0, -signal.SIGTERM)):
        """Proc.reap, then: a sanitizer report in its log is a problem; on
        lwIP its address goes back to the kernel."""
        problems = super().reap(deadline, ok_status)
        if self.proc is not None and re.search(SANITIZER_RE, self.log_text()):
            problems.append(f'{self.name}: sanitizer report in its log')
        if self.tap_args:
            self.net.release(self.ip)
            self.tap_args = []
            if self.settle:
                problems += self._settle()
        return problems

    def _settle(self, timeout=10):
        """lwIP: xs2sd's stack went with its process, so a peer socket may
        wait for an ACK of its FIN that never comes (LAST_ACK). With the
        address back on lo, the kernel answers the next retransmission with
        a RST: wait for that (the next peer on that address needs its port)."""
        def left():
            return {s for s in tcp.states_towards(self.ip) if s[1] in tcp.TCP_UNACKED_CLOSE}
        t0 = time.monotonic()
        before = left()
        if poll(lambda: not left(), timeout, 0.05):
            if before:
                with open(self.log_path, 'a') as f:
                    f.write(f'# suite: peer sockets left closing towards {self.ip} after exit: '
                            f'{sorted(before)}; reset after {time.monotonic() - t0:.1f} s\n')
            return []
        return [f'{self.name} (lwIP): peer sockets still closing towards {self.ip} {timeout} s after it '
                f'exited: {sorted(left())}']

    # ---- xs2sctl ----

    def ctl(self, *args, timeout=5):
        """xs2sctl ARGS against its admin socket; its stdout (Fail if it fails)."""
        argv = self.ctl_runner + [self.xs2sctl, '--admin', self.admin] + list(args)
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Fail(f'{self.name}: xs2sctl {args[0]} hung for {timeout}s')
        except OSError as e:
            raise Fail(f'{self.name}: xs2sctl {args[0]}: {e}')
        if r.returncode != 0:
            msg = ' | '.join((r.stderr.strip() or r.stdout.strip()).splitlines()[-3:])
            if self.proc is not None and self.proc.poll() is not None:
                msg += f' [xs2sd is not running: status {self.proc.poll()}]'
            raise Fail(f'{self.name}: xs2sctl {args[0]} failed ({r.returncode}): {msg}')
        return r.stdout

    def ctl_json(self, *args):
        out = self.ctl(*args, '--json')
        try:
            return json.loads(out)
        except ValueError as e:
            raise Fail(f'{self.name}: xs2sctl {args[0]} --json printed invalid JSON ({e}): {out[:300]!r}')

    def status(self):
        return self.ctl_json('status')

    def links(self, **want):
        """Links of the status table whose fields equal every keyword given."""
        return [ln for ln in self.status().get('links', [])
                if all(ln.get(k) == v for k, v in want.items())]

    def send(self, frm, to, body):
        self.ctl('send', '--from', frm, '--to', to, '--body', body)

    # ---- its inbox ----

    def inbox(self):
        """Drain the inbox; returns the new messages (all are kept in .messages)."""
        msgs = self.ctl_json('inbox').get('messages', [])
        self.messages += msgs
        return msgs

    def drain(self):
        """Drain the inbox; returns every message so far."""
        self.inbox()
        return self.messages

    def bounces(self):
        """Error messages (bounces) received so far."""
        return [m for m in self.drain() if m.get('type') == 'error']

    def wait_message(self, pred, timeout=15, what='message', abort=None):
        """Poll the inbox until a message with pred(m) arrived (possibly
        earlier); return it. abort(): something truthy ends the wait early
        (e.g. a bounce the sender got), as the reason of the Fail."""
        deadline = time.monotonic() + timeout
        while True:
            for m in self.drain():
                if pred(m):
                    return m
            why = abort() if abort else None
            check(not why, f'{self.name}: {what} will not arrive: {why}')
            if time.monotonic() > deadline:
                raise Fail(f'{self.name}: {what} not in inbox after {timeout}s; '
                           f'inbox so far: {self.messages}')
            time.sleep(0.1)

    def wait_body(self, body, timeout=15, frm=None, abort=None):
        """The message (not an error) with this body, from bare JID frm if given."""
        return self.wait_message(
            lambda m: m.get('body') == body and m.get('type') != 'error'
            and (frm is None or m.get('from', '').split('/')[0] == frm),
            timeout, f'message {body!r}' + (f' from {frm}' if frm else ''), abort)

    def assert_no_body(self, text):
        self.inbox()
        bad = [m for m in self.messages if text in m.get('body', '')]
        check(not bad, f'{self.name}: inbox got what it must not: {bad}')

    def watch(self, log_path):
        """`xs2sctl watch` against it, running (Watch); stop() it (by PID)."""
        return Watch(self.ctl_runner + [self.xs2sctl, '--admin', self.admin, 'watch'], self.name, log_path).start()


class Watch(Proc):
    """A running `xs2sctl watch`: its stdout lines, parsed (JSON), in
    .lines as they come (a reader thread); its stderr in its log file.
    start() returns once xs2sctl says it watches (Fail if it exits)."""

    def __init__(self, argv, name, log_path):
        super().__init__(f'{name} watch', argv, log_path)
        self.lines = []             # every JSON object printed, in order
        self.bad = []               # stdout lines that are not one JSON object
        self._reader = None

    def start(self, timeout=5):
        with open(self.log_path, 'a') as log:
            log.write('# ' + ' '.join(self.argv) + '\n')
            log.flush()
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=log, start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not poll(lambda: self.find_log(r'^xs2sctl: watching') or not self.alive(), timeout, 0.05) \
                or not self.alive():
            raise Fail(f'{self.name}: xs2sctl watch did not start (status {self.proc.poll()}): '
                       f'{self.log_tail(3)}')
        return self

    def _read(self):
        for raw in self.proc.stdout:
            try:
                self.lines.append(json.loads(raw))
            except ValueError:
                self.bad.append(raw)

    def stanzas(self, **want):
        """The stanza lines (not the skipped reports) whose fields equal every keyword given."""
        return [ln for ln in list(self.lines) if 'kind' in ln and all(ln.get(k) == v for k, v in want.items())]

    def wait_stanza(self, timeout=10, what='stanza', **want):
        """The first stanza line with these fields, once it is there."""
        found = poll(lambda: self.stanzas(**want), timeout, 0.05)
        check(found, f'{self.name}: no {what} ({want}) within {timeout}s; got {self.lines[-5:]}')
        return found[0]

    def stop(self, grace=5):
        """By PID; a watch ends with SIGTERM (its status then is -SIGTERM).
        Once: a second call returns no problems."""
        if self.proc is None or self.stopped:
            return []
        problems = super().stop(grace)
        self.stopped = True
        if self._reader:
            self._reader.join(2)
        if self.bad:
            problems.append(f'{self.name}: printed lines that are not JSON: {self.bad[:3]}')
        return problems


class Xs2sBot(Xs2sd):
    """The example bot (BUILD/xs2s-bot, port/posix/bot.c) for domain on
    ip:port: started, made ready and stopped as an xs2sd (a TAP device of its
    own on lwIP, the sanitizer check at stop), with the bot's options only
    (--domain, --listen, --cert/--key/--ca, --host-map, --jid). It has no
    admin socket: ready once it listens and its log says the handler is in
    place. jid: its JID (default bot@DOMAIN)."""

    READY = r'bot: \S+ is listening'

    def __init__(self, build, domain, ip, *, jid=None, **kw):
        kw.setdefault('admin', None)
        super().__init__(build, domain, ip, **kw)
        self.exe = os.path.join(build, 'xs2s-bot')
        self.jid = jid or f'bot@{domain}'

    def options(self):
        a = self.runner + [self.exe, '--domain', self.domain, '--listen', hostport(self.ip, self.port),
                           '--cert', self.cert, '--key', self.key, '--ca', self.ca, '--jid', self.jid]
        for dom, ip in self.host_map.items():
            a += ['--host-map', f'{dom}={hostport(*ip)}' if isinstance(ip, tuple)
                  else f'{dom}={ip}:{S2S_PORT}' if ':' not in ip else f'{dom}={ip}']
        return a

    def ready(self):
        return bool(self.find_log(self.READY))
