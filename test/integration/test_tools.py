# SPDX-License-Identifier: MIT
"""The operator's tools and the example application, between two daemons:
xs2sctl send --raw (a message, an iq, a presence; refused stanzas), send
--type/--id/--wait, xs2sctl watch (a watcher too slow for the traffic loses
lines, counted, and never stalls the daemon), and the example bot
(BUILD/xs2s-bot) answering status, ping and version for a user of a second
xs2sd."""
import json
import os
import re
import select
import socket
import subprocess
import time

from harness import check, poll

NS_PING = 'urn:xmpp:ping'
FLOOD = 120                 # presences of FLOOD_PAD bytes: far more than a watcher's buffer and socket hold
FLOOD_PAD = 8000
STATUS_LATENCY_S = 2.0      # xs2sctl status while a watcher is stuck (ASan builds, 2 cores shared)


def pair(t, hosts_a=None, args_a=()):
    """a.test and b.test daemons that know each other's address (and a.test
    the extra {domain: address} of hosts_a, and a.test's args_a)."""
    ip_a, ip_b = t.ip(), t.ip()
    a = t.daemon('a.test', ip=ip_a, host_map={'b.test': ip_b, **(hosts_a or {})}, extra_args=args_a)
    b = t.daemon('b.test', ip=ip_b, host_map={'a.test': ip_a})
    return a, b


def watch(t, d):
    """`xs2sctl watch` on daemon d (its stderr in a log of its own), stopped
    (by PID) at cleanup."""
    n = sum(1 for o in t.owned if getattr(o, 'name', None) == f'{d.name} watch')
    return t.own(d.watch(os.path.join(t.dir, f'{d.name}-watch{n + 1}.log')))


def ctl_fails(d, *args):
    """xs2sctl ARGS against d must fail with status 1: its stderr."""
    argv = d.ctl_runner + [d.xs2sctl, '--admin', d.admin] + list(args)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=15)
    check(r.returncode == 1, f'xs2sctl {" ".join(args)[:200]}: status {r.returncode}, want 1 '
          f'(stdout {r.stdout!r}, stderr {r.stderr!r})')
    return r.stderr


def sent_id(out, what):
    m = re.fullmatch(r'ok id=(\S+)\n', out)
    check(m, f'{what}: xs2sctl printed {out!r}, want "ok id=ID"')
    return m.group(1)


def test_tools_send_raw_reaches_peer(t):
    """A raw message, iq and presence from a reach b as written (ids added
    when missing); b's answer to the iq comes back to a; send --type, --id
    and --wait; a bounce reported by --wait."""
    # Nothing listens there: refused, retried once after 1 s, bounced at the
    # 2 s deadline (retry before bouncing).
    a, b = pair(t, hosts_a={'nowhere.test': t.ip()}, args_a=('--route-deadline', '2'))
    wa, wb = watch(t, a), watch(t, b)

    body = f'raw message {t.nonce}'
    mid = sent_id(a.ctl('send', '--raw', f"<message type='chat' from='u@a.test/r' to='x@b.test'>"
                        f"<body>{body}</body></message>\n"), 'raw message')
    b.wait_body(body, 15, frm='u@a.test')
    line = wb.wait_stanza(kind='message', id=mid)
    check(line['from'] == 'u@a.test/r' and line['to'] == 'x@b.test' and line['type'] == 'chat'
          and f'<body>{body}</body>' in line['xml'] and f"id='{mid}'" in line['xml'],
          f'b watched the raw message as {line}')

    iq_id = f'raw-iq-{t.nonce}'
    out = a.ctl('send', '--raw', f"<iq type='get' id='{iq_id}' from='a.test' to='b.test'><ping xmlns='{NS_PING}'/></iq>",
                '--wait')
    check(out == f'sent id={iq_id}\n', f'send --raw --wait of an iq printed {out!r}')
    wb.wait_stanza(kind='iq', type='get', id=iq_id, to='b.test', what='the raw iq get')
    answer = wa.wait_stanza(kind='iq', id=iq_id, what="b's answer to the raw iq")
    check(answer['type'] == 'result' and answer['from'] == 'b.test' and answer['to'] == 'a.test',
          f"b's answer to the ping: {answer}")

    pid = sent_id(a.ctl('send', '--raw', "<presence from='u@a.test' to='x@b.test'><show>away</show></presence>"),
                  'raw presence')
    line = wb.wait_stanza(kind='presence', id=pid, what='the raw presence')
    check(line['from'] == 'u@a.test' and line['type'] == '' and '<show>away</show>' in line['xml'],
          f'b watched the raw presence as {line}')

    hid = f'headline-{t.nonce}'
    out = a.ctl('send', '--from', 'u@a.test', '--to', 'x@b.test', '--body', 'a headline', '--type', 'headline',
                '--id', hid, '--wait')
    check(out == f'sent id={hid}\n', f'send --type --id --wait printed {out!r}')
    wb.wait_stanza(kind='message', type='headline', id=hid, what='the headline')
    sent_id(a.ctl('send', '--from', 'u@a.test', '--to', 'x@b.test', '--body', 'plain'), 'plain send')
    b.wait_body('plain', 15, frm='u@a.test')

    err = ctl_fails(a, 'send', '--from', 'u@a.test', '--to', 'y@nowhere.test', '--body', 'lost', '--wait')
    check(re.match(r'error: bounced id=xs2s-\S+: remote-server-not-found: connect to \S+ failed$', err.strip()),
          f'send --wait to a dead domain: {err!r}, want "error: bounced id=...: remote-server-not-found: '
          'connect to ADDR:PORT failed" (the reason after a colon, no parentheses around it)')
    check(not [m for m in a.drain() if m.get('type') == 'error'],
          f'a bounce reported by --wait also went to the inbox: {a.messages}')


