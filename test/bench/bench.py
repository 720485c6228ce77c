#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""xs2s side by side: the lean and the Debian-wolfSSL build (a benchmark:
prints figures, asserts nothing; `make bench-table`).

  bench.py LEAN_BUILD DEB_BUILD [--runs N]

Each build needs xs2sd, xs2sctl and its bench programs (make bench-bin).
Everything runs in a network namespace of its own (loopback addresses of
the integration suite). Per build:

  setup      link setup, warm processes: a.test sends its first message to
             b.test (STARTTLS, TLS 1.3, SASL EXTERNAL, the suite's ECDSA
             P-256 certificates), timed from the first SYN to the segment
             that carries the message (kernel timestamps of an AF_PACKET
             capture on lo); the connection is then reset (ss -K) so the
             next run sets up a new link. Median and spread (min-max) of N.
  emulated   the same exchange in one process over memory pipes (the fake
             port: no sockets, no kernel): the lower bound of this build
             (BUILD/test/bench/emulate).
  stanzas    XEP-0199 pings over one authenticated TLS link, pipelined in
             batches of PING_BATCH pings, answered by b.test on its own link back: pings
             per CPU-second of b.test's process (the scheduler's run time).
  RAM        ram_bytes (status --json) of the idle authenticated TLS links
             (b.test's inbound, a.test's outbound); with a full record in
             flight the link also borrows its four buffers and wolfSSL holds
             the record: computed from the pool sizes and the emulated
             record peak (see docs/performance.md).
  size       xs2sd stripped: file bytes, text + data + bss.

And once: the TLS arena (TLSF) against the first fit it replaced under many
concurrent handshakes (BUILD/test/bench/arena_bench), and Prosody ->
ejabberd when both are installed (see prosody_ejabberd())."""
import json
import os
import re
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))
import harness  # noqa: E402
import s2speer  # noqa: E402

SO_TIMESTAMPNS = 35
ETH_P_ALL = 3
PACKET_HOST = 0
PING_BATCH = 5000
# wolfSSL's input buffer for a full TLS 1.3 record: 2^14 bytes of plaintext,
# 1 content type byte, 16 bytes of AEAD tag, 5 bytes of record header.
FULL_RECORD = 16384 + 1 + 16 + 5


class Capture:
    """IPv4 TCP segments on lo with their kernel receive timestamps:
    (t, src, sport, dst, dport, flags, payload_len)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock.bind(('lo', 0))
        self.sock.settimeout(0.2)
        self.segs, self.lock, self.stop = [], threading.Lock(), False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self.stop:
            try:
                data, anc, _, addr = self.sock.recvmsg(256, 64)
            except socket.timeout:
                continue
            except OSError:
                return
            if addr[2] != PACKET_HOST or len(data) < 14 + 20:
                continue
            t = None
            for level, kind, val in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack('qq', val[:16])
                    t = sec + nsec / 1e9
            ip = data[14:]
            if ip[0] >> 4 != 4 or ip[9] != 6:
                continue
            ihl = (ip[0] & 15) * 4
            total = struct.unpack('!H', ip[2:4])[0]
            tcp = ip[ihl:]
            sport, dport = struct.unpack('!HH', tcp[:4])
            doff = (tcp[12] >> 4) * 4
            flags = tcp[13]
            seg = (t, socket.inet_ntoa(ip[12:16]), sport, socket.inet_ntoa(ip[16:20]), dport, flags,
                   total - ihl - doff)
            with self.lock:
                self.segs.append(seg)

    def take(self):
        with self.lock:
            s, self.segs = self.segs, []
        return s

    def close(self):
        self.stop = True
        self.thread.join(1)
        self.sock.close()


