#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The soak: several xs2sd federating through a fault-injecting proxy.

  soak.py BUILD [--minutes M] [--rate R] [--daemons N] [--restart-s S]
          [--grace-s G] [--sample-s S] [--seed N] [--keep] [--json FILE]

N xs2sd of BUILD (a.test, b.test, c.test, ...; POSIX port) run on loopback
in a network namespace of their own (the run re-executes itself under
`unshare --net`). Every connection between two of them goes through
test/soak/faultproxy.py, one listener per ordered pair (X's host map sends
Y to the proxy's X>Y address), which cuts connections at random byte counts
or times, resets them, reads slowly and stalls. Every --restart-s one of the
daemons is stopped (SIGTERM) and started again.

For --minutes, worker threads send chat messages at --rate per second
between random users of random pairs, each with a unique id (`xs2sctl send
--id ID --wait`, the id in the body too). Each id is then counted once:

  refused    xs2sctl could not hand it to xs2sd (the sender was restarting):
             never entered the system, not counted as sent
  delivered  it reached the recipient (its xs2sctl watch, or its inbox)
  bounced    an error came back (--wait said bounced, or an error stanza
             reached the sender)
  lost       neither, after the end and --grace-s seconds in which the
             proxy injects no new faults

With XEP-0198 stream management (CONFIG_XS2S_SM in BUILD's .config, on in
host_defconfig) a stanza written into a connection that dies before the
peer acknowledged it is sent again on a new link: it may then arrive twice,
with the same id (XEP-0198 without resumption cannot know the peer had
handled it); such an id is counted "delivered twice (same id, XEP-0198
resend)" and is not a failure. Without it, a stanza written into a
connection that then dies is lost and nothing tells the sender. Each lost id
is attributed: to a proxy fault or a restart on its path while it was in
flight (expected until XEP-0198), or to nothing found (a finding to
investigate). RSS and every pool (xs2sctl status --json) are sampled every
--sample-s and printed as start / middle / end / max per daemon.

Everything started is stopped by PID (test/lib). Exit status 1 when a
daemon exited unclean, a sanitizer spoke, an id was delivered twice or both
delivered and bounced, or an unexplained loss was found."""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..'))
from lib import netsim  # noqa: E402
from lib.pki import Pki  # noqa: E402
from lib.proc import Proc  # noqa: E402
from lib.testkit import Fail, read_text  # noqa: E402
from lib.xs2sd import S2S_PORT, Xs2sd  # noqa: E402

PYTHON = '/usr/bin/python3'
DOMAINS = ['a.test', 'b.test', 'c.test', 'd.test', 'e.test']
SEND_TIMEOUT_S = 120         # one xs2sctl send --wait
INFLIGHT_WINDOW_S = 30.0     # a fault or restart this long after a send may have taken it


def daemon_ip(i):
    return f'127.0.0.{41 + i}'


def proxy_ip(i, j):
    """The proxy's listener for connections from daemon i to daemon j."""
    return f'127.0.0.{100 + 10 * i + j}'


class Node:
    """One xs2sd of the soak, its watch, and what it saw."""

    def __init__(self, run, i, n):
        self.i, self.domain = i, DOMAINS[i]
        host_map = {DOMAINS[j]: (proxy_ip(i, j), S2S_PORT) for j in range(n) if j != i}
        self.d = Xs2sd(run.build, self.domain, daemon_ip(i), cert=run.pki.cert(self.domain),
                       key=run.pki.key(self.domain), ca=run.pki.ca,
                       admin=os.path.join(run.dir, f'{self.domain}.admin'),
                       log_path=os.path.join(run.dir, f'{self.domain}.log'), host_map=host_map,
                       secret=f'soak secret {i}', tls_policy='required', log_level='info',
                       dns_server='127.0.0.1:9')
        self.watch = None
        self.watch_seen = 0
        self.lock = threading.Lock()     # around up/down and the drain and sample ctl calls
        # xs2sd serves 4 admin connections at a time (one is the watch): at
        # most 2 sends wait on it at once, the drain and the sample take the last.
        self.send_slots = threading.BoundedSemaphore(2)
        self.up = False
        self.restarts = []               # (t_stop, t_up)
        self.watch_skipped = 0
        self.watch_logs = 0

    def start(self):
        self.d.start(timeout=20)
        self.watch_logs += 1
        self.watch = self.d.watch(os.path.join(os.path.dirname(self.d.log_path),
                                               f'{self.domain}.watch{self.watch_logs}.log'))
        self.watch_seen = 0
        self.up = True