def test_tools_send_raw_refused(t):
    """Malformed, spoofed or otherwise unsendable raw stanzas are refused
    with the reason, and nothing goes out: the first stanza b ever sees is
    the good one sent last."""
    a, b = pair(t)
    wb = watch(t, b)
    refused = {
        'not well-formed': "<message from='u@a.test' to='x@b.test'><body>x</message>",
        'spoofed from (the peer\'s domain)': "<message from='x@b.test' to='y@b.test'><body>spoofed</body></message>",
        'spoofed from (a third domain)': "<message from='mallory@c.test' to='x@b.test'><body>x</body></message>",
        'no from': "<message to='x@b.test'><body>x</body></message>",
        'no to': "<message from='u@a.test'><body>x</body></message>",
        'not a stanza': "<frob from='u@a.test' to='x@b.test'/>",
        'two stanzas': "<message from='u@a.test' to='x@b.test'/><message from='u@a.test' to='x@b.test'/>",
        'a comment (restricted XML)': "<message from='u@a.test' to='x@b.test'><!-- c --><body>x</body></message>",
        'an undeclared entity': "<message from='u@a.test' to='x@b.test'><body>&foo;</body></message>",
        'the client namespace': "<message xmlns='jabber:client' from='u@a.test' to='x@b.test'/>",
    }
    for why, xml in refused.items():
        err = ctl_fails(a, 'send', '--raw', xml)
        check(err.startswith('error: EINVAL: stanza refused, nothing sent') and '(a.test)' in err,
              f'{why}: xs2sctl said {err!r}')
    err = ctl_fails(a, 'send', '--raw', f"<message from='u@a.test' to='x@b.test'><body>{'y' * 10500}</body></message>")
    check(err.startswith('error: ERANGE: refused, nothing sent: larger than one stanza'), f'too large: {err!r}')
    err = ctl_fails(a, 'send', '--from', 'mallory@c.test', '--to', 'x@b.test', '--body', 'spoofed')
    check(err.startswith('error: EINVAL: message refused, nothing sent'), f'send from c.test: {err!r}')

    check(not a.links(), f'a.test opened links for refused stanzas: {a.links()}')
    body = f'after the refusals {t.nonce}'
    a.ctl('send', '--raw', f"<message from='u@a.test' to='x@b.test'><body>{body}</body></message>")
    b.wait_body(body, 15, frm='u@a.test')
    seen = wb.wait_stanza(kind='message')
    check(body in seen['xml'] and len(wb.stanzas()) == 1, f'b saw more than the good stanza: {wb.lines}')