def setup_ms(segs, ip_b):
    """From the first SYN to b:5269 (a's connection, from whatever source
    address the kernel chose) to the last segment with data on that
    connection towards b (the message: nothing follows it on an idle link)."""
    syn = [s for s in segs if s[3] == ip_b and s[4] == 5269 and s[5] & 0x02 and not s[5] & 0x10]
    if not syn:
        return None
    src, port = syn[0][1], syn[0][2]
    data = [s for s in segs if s[1] == src and s[2] == port and s[3] == ip_b and s[6] > 0]
    return (data[-1][0] - syn[0][0]) * 1e3 if data else None


def no_links(*daemons):
    return all(not d.status().get('links') for d in daemons)


def cpu_s(pid):
    """CPU time of the process so far, in seconds (the scheduler's ns
    count: finer than utime + stime in clock ticks)."""
    with open(f'/proc/{pid}/schedstat') as f:
        return int(f.read().split()[0]) / 1e9


def stripped_size(xs2sd):
    tmp = tempfile.mktemp(prefix='xs2sd-stripped-')
    subprocess.run(['strip', '-o', tmp, xs2sd], check=True)
    out = subprocess.run(['size', tmp], capture_output=True, text=True, check=True).stdout.splitlines()[1].split()
    n = os.path.getsize(tmp)
    os.unlink(tmp)
    return n, int(out[0]), int(out[1]), int(out[2])


def emulated(build, runs):
    pki = os.path.join(build, 'test', 'pki')
    r = subprocess.run([os.path.join(build, 'test', 'bench', 'emulate'), pki, str(runs)], capture_output=True,
                       text=True, timeout=600)
    if r.returncode:
        return {'error': (r.stderr or r.stdout).strip()[-300:]}
    out = {}
    for ln in r.stdout.splitlines():
        for k, v in re.findall(r'(\w+)=([\d.]+)', ln):
            out[ln.split()[0] + ':' + k] = float(v)
    return out


def config_int(build, key):
    with open(os.path.join(build, '.config')) as f:
        return int(re.search(rf'^CONFIG_{key}=(\d+)$', f.read(), re.M).group(1))


def bench_build(name, build, runs, cap):
    """The figures of one build (a dict)."""
    res = {'name': name, 'size': stripped_size(os.path.join(build, 'xs2sd'))}
    # What a link borrows to read (link/bufs.h): one buffer of each pool.
    res['buf_bytes'] = sum(config_int(build, k) for k in ('XS2S_RX_BUF', 'XS2S_TX_BUF', 'XS2S_OUT_BUF',
                                                           'XS2S_MAX_STANZA')) + 2
    res['emulated'] = emulated(build, runs)
    rundir = tempfile.mkdtemp(prefix=f'xs2s-bench-{name}-')
    run = harness.Run(build, rundir)
    t = harness.T(run, f'bench_{name}', 1)
    try:
        ip_a, ip_b, ip_c = t.ip(), t.ip(), t.ip()
        hm = {'a.test': ip_a, 'b.test': ip_b, 'c.test': (ip_c, 5269)}
        args = ('--auth', 'sasl-external,dialback')
        a = t.daemon('a.test', ip=ip_a, host_map=hm, log_level='warn', extra_args=args)
        b = t.daemon('b.test', ip=ip_b, host_map=hm, log_level='warn', extra_args=args)
        times = []
        for i in range(runs + 3):  # three warm-up runs, not counted
            cap.take()
            body = f'setup run {i} {t.nonce}'
            a.send('alice@a.test', 'bob@b.test', body)
            b.wait_body(body, 15, frm='alice@a.test')
            time.sleep(0.05)
            segs = cap.take()
            ms = setup_ms(segs, ip_b)
            if ms is None and i == 0:
                print(f'{name}: no setup found in {len(segs)} captured segments: {segs[:6]}')
            if i == runs + 2:  # the last run's links stay: the idle RAM figures
                break
            if ms is not None and i >= 3:
                times.append(ms)
            subprocess.run(['ss', '-K', 'dst', ip_b, 'dport', '=', '5269'], capture_output=True)
            if not harness.poll(lambda: no_links(a, b), 10):
                raise RuntimeError(f'links still up after ss -K: {a.status()["links"]} {b.status()["links"]}')
        res['setup'] = times
        time.sleep(0.3)
        lb = [ln for ln in b.status()['links'] if ln['direction'] == 'in']
        la = [ln for ln in a.status()['links'] if ln['direction'] == 'out']
        res['idle_links'] = [(f'b.test in ({ln["auth"]}, {ln["tls_version"]})', ln['ram_bytes']) for ln in lb] + \
                            [(f'a.test out ({ln["auth"]}, {ln["tls_version"]})', ln['ram_bytes']) for ln in la]
        pools = b.status()['pools']
        res['bufs'] = {k: pools[k] for k in ('rx_bufs', 'tx_bufs', 'out_bufs', 'stanza_bufs')}
        res['stanzas'] = stanza_rate(t, b, ip_c)
    finally:
        problems = t.cleanup()
        if problems:
            print(f'{name}: problems while stopping: ' + '; '.join(problems))
        if sys.exc_info()[0] is None:
            shutil.rmtree(rundir, ignore_errors=True)
        else:
            print(f"{name}: logs kept in {rundir}")
    return res


