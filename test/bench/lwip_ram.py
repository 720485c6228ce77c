#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""RAM of the lwIP build (a benchmark: prints figures, asserts nothing).

  lwip_ram.py BUILD        (BUILD: an lwIP build, e.g. `make bench`'s build/bench-lwip)

1. Static RAM: `size` (data + bss) of what a device image links: the engine
   objects, the lwIP port, liblwip.a, the lean wolfSSL and the private
   Mini-XML; the host simulation (TAP, admin socket) is left out.
2. RAM per authenticated TLS link: in the suite's network namespace (as the
   integration tests on the lwIP port), a.test on lwIP federates with b.test
   and c.test (also on lwIP) by STARTTLS + SASL EXTERNAL, a message each way,
   so that a.test holds CONFIG_XS2S_MAX_LINKS=4 open links (2 in, 2 out).
   Then a.test's status table gives the TLS arena (contexts, idle links, the
   per-link handshake peak), the link slots, the XML arena and lwIP's own
   pools with their high-water marks."""
import glob
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))
import harness  # noqa: E402


def size_of(paths):
    """(text, data, bss) summed over objects and archives."""
    r = subprocess.run(['size', '-t'] + paths, capture_output=True, text=True, check=True)
    text, data, bss = (int(x) for x in r.stdout.strip().splitlines()[-1].split()[:3])
    return text, data, bss


def static_ram(build):
    parts = [
        ('engine (firmware/**/*.o)', sorted(glob.glob(os.path.join(build, 'firmware', '**', '*.o'), recursive=True))),
        ('lwIP port (port_lwip.o)', [os.path.join(build, 'port', 'lwip', 'port_lwip.o')]),
        ('lwIP (liblwip.a)', [os.path.join(build, 'lib', 'liblwip.a')]),
        ('lean wolfSSL (libwolfssl.a)', [os.path.join(build, 'lib', 'libwolfssl.a')]),
        ('Mini-XML (libmxml-xs2s.a)', [os.path.join(build, 'lib', 'libmxml-xs2s.a')]),
    ]
    print('== static RAM of the device image (size: data + bss; text is flash)')
    print(f'  {"part":32} {"text":>9} {"data":>8} {"bss":>9}')
    tot = [0, 0, 0]
    for name, paths in parts:
        t, d, b = size_of(paths)
        tot = [tot[0] + t, tot[1] + d, tot[2] + b]
        print(f'  {name:32} {t:9} {d:8} {b:9}')
    print(f'  {"total":32} {tot[0]:9} {tot[1]:8} {tot[2]:9}   -> static RAM {tot[1] + tot[2]} bytes'
          ' (without the engine object: below)')
    print('\n== engine objects (size)')
    r = subprocess.run(['size'] + parts[0][1], capture_output=True, text=True, check=True)
    for ln in r.stdout.splitlines():
        print('  ' + ln.replace(build + '/', ''))
    return tot[1] + tot[2]


def links_ram(build, static):
    rundir = tempfile.mkdtemp(prefix='xs2s-bench-')
    run = harness.Run(build, rundir)
    t = harness.T(run, 'lwip_ram', 1)
    try:
        ip_a, ip_b, ip_c = t.ip(), t.ip(), t.ip()
        hm = {'a.test': ip_a, 'b.test': ip_b, 'c.test': ip_c}
        a = t.daemon('a.test', ip=ip_a, host_map=hm, log_level='info')
        b = t.daemon('b.test', ip=ip_b, host_map=hm, log_level='info')
        c = t.daemon('c.test', ip=ip_c, host_map=hm, log_level='info')
        for x in (b, c):
            a.send('u@a.test', f'v@{x.domain}', f'a to {x.domain}')
            x.send(f'v@{x.domain}', 'u@a.test', f'{x.domain} to a')
            x.wait_body(f'a to {x.domain}')
            a.wait_body(f'{x.domain} to a')
        st = harness.poll(lambda: (lambda s: s if len([ln for ln in s['links'] if ln['state'] == 'open']) == 4
                                   else None)(a.status()), 5)
        if not st:
            st = a.status()
            print(f'warning: a.test has {len(st["links"])} links, not 4: {st["links"]}')
        links = st['links']
        pools = st['pools']
        log = a.log_text()
        ctx = int(re.search(r'tls: ready, .* arena \d+ bytes \((\d+) used\)', log).group(1))
        slot = int(re.search(r'link slots of (\d+) bytes', log).group(1))
        bufs = int(re.search(r'link buffers (\d+) bytes', log).group(1))
        eng = int(re.search(r'engine (\d+) bytes', log).group(1))
        tls = pools['tls_arena']
        n = len(links)
        print(f'\n== a.test on lwIP with {n} open links (STARTTLS + SASL EXTERNAL, TLSv1.3, P-256/X25519)')
        for ln in links:
            print(f'  L{ln["id"]} {ln["direction"]:3} {ln["remote"]:7} {ln["tls_version"]} {ln["cipher"]:26} '
                  f'{ln["auth"]:13} {ln["cert"]:6} handshake peak {ln["tls_arena_high"]} bytes, '
                  f'holds {ln.get("ram_bytes", "?")} bytes now')
        print(f'  TLS arena: contexts {ctx} bytes; now {tls["used"]} used, high {tls["high"]}, '
              f'size {tls["size"]} (refused {tls["fails"]})')
        print(f'  per idle authenticated link: {(tls["used"] - ctx) // max(n, 1)} bytes of TLS arena + '
              f'a {slot}-byte link slot')
        print(f'  engine object (struct xs2s_engine, in the application\'s bss): {eng} bytes, of which link '
              f'buffers on loan {bufs}; static RAM with it: {static + eng} bytes')
        print(f'  per-link TLS handshake peak: max {max(ln["tls_arena_high"] for ln in links)} bytes')
        for key in ('links', 'rx_bufs', 'tx_bufs', 'out_bufs', 'stanza_bufs', 'queue', 'inbox', 'xml_arena'):
            p = pools.get(key)
            if p:
                print(f'  {key:11} used {p["used"]}, high {p["high"]}, size {p["size"]}')
        print('  lwIP pools (high-water marks; lwIP stats on):')
        for name, p in st.get('port_pools', {}).items():
            print(f'    {name:18} used {p["used"]:6}, high {p["high"]:6} of {p["size"]:6} {p["unit"]}'
                  f' (refused {p["fails"]})')
    finally:
        problems = t.cleanup()
        if problems:
            print('problems while stopping: ' + '; '.join(problems))


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    build = os.path.abspath(sys.argv[1])
    if harness.netsim.build_port(build) != 'lwip':
        print(f'{build} is not an lwIP build (CONFIG_XS2S_PORT_LWIP)', file=sys.stderr)
        return 2
    harness.netsim.reexec_in_netns()
    links_ram(build, static_ram(build))
    return 0


if __name__ == '__main__':
    sys.exit(main())