def admin_request(d, line, timeout=10):
    """One request on d's admin socket (as xs2sctl sends it), its answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(d.admin)
        s.sendall(line.encode() + b'\n')
        out = b''
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out.decode()
            out += chunk


class StuckWatcher:
    """A watcher on d's admin socket that reads its first line, then nothing
    until read_all(); closed at cleanup."""

    def __init__(self, d):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(d.admin)
        self.sock.sendall(b'watch\n')
        self.first, self.rest = b'', b''
        while b'\n' not in self.first:
            chunk = self.sock.recv(256)
            check(chunk, f'{d.name}: the admin socket closed before the watch started: {self.first!r}')
            self.first += chunk
        self.first, self.rest = self.first.split(b'\n', 1)

    def read_all(self, quiet=1.0):
        """Everything until nothing came for `quiet` seconds, as lines."""
        data = self.rest
        self.sock.setblocking(False)
        while select.select([self.sock], [], [], quiet)[0]:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                break
            data += chunk
        check(data.endswith(b'\n'), f'the stuck watcher got a cut line: ...{data[-200:]!r}')
        return data.decode().splitlines()

    def stop(self):
        self.sock.close()
        return []


def test_tools_watch_slow_watcher(t):
    """b has a watcher that keeps up and one that reads nothing while a
    floods b with ~1 MB of presences: b keeps serving (status answers, the
    fast watcher gets every stanza, a message is delivered at once); the
    stuck one loses whole lines, and once it reads, {"skipped":N} accounts
    for every line it lost. A fourth watcher is refused; commands still work."""
    # a.test floods without waiting for room: with XEP-0198 its 8 KB
    # stanzas would stay in its 32 KB queue pool until b.test's acks come,
    # and the flood would find it full (ENOMEM is the sender's backpressure).
    # This test is about b.test's watchers: a.test sends without acks.
    a, b = pair(t, args_a=('--stream-management', 'off'))
    fast = watch(t, b)
    stuck = t.own(StuckWatcher(b))
    check(stuck.first == b'ok watching b.test', f'the stuck watcher got {stuck.first!r}')
    third = watch(t, b)
    err = ctl_fails(b, 'watch')
    check('3 watchers already' in err, f'a fourth watcher: {err!r}')
    third.stop()

    pad = 'x' * FLOOD_PAD
    latency = []
    t0 = time.monotonic()
    for i in range(FLOOD):
        out = admin_request(a, f"send-raw\t\t<presence from='u@a.test' to='x@b.test' id='flood-{i:03d}'>"
                               f"<status>{pad}</status></presence>")
        check(out.startswith('ok id=flood-'), f'flood {i}: a answered {out!r}')
        if i % 20 == 0:
            s0 = time.monotonic()
            b.status()
            latency.append(time.monotonic() - s0)
    got = poll(lambda: len(fast.stanzas(kind='presence')) == FLOOD, 30, 0.1)
    check(got, f'the fast watcher got {len(fast.stanzas(kind="presence"))} of {FLOOD} presences')
    flood_s = time.monotonic() - t0
    check(max(latency) < STATUS_LATENCY_S,
          f'b\'s status took up to {max(latency):.2f} s while a watcher was stuck (limit {STATUS_LATENCY_S} s)')
    ids = [ln['id'] for ln in fast.stanzas(kind='presence')]
    check(ids == sorted(ids), 'the fast watcher got the presences out of order')
    body = f'after the flood {t.nonce}'
    s0 = time.monotonic()
    a.send('u@a.test', 'x@b.test', body)
    b.wait_body(body, 10, frm='u@a.test')
    deliver_s = time.monotonic() - s0
    b.wait_log('a watcher reads too slowly', 2)

    lines = [json.loads(ln) for ln in stuck.read_all()]
    got = [ln for ln in lines if 'kind' in ln]
    reports = [ln['skipped'] for ln in lines if 'skipped' in ln]
    total = len(fast.stanzas())
    check(reports and sum(reports) > 0, f'the stuck watcher lost nothing ({len(got)} lines): the flood did not '
          f'fill its buffer')
    check(len(got) + sum(reports) == total,
          f'the stuck watcher got {len(got)} lines and {reports} skipped, but {total} stanzas arrived')
    got_ids = [ln['id'] for ln in got]
    check(got_ids == [ln['id'] for ln in fast.stanzas() if ln['id'] in set(got_ids)],
          'the stuck watcher\'s lines are not in arrival order')
    t.trace(f'flood of {FLOOD} x {FLOOD_PAD} B: {flood_s:.1f} s; status latency up to {max(latency) * 1000:.0f} ms; '
            f'message after it in {deliver_s * 1000:.0f} ms; stuck watcher: {len(got)} lines, skipped {reports}')


def test_tools_bot_answers(t):
    """The example bot (a.test, bot@a.test) answers a user of a second
    xs2sd (b.test): status, ping b.test (XEP-0199: b's own answer), version
    b.test (XEP-0092), an iq error, help, and nothing else; then stops
    cleanly on SIGTERM."""
    ip_bot, ip_b = t.ip(), t.ip()
    bot = t.bot('a.test', ip=ip_bot, host_map={'b.test': ip_b})
    b = t.daemon('b.test', ip=ip_b, host_map={'a.test': ip_bot})

    def ask(command, pattern, timeout=20):
        b.send('x@b.test', 'bot@a.test', command)
        m = b.wait_message(lambda m: m.get('from', '').split('/')[0] == 'bot@a.test'
                           and m.get('type') != 'error' and re.search(pattern, m.get('body', ''), re.M),
                           timeout, f'the bot\'s answer to {command!r} (/{pattern}/)',
                           abort=lambda: [m for m in b.messages if m.get('type') == 'error'])
        return m['body']

    status = ask('status', r'^links: \d+ in use of \d+')
    check(re.match(r'bot@a\.test up \d+h\d\dm\d\ds, xs2s \d', status) and 'high-water marks' in status
          and re.search(r'^  tls_arena \d+/\d+ bytes', status, re.M), f'status answer: {status!r}')
    ask('ping b.test', r'^ping b\.test: answered in \d+ ms$')
    ask('version b.test', r'^version b\.test: xs2s \d+\.\d+\.\d+$')
    ask('ping x@b.test', r'^ping x@b\.test: error service-unavailable')
    # Only whole commands are answered: an answer of the bot sent back to it
    # gets none (two bots cannot talk forever); the next answer is help's.
    answers = len([m for m in b.drain() if m.get('from', '').startswith('bot@a.test')])
    b.send('x@b.test', 'bot@a.test', 'ping b.test: answered in 3 ms')
    ask('help', r'^commands: help, status, ping JID, version DOMAIN$')
    extra = [m for m in b.messages if m.get('from', '').startswith('bot@a.test')][answers:]
    check(len(extra) == 1, f'the bot answered what is not a command: {extra}')

    rc = bot.stop_now(10)
    check(rc == 0, f'the bot exited with status {rc} after SIGTERM, want 0')
    bot.wait_log(r'bot: stopped', 2)