def stanza_rate(t, b, ip_c, total=100000):
    """c.test (a raw peer) authenticates to b.test by STARTTLS + dialback and
    sends pings in batches; b.test answers on its own link to c.test's
    FakeServer. Pings per CPU-second of b.test."""
    cid = t.ident('c.test')
    srv = s2speer.FakeServer(cid, ip_c, hosts={'b.test': (b.ip, 5269)})
    t.servers.append(srv)
    s = s2speer.open_stream(cid, 'b.test', b.addr)
    t.streams.append(s)
    r = s2speer.dialback(s, cid, 'b.test')
    if r.attrs.get('type') != 'valid':
        return {'error': f'dialback refused: {r.raw}'}

    def pings(n0, n):
        return ''.join(f"<iq type='get' from='c.test' to='b.test' id='p{k}'><ping xmlns='urn:xmpp:ping'/></iq>"
                       for k in range(n0, n0 + n))
    s.send(pings(0, 1))  # b.test's link back to c.test comes up first
    if not srv.wait_for(lambda x: len(x.stanzas) >= 1, 15):
        return {'error': f'no pong: {srv.errors}'}
    base = len(srv.stanzas)
    pid = b.proc.pid
    c0, w0 = cpu_s(pid), time.monotonic()
    for n0 in range(1, total + 1, PING_BATCH):
        s.send(pings(n0, PING_BATCH))
        want = base + n0 - 1 + PING_BATCH
        if not srv.wait_for(lambda x: len(x.stanzas) >= want, 30):
            return {'error': f'pongs stopped at {len(srv.stanzas) - base} of {n0 + PING_BATCH - 1}: {srv.errors}'}
    cpu, wall = cpu_s(pid) - c0, time.monotonic() - w0
    errs = [x for x in srv.stanzas[base:] if x.attrs.get('type') != 'result']
    return {'pings': total, 'cpu_s': cpu, 'wall_s': wall, 'per_cpu_s': total / cpu if cpu else None,
            'non_results': len(errs)}


def arena(build):
    r = subprocess.run([os.path.join(build, 'test', 'bench', 'arena_bench'), '48'], capture_output=True, text=True,
                       timeout=300)
    return r.stdout.strip().splitlines() if not r.returncode else [f'arena_bench failed: {r.stderr.strip()}']