class Soak:
    def __init__(self, args, rundir):
        self.args = args
        self.build = os.path.abspath(args.build)
        self.dir = rundir
        self.rng = random.Random(args.seed)
        self.pki = Pki(os.path.join(rundir, 'certs'), DOMAINS[:args.daemons])
        self.nodes = [Node(self, i, args.daemons) for i in range(args.daemons)]
        self.events_path = os.path.join(rundir, 'proxy-events.jsonl')
        maps = []
        for i in range(args.daemons):
            for j in range(args.daemons):
                if i != j:
                    maps += ['--map', f'{DOMAINS[i][0]}>{DOMAINS[j][0]}={proxy_ip(i, j)}:{S2S_PORT}='
                                      f'{daemon_ip(j)}:{S2S_PORT}']
        self.proxy = Proc('faultproxy', [PYTHON, os.path.join(HERE, 'faultproxy.py'), '--events', self.events_path,
                                         '--seed', str(args.seed)] + maps + args.proxy_args,
                          os.path.join(rundir, 'proxy.log'))
        self.lock = threading.Lock()
        self.msgs = {}                   # id -> record
        self.next_n = 0
        self.run_id = f'{args.seed:x}{int(time.time()) % 100000:05d}'
        self.stop_sending = threading.Event()
        self.stop_all = threading.Event()
        self.samples = []                # (t, domain, pid, rss_kb, pools, links)
        self.counters = {}               # (domain, pid): its counters at its last sample
        self.t0 = None
        self.problems = []
        self.anomalies = []

    # ---- messages ----

    def new_id(self):
        with self.lock:
            self.next_n += 1
            return f's{self.run_id}-{self.next_n}'

    def record(self, mid, **kw):
        with self.lock:
            r = self.msgs.setdefault(mid, {'delivered': 0, 'bounced': 0})
            r.update(kw)
            return r

    def saw(self, mid, what, where, t=None, cond=None):
        """A delivery or a bounce of mid (from a watch line or the inbox)."""
        with self.lock:
            r = self.msgs.get(mid)
            if r is None:
                return
            if cond and not r.get('cond'):
                r['cond'] = cond
            seen = r.setdefault('seen', [])
            key = (what, where)
            # The watch and the inbox both report each stanza: count it once per place.
            if key in [(s[0], s[1]) for s in seen]:
                for s in seen:
                    if (s[0], s[1]) == key:
                        s[2] += 1
                return
            seen.append([what, where, 1, t or time.time()])
            r[what] += 1

    def sender(self, k):
        n = len(self.nodes)
        period = self.args.workers / self.args.rate
        next_t = time.monotonic() + self.rng.random() * period
        while not self.stop_sending.is_set():
            delay = next_t - time.monotonic()
            if delay > 0 and self.stop_sending.wait(delay):
                break
            next_t = max(next_t + period, time.monotonic() - period)
            i = self.rng.randrange(n)
            j = self.rng.choice([x for x in range(n) if x != i])
            src, dst = self.nodes[i], self.nodes[j]
            mid = self.new_id()
            frm, to = f'u{self.rng.randrange(5)}@{src.domain}', f'u{self.rng.randrange(5)}@{dst.domain}'
            self.record(mid, src=src.domain, dst=dst.domain, t_send=time.time())
            argv = src.d.ctl_runner + [src.d.xs2sctl, '--admin', src.d.admin, 'send', '--from', frm, '--to', to,
                                       '--body', f'soak {mid}', '--id', mid, '--wait']
            try:
                with src.send_slots:
                    r = subprocess.run(argv, capture_output=True, text=True, timeout=SEND_TIMEOUT_S)
                out = (r.stdout + r.stderr).strip()
            except subprocess.TimeoutExpired:
                self.record(mid, outcome='timeout', t_done=time.time())
                continue
            if r.returncode == 0 and out.startswith('sent'):
                self.record(mid, outcome='sent', t_done=time.time())
            elif 'bounced' in out:
                self.record(mid, outcome='sent', t_done=time.time(), wait_bounce=out)
                self.saw(mid, 'bounced', 'wait', cond=out.rsplit(':', 1)[-1].strip())
            elif 'cannot reach' in out:
                self.record(mid, outcome='refused', t_done=time.time(), why=out[:200])
            else:
                # The sender stopped while it waited, or something else: unknown.
                self.record(mid, outcome='unknown', t_done=time.time(), why=out[:200])

    # ---- what the daemons saw ----

    @staticmethod
    def mid_of(body):
        return body[5:] if body and body.startswith('soak ') else None

    def drain_watch(self, node):
        w = node.watch
        if w is None:
            return
        lines = w.lines[node.watch_seen:]
        node.watch_seen += len(lines)
        for ln in lines:
            if 'skipped' in ln:
                node.watch_skipped += ln['skipped']
                continue
            if ln.get('kind') != 'message':
                continue
            mid = ln.get('id')
            if ln.get('type') == 'error':
                self.saw(mid, 'bounced', node.domain + ':watch')
            else:
                self.saw(mid, 'delivered', node.domain + ':watch')

    def drain(self, node):
        """Watch lines and inbox of one node (skipped while it restarts)."""
        with node.lock:
            if not node.up:
                return
            self.drain_watch(node)
            try:
                msgs = node.d.inbox()
            except Fail as e:
                if node.d.alive():
                    self.anomalies.append(f'{node.domain}: inbox: {e}')
                return
        for m in msgs:
            mid = self.mid_of(m.get('body', ''))
            if mid is None:
                continue
            if m.get('type') == 'error':
                self.saw(mid, 'bounced', node.domain + ':inbox', cond=m.get('error'))
            else:
                self.saw(mid, 'delivered', node.domain + ':inbox')

    def drainer(self):
        while not self.stop_all.wait(0.5):
            for node in self.nodes:
                self.drain(node)

    def sample(self):
        now = time.time()
        for node in self.nodes:
            with node.lock:
                if not node.up or not node.d.alive():
                    continue
                pid = node.d.pid
                rss = None
                try:
                    with open(f'/proc/{pid}/status') as f:
                        for line in f:
                            if line.startswith('VmRSS:'):
                                rss = int(line.split()[1])
                except OSError:
                    pass
                try:
                    st = node.d.status()
                except Fail as e:
                    self.anomalies.append(f'{node.domain}: status: {e}')
                    continue
            pools = {k: v for k, v in st.get('pools', {}).items()}
            self.counters[(node.domain, pid)] = st.get('counters', {})
            self.samples.append((now - self.t0, node.domain, pid, rss, pools, len(st.get('links', []))))

    def sampler(self):
        self.sample()
        while not self.stop_all.wait(self.args.sample_s):
            self.sample()

    def restarter(self):
        while not self.stop_sending.wait(self.args.restart_s * self.rng.uniform(0.7, 1.3)):
            node = self.rng.choice(self.nodes)
            with node.lock:
                node.up = False
            self.drain_watch(node)          # what it saw before it goes
            t_stop = time.time()
            try:
                rc = node.d.stop_now(timeout=30)
                if rc not in (0, -signal.SIGTERM):
                    self.problems.append(f'{node.domain}: exit status {rc} after SIGTERM (restart)')
            except Fail as e:
                self.problems.append(str(e))
                node.d.proc.kill()
                node.d.proc.wait(5)
            # Its watch ends with it (status 0): its last lines, then it is done.
            w = node.watch
            try:
                w.proc.wait(5)
                w.stopped = True
                w._reader.join(5)
            except subprocess.TimeoutExpired:
                self.problems += w.stop()
            if w.bad:
                self.problems.append(f'{node.domain} watch: lines that are not JSON: {w.bad[:3]}')
            self.drain_watch(node)
            time.sleep(self.rng.uniform(0.5, 5))
            try:
                node.start()
            except Fail as e:
                self.problems.append(f'{node.domain}: restart: {e}')
                return
            node.restarts.append((t_stop, time.time()))
            print(f'  {time.time() - self.t0:7.0f} s  restarted {node.domain}', flush=True)

    # ---- the run ----

    def run(self):
        a = self.args
        print(f'soak: {a.daemons} xs2sd ({self.build}), {a.minutes} min, {a.rate} msg/s, restart every ~{a.restart_s} s,'
              f' grace {a.grace_s} s; logs in {self.dir}', flush=True)
        self.proxy.start()
        for node in self.nodes:
            node.start()
        self.t0 = time.time()
        threads = [threading.Thread(target=self.drainer, daemon=True),
                   threading.Thread(target=self.sampler, daemon=True)]
        senders = [threading.Thread(target=self.sender, args=(k,), daemon=True) for k in range(a.workers)]
        restarter = threading.Thread(target=self.restarter, daemon=True)
        for th in threads + senders + [restarter]:
            th.start()
        end = self.t0 + a.minutes * 60
        while time.time() < end:
            time.sleep(min(30, max(0.1, end - time.time())))
            with self.lock:
                n = len(self.msgs)
            if time.time() < end:
                print(f'  {time.time() - self.t0:7.0f} s  {n} messages', flush=True)
        self.stop_sending.set()
        restarter.join()
        for th in senders:
            th.join(SEND_TIMEOUT_S + 10)
        print(f'  {time.time() - self.t0:7.0f} s  sending stopped; proxy quiet, grace {a.grace_s} s', flush=True)
        self.proxy.signal(signal.SIGUSR1)
        time.sleep(a.grace_s)
        for node in self.nodes:
            self.drain(node)
        self.sample()
        self.stop_all.set()
        for th in threads:
            th.join(10)

    def stop(self):
        for node in self.nodes:
            if node.watch is not None:
                self.problems += node.watch.stop()
        for node in self.nodes:
            node.d.terminate()
        deadline = time.monotonic() + 30
        for node in self.nodes:
            self.problems += node.d.reap(deadline)
        self.proxy.terminate()
        self.problems += self.proxy.reap(time.monotonic() + 10)

    # ---- the report ----

    def proxy_events(self):
        ev = []
        try:
            with open(self.events_path) as f:
                for line in f:
                    try:
                        ev.append(json.loads(line))
                    except ValueError:
                        pass
        except OSError:
            pass
        return ev

    def attribute(self, r, conns, restarts):
        """Why a message that was handed over may have been lost."""
        t, src, dst = r['t_send'], r['src'], r['dst']
        t_end = r.get('t_done', t) + INFLIGHT_WINDOW_S
        for dom in (src, dst):
            for (ts, tu) in restarts.get(dom, []):
                if t - 1 <= ts <= t_end:
                    return f'{"sender" if dom == src else "recipient"} {dom} restarted {ts - t:+.1f} s after the send'
        # With XEP-0288 a stanza from src to dst may ride on dst's connection to src.
        pairs = [f'{src[0]}>{dst[0]}'] + ([f'{dst[0]}>{src[0]}'] if self.bidi else [])
        for pair, c in [(p, c) for p in pairs for c in conns.get(p, [])]:
            if c['open'] <= r.get('t_done', t) and (c['close'] is None or c['close'] >= t - 1):
                if c['fault'] and c['close'] is not None and c['close'] <= t_end:
                    return (f'its connection {pair} #{c["conn"]} died by proxy {c["fault"]} '
                            f'{c["close"] - t:+.1f} s after the send')
                if c['fault'] == 'stall' and c['fault_t'] is not None and c['fault_t'] <= t_end:
                    return f'its connection {pair} #{c["conn"]} stalled {c["fault_t"] - t:+.1f} s after the send'
        return None

    def report(self):
        a = self.args
        ev = self.proxy_events()
        conns = {}
        byid = {}
        faults = {}
        plans = {}
        for e in ev:
            if e.get('event') == 'open':
                plans[e['plan']['kind']] = plans.get(e['plan']['kind'], 0) + 1
                c = {'conn': e['conn'], 'open': e['t'], 'close': None, 'fault': None, 'fault_t': None,
                     'plan': e['plan']['kind']}
                byid[e['conn']] = c
                conns.setdefault(e['map'], []).append(c)
            elif e.get('event') == 'fault' and e['conn'] in byid:
                byid[e['conn']]['fault'] = e['plan']['kind']
                byid[e['conn']]['fault_t'] = e['t']
                faults[e['plan']['kind']] = faults.get(e['plan']['kind'], 0) + 1
            elif e.get('event') == 'close' and e['conn'] in byid:
                byid[e['conn']]['close'] = e['t']
            elif e.get('event') == 'refused':
                faults['refused (target down)'] = faults.get('refused (target down)', 0) + 1
        restarts = {n.domain: n.restarts for n in self.nodes}
        config = read_text(os.path.join(self.build, '.config')).splitlines()
        sm = 'CONFIG_XS2S_SM=y' in config
        self.bidi = 'CONFIG_XS2S_BIDI=y' in config
        counts = {'attempted': 0, 'refused': 0, 'sent': 0, 'delivered': 0, 'bounced': 0, 'lost': 0,
                  'unknown outcome': 0, 'delivered twice': 0, 'delivered and bounced': 0}
        if sm:
            counts['delivered twice (same id, XEP-0198 resend)'] = 0
        lost_why = {}
        bounce_conds = {}
        unexplained = []
        for mid, r in sorted(self.msgs.items()):
            counts['attempted'] += 1
            oc = r.get('outcome')
            if oc == 'refused' and not r['delivered']:
                counts['refused'] += 1
                continue
            counts['sent'] += 1
            dup = sum(s[2] for s in r.get('seen', []) if s[0] == 'delivered' and s[1].endswith(':watch'))
            if dup > 1 and sm:
                counts['delivered twice (same id, XEP-0198 resend)'] += 1
            elif dup > 1:
                counts['delivered twice'] += 1
                self.anomalies.append(f'{mid}: delivered {dup} times')
            if r['delivered'] and r['bounced']:
                counts['delivered and bounced'] += 1
                self.anomalies.append(f'{mid}: delivered and bounced: {r.get("seen")} {r.get("wait_bounce", "")}')
            if r['delivered']:
                counts['delivered'] += 1
            elif r['bounced']:
                counts['bounced'] += 1
                c = r.get('cond') or '?'
                bounce_conds[c] = bounce_conds.get(c, 0) + 1
            elif oc in ('unknown', 'timeout'):
                counts['unknown outcome'] += 1
                why = self.attribute(r, conns, restarts) or 'nothing found'
                lost_why.setdefault(f'outcome unknown ({oc}); {why.split(" ", 2)[0]}', []).append(mid)
            else:
                counts['lost'] += 1
                why = self.attribute(r, conns, restarts)
                if why is None:
                    unexplained.append(mid)
                    key = 'unexplained'
                elif 'restarted' in why:
                    key = 'a restart while in flight (' + why.split(' ')[0] + ')'
                elif 'stalled' in why:
                    key = 'its connection stalled (proxy) while in flight'
                else:
                    key = 'its connection died while in flight (proxy ' + why.split('proxy ')[1].split(' ')[0] + ')'
                lost_why.setdefault(key, []).append((mid, why))
        dur = time.time() - self.t0
        print()
        print(f'== soak: {dur / 60:.1f} min ({a.minutes} min of traffic + {a.grace_s} s grace), {a.daemons} xs2sd, '
              f'{sum(len(n.restarts) for n in self.nodes)} restarts')
        for k, v in counts.items():
            print(f'   {k:24s} {v}')
        if bounce_conds:
            print('   bounced, by condition: ' + ', '.join(f'{k} {v}' for k, v in sorted(bounce_conds.items())))
        if sm:
            print('   lost, by cause (stream management, XEP-0198, is on: every loss is a failure to explain):')
        else:
            print('   lost, by cause (without stream management, XEP-0198, a stanza written into a connection')
            print('   that then dies is lost and nobody is told):')
        if not lost_why:
            print('     none')
        for k, v in sorted(lost_why.items(), key=lambda kv: -len(kv[1])):
            ex = v[0][1] if isinstance(v[0], tuple) else v[0]
            print(f'     {len(v):5d}  {k}   e.g. {v[0][0] if isinstance(v[0], tuple) else v[0]}: {ex}')
        print(f'   proxy: {len(byid)} connections, plans ' + ', '.join(f'{k} {v}' for k, v in sorted(plans.items()))
              + '; faults fired: ' + ', '.join(f'{k} {v}' for k, v in sorted(faults.items())))
        skipped = sum(n.watch_skipped for n in self.nodes)
        if skipped:
            print(f'   watch lines skipped (slow watcher; the inbox still counts them): {skipped}')
        self.print_trends()
        keys = ('retries', 'retry_expired', 'sm_enabled', 'sm_acked', 'sm_resent')
        tot = {k: sum(c.get(k, 0) for c in self.counters.values()) for k in keys}
        print('   counters (every process, at its last sample): ' + ', '.join(f'{k} {v}' for k, v in tot.items()))
        if self.anomalies:
            print('   anomalies:')
            for x in self.anomalies[:20]:
                print('     ' + x)
        if unexplained:
            self.problems.append(f'{len(unexplained)} lost message(s) without a fault or restart on their path, '
                                 f'e.g. {unexplained[:5]}')
        if counts['delivered twice'] or counts['delivered and bounced']:
            self.problems.append('ids delivered twice or both delivered and bounced (see anomalies)')
        summary = {'minutes': a.minutes, 'duration_s': round(dur), 'daemons': a.daemons, 'rate': a.rate,
                   'counts': counts, 'bounced_by_condition': bounce_conds, 'lost_by_cause': {k: len(v) for k, v in lost_why.items()},
                   'restarts': {n.domain: len(n.restarts) for n in self.nodes}, 'faults': faults,
                   'connections': len(byid), 'plans': plans, 'trends': self.trends, 'problems': self.problems,
                   'counters': {f'{d}/{pid}': c for (d, pid), c in self.counters.items()}}
        if a.json:
            with open(a.json, 'w') as f:
                json.dump(summary, f, indent=1)

    def print_trends(self):
        """RSS and every pool: start / middle / end / max over the samples, per daemon."""
        self.trends = {}
        print(f'   trends over {len(self.samples)} samples (start / middle / end / max; a restart starts afresh):')
        for node in self.nodes:
            s = [x for x in self.samples if x[1] == node.domain]
            if not s:
                continue

            def sme(vals):
                vals = [v for v in vals if v is not None]
                if not vals:
                    return None
                return [vals[0], vals[len(vals) // 2], vals[-1], max(vals)]
            tr = {'rss_kb': sme([x[3] for x in s]), 'link_count': sme([x[5] for x in s])}
            names = []
            for x in s:
                for k in x[4]:
                    if k not in names:
                        names.append(k)
            for k in names:
                tr[k] = sme([x[4].get(k, {}).get('used') for x in s])
                size = s[-1][4].get(k, {}).get('size')
                fails = s[-1][4].get(k, {}).get('fails')
                tr[k] = tr[k] and tr[k] + [size, fails]
            self.trends[node.domain] = tr
            pids = len(set(x[2] for x in s))
            print(f'   {node.domain} ({pids} process{"es" if pids > 1 else ""}): RSS KiB '
                  + ' / '.join(str(v) for v in tr['rss_kb']))
            for k in names:
                v = tr[k]
                if v:
                    print(f'     {k:18s} ' + ' / '.join(str(x) for x in v[:4]) + f'  of {v[4]}' +
                          (f', fails {v[5]}' if v[5] else ''))


def main():
    ap = argparse.ArgumentParser(description='xs2sd soak through a fault-injecting proxy')
    ap.add_argument('build')
    ap.add_argument('--minutes', type=float, default=10)
    ap.add_argument('--rate', type=float, default=8, help='messages per second, all senders together')
    ap.add_argument('--workers', type=int, default=8)
    ap.add_argument('--daemons', type=int, default=3)
    ap.add_argument('--restart-s', type=float, default=150)
    ap.add_argument('--grace-s', type=float, default=75)
    ap.add_argument('--sample-s', type=float, default=10)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--keep', action='store_true')
    ap.add_argument('--json', help='write the figures as JSON here')
    ap.add_argument('--proxy-args', default='', help='extra faultproxy.py options, e.g. "--reset 0.3"')
    args = ap.parse_args()
    args.proxy_args = args.proxy_args.split()
    if not 2 <= args.daemons <= len(DOMAINS):
        ap.error(f'--daemons: 2..{len(DOMAINS)}')
    if netsim.build_port(args.build) != 'posix':
        ap.error('the soak runs the POSIX build (host_defconfig)')
    # A network namespace of its own, with loopback up: other runs use loopback too.
    if os.environ.get(netsim.ENV_MARK) != '1':
        netsim.reexec_in_netns()
    subprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=True)
    rundir = tempfile.mkdtemp(prefix='xs2s-soak-')
    os.chmod(rundir, 0o755)
    soak = Soak(args, rundir)
    rc = 1
    try:
        soak.run()
    except KeyboardInterrupt:
        soak.problems.append('interrupted')
    except Fail as e:
        soak.problems.append(f'failed: {e}')
    finally:
        soak.stop_sending.set()
        soak.stop_all.set()
        soak.stop()
    if soak.t0:
        soak.report()
    if soak.problems:
        print('FAIL soak: ' + '; '.join(soak.problems))
    else:
        rc = 0
        print('PASS soak')
    if rc or args.keep:
        print(f'logs kept in {rundir}')
    else:
        subprocess.run(['rm', '-rf', rundir])
    return rc


if __name__ == '__main__':
    sys.exit(main())