def prosody_ejabberd(runs, cap):
    """Prosody -> ejabberd, the same way: the interop suite's peer classes
    (test/interop/peers) configure both with the bench's own PKI (ECDSA
    P-256), SASL EXTERNAL only (secure auth), dnsmasq for their SRV and A
    records; Prosody's admin shell sends an XEP-0199 ping to ejabberd.test,
    the first stanza to an unconnected domain; timed from the first SYN to
    ejabberd:5269 to Prosody's last data segment on that connection (the
    ping; ejabberd answers on a link of its own). Both links are reset
    between runs. Returns the times, or a string saying why there are none."""
    if not (shutil.which('prosody') and shutil.which('ejabberdctl')):
        return 'not installed'
    sys.path.insert(0, os.path.join(HERE, '..', 'interop'))
    import common as icommon
    from lib.dnsmasq import Dnsmasq, xmpp_srv
    from lib.pki import Pki
    from peers.base import Setup
    from peers.ejabberd import Ejabberd
    from peers.prosody import Prosody
    icommon.use_port('posix')

    class PeerRun:
        pass
    rundir = tempfile.mkdtemp(prefix='xs2s-bench-peers-')
    os.chmod(rundir, 0o755)
    run = PeerRun()
    run.dir = rundir
    servers, dns, times, failed = [], None, [], None
    try:
        run.pki = Pki(os.path.join(rundir, 'pki'), [Prosody.domain, Ejabberd.domain, icommon.XS2S_DOMAIN],
                      os.path.join(rundir, 'foreign-pki'))
        names = {Prosody.domain: Prosody.ip, Ejabberd.domain: Ejabberd.ip}
        dns = Dnsmasq(icommon.DNS_IP, icommon.DNS_PORT, os.path.join(rundir, 'dnsmasq.log'), hosts=names,
                      srv=[xmpp_srv(d, icommon.S2S_PORT) for d in names], probe=(Ejabberd.domain, 'A'))
        dns.start()
        e = Ejabberd(run, os.path.join(rundir, 'ejabberd'))
        p = Prosody(run, os.path.join(rundir, 'prosody'))
        for s in (e, p):
            s.configure(Setup(run.pki.ca, True))
            if s is e:  # its glibc lookups read only this file: the pong goes to prosody.test
                with open(e.hosts, 'a') as f:
                    f.write(f'{Prosody.ip} {Prosody.domain}\n')
            servers.append(s)
            s.start()
        for i in range(runs + 3):  # three warm-up runs, not counted
            cap.take()
            out = p.shell(f"xmpp:ping('{Prosody.domain}', '{Ejabberd.domain}')")
            time.sleep(0.05)
            ms = setup_ms(cap.take(), Ejabberd.ip)
            if 'pong' not in out.lower() or ms is None:
                failed = f'run {i}: {out.strip()[-200:]}'
                break
            if i >= 3:
                times.append(ms)
            for ip in (Ejabberd.ip, Prosody.ip):
                subprocess.run(['ss', '-K', 'dst', ip, 'dport', '=', str(icommon.S2S_PORT)], capture_output=True)
            time.sleep(0.5)  # both notice the reset before the next ping
    except Exception as ex:  # noqa: BLE001 - the bench reports, it does not fail
        failed = f'{type(ex).__name__}: {ex}'
    finally:
        for s in reversed(servers):
            try:
                s.stop()
            except Exception:  # noqa: BLE001
                pass
        if dns:
            dns.stop()
        if failed:
            print(f'Prosody -> ejabberd: logs kept in {rundir}')
        else:
            shutil.rmtree(rundir, ignore_errors=True)
    return times if times and not failed else f'not measured: {failed}'


def fmt_setup(v):
    if not v:
        return 'n/a'
    return f'{statistics.median(v):6.2f} ms  ({min(v):.2f}-{max(v):.2f}, n={len(v)})'


def report(results, arena_lines, peers):
    print('\n== xs2s bench (figures only; see docs/performance.md for the targets)')
    rows = [
        ('link setup, first SYN -> message (median, min-max)', lambda r: fmt_setup(r.get('setup'))),
        ('emulated bound, same build (median, min-max)', lambda r: (
            f'{r["emulated"]["emulated_setup_ms:median"]:6.2f} ms  ({r["emulated"]["emulated_setup_ms:min"]:.2f}-'
            f'{r["emulated"]["emulated_setup_ms:max"]:.2f})' if 'emulated_setup_ms:median' in r['emulated']
            else str(r['emulated']))),
        ('setup / emulated bound', lambda r: (
            f'{statistics.median(r["setup"]) / r["emulated"]["emulated_setup_ms:median"]:.2f}x'
            if r.get('setup') and 'emulated_setup_ms:median' in r['emulated'] else 'n/a')),
        ('pings per CPU-second of b.test (one TLS link)', lambda r: (
            f'{r["stanzas"]["per_cpu_s"]:,.0f}  ({r["stanzas"]["pings"]} pings, {r["stanzas"]["cpu_s"]:.2f} CPU-s, '
            f'{r["stanzas"]["non_results"]} not results)' if r['stanzas'].get('per_cpu_s') else str(r['stanzas']))),
    ]
    for label, fn in rows:
        print(f'  {label}')
        for r in results:
            print(f'    {r["name"]:6} {fn(r)}')
    print('  RAM per idle authenticated link (ram_bytes: state + buffers on loan + TLS arena)')
    for r in results:
        for what, n in r.get('idle_links', []):
            print(f'    {r["name"]:6} {what:40} {n:7} bytes')
    print('  RAM while reading: idle + its four buffers on loan + what wolfSSL holds for the record')
    for r in results:
        rec = r['emulated'].get('record_peak:tls_extra')
        idle = max((n for _, n in r.get('idle_links', [])), default=0)
        if rec is not None:
            print(f'    {r["name"]:6} {idle + r["buf_bytes"] + int(rec):7} bytes measured: a 10 KB message from xs2s '
                  f'(records of at most TX_BUF): idle {idle} + buffers {r["buf_bytes"]} + TLS arena {int(rec)}')
        print(f'    {r["name"]:6} {idle + r["buf_bytes"] + FULL_RECORD:7} bytes computed: a full 16 KB record from '
              f'another server: idle {idle} + buffers {r["buf_bytes"]} + its input buffer {FULL_RECORD}')
    print('  binary size (xs2sd stripped: file, text, data, bss)')
    for r in results:
        n, tx, d, b = r['size']
        print(f'    {r["name"]:6} {n:9} bytes file, text {tx}, data {d}, bss {b}')
    print('  TLS arena, many concurrent handshakes (arena_bench, lean build)')
    for ln in arena_lines:
        print('    ' + ln)
    print('  Prosody -> ejabberd, same run, first SYN -> the ping (median, min-max)')
    if isinstance(peers, list):
        print(f'    peers  {fmt_setup(peers)}')
        for r in results:
            if r.get('setup'):
                print(f'    {r["name"]:6} Prosody->ejabberd / {r["name"]} (medians): '
                      f'{statistics.median(peers) / statistics.median(r["setup"]):.1f}x')
    else:
        print(f'    {peers}')
    print()
    print(json.dumps({'results': results, 'arena': arena_lines, 'prosody_ejabberd': peers}, default=str))


def main():
    args = sys.argv[1:]
    runs = 25
    if '--runs' in args:
        i = args.index('--runs')
        runs = int(args[i + 1])
        del args[i:i + 2]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    builds = [('lean', os.path.abspath(args[0])), ('debian', os.path.abspath(args[1]))]
    harness.netsim.reexec_in_netns()  # a namespace of its own: its loopback is down until now
    subprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=True)
    cap = Capture()
    results = []
    try:
        for name, build in builds:
            print(f'-- {name}: {build}', flush=True)
            results.append(bench_build(name, build, runs, cap))
        print('-- Prosody -> ejabberd', flush=True)
        peers = prosody_ejabberd(runs, cap)
    finally:
        cap.close()
    report(results, arena(builds[0][1]), peers)
    return 0


if __name__ == '__main__':
    sys.exit(main())
