# SPDX-License-Identifier: MIT
"""xs2sd as an installed daemon: its configuration file, refusing to start
without a usable certificate, SIGHUP (new certificate for new links, open
links kept) and SIGTERM (graceful closes, queued stanzas bounced)."""
import os
import re
import shutil
import signal
import ssl
import subprocess
import time

from harness import Daemon, Fail, Skip, check, poll

RELOADED = r'tls: reloaded certificate, key and CAs'


def _write(path, text):
    with open(path, 'w') as f:
        f.write(text)
    return path


def _run_to_exit(t, d, timeout=20):
    """Run Daemon d (made, not started) until it exits by itself: (status,
    output). On the lwIP port it gets its TAP device as a started one would."""
    net = t.run.net
    tap = net.claim(d.ip) if net is not None and d.stack == 'lwip' else []
    try:
        r = subprocess.run(d.options() + tap + d.extra, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Fail(f'{d.name}: still running after {timeout} s; expected it to refuse to start')
    finally:
        if tap:
            net.release(d.ip)
    return r.returncode, r.stdout + r.stderr


def _refused(t, d, status, *texts):
    """d exits at once with status, its output naming every one of texts."""
    rc, out = _run_to_exit(t, d)
    check(rc == status, f'{d.name}: exit status {rc}, want {status}; output: {out.strip()[-600:]!r}')
    for text in texts:
        check(text in out, f'{d.name}: output does not name {text!r}: {out.strip()[-600:]!r}')
    return out


def test_config_file_errors(t):
    """An unknown key, a line without '=', or a bad value stops xs2sd before
    it starts, with the file and line; so does a missing file."""
    cases = [
        ('unknown-key', 'domain = a.test\n# a comment\n\nlisten-port = 5269\n', 4, 'listen-port'),
        ('no-equals', 'domain = a.test\nlog-level debug\n', 2, 'log-level debug'),
        ('bad-level', '\tlog-level = loud  \n', 1, 'loud'),
        ('bad-bool', 'secure-auth = maybe\n', 1, 'maybe'),
        ('bad-listen', 'domain = a.test\nlisten = 127.0.0.1\n', 2, '127.0.0.1'),
        ('bad-policy', 'tls-policy = sometimes\n', 1, 'sometimes'),
        ('empty-value', 'cert =\n', 1, 'cert'),
        ('help-key', 'help = yes\n', 1, 'help'),
    ]
    ip = t.ip()
    for name, text, line, what in cases:
        path = _write(os.path.join(t.dir, f'{name}.conf'), text)
        d = Daemon(t, 'a.test', ip, extra_args=['--config', path])
        _refused(t, d, 2, f'{path}:{line}:', what)
    missing = os.path.join(t.dir, 'missing.conf')
    _refused(t, Daemon(t, 'a.test', ip, extra_args=['--config', missing]), 2, missing)


def test_config_file_and_command_line(t):
    """Options come from the file (here: a.test reaches b.test through the
    file's host map), and the command line wins over it (--domain,
    --log-level)."""
    ip_a, ip_b = t.ip(), t.ip()
    conf = _write(os.path.join(t.dir, 'a.conf'),
                  '# xs2sd.conf of the test\n'
                  'domain = wrong.test\n'
                  f'host-map = b.test={ip_b}:5269\n'
                  'log-level = error\n'
                  'secure-auth = no\n'
                  'syslog = no\n')
    a = t.daemon('a.test', ip=ip_a, extra_args=['--config', conf])
    b = t.daemon('b.test', ip=ip_b, host_map={'a.test': ip_a})
    body = f'routed by the configuration file {t.nonce}'
    a.send('u@a.test', 'x@b.test', body)
    b.wait_body(body, 15, frm='u@a.test')
    st = a.status()
    check(st.get('domain') == 'a.test', f'a: the file won over --domain: {st.get("domain")!r}')
    check(a.find_log(r'^\S+ I '), 'a: no info line: the file\'s log-level (error) won over --log-level')


def test_refuses_to_start_without_certificate(t):
    """TLS required: a certificate or key that cannot be read, or that
    wolfSSL cannot use, stops xs2sd at start (status 1, naming it). TLS
    optional: it starts, without STARTTLS."""
    ip = t.ip()
    nowhere = os.path.join(t.dir, 'nowhere')
    os.makedirs(nowhere, exist_ok=True)
    shutil.copy(os.path.join(t.run.certs, 'ca.pem'), nowhere)
    _refused(t, Daemon(t, 'a.test', ip, certdir=nowhere), 1,
             os.path.join(nowhere, 'a.test.pem'), 'not starting')

    garbage = os.path.join(t.dir, 'garbage')
    os.makedirs(garbage, exist_ok=True)
    for f in ('a.test.pem', 'ca.pem'):
        shutil.copy(os.path.join(t.run.certs, f), garbage)
    _write(os.path.join(garbage, 'a.test.key'), '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n')
    _refused(t, Daemon(t, 'a.test', ip, certdir=garbage), 1, 'cannot use the certificate/key')

    d = t.daemon('a.test', ip=ip, certdir=nowhere, tls_policy='optional')
    d.wait_log(r'no certificate: STARTTLS is neither offered nor used', 5)


def _der(pem_path):
    with open(pem_path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def _presented_cert(t, d, ca_bundle):
    """The DER certificate d presents to a new inbound STARTTLS stream (from
    c.test, closed again before this returns: d has no link to c.test)."""
    cid = t.ident('c.test')
    cid.ca = ca_bundle
    s = t.open_stream(cid, d.domain, d.addr)
    try:
        return s.sock.getpeercert(binary_form=True)
    finally:
        s.close()
        check(poll(lambda: not d.links(remote='c.test'), 5), f'{d.name}: the c.test stream did not close')


def test_sighup_reloads_certificate(t):
    """SIGHUP rereads the certificate, key and CA files: open links stay
    up and keep working, a new link gets the new certificate; a reload that
    fails keeps the credentials in use."""
    old_dir, new_dir = t.run.certs, t.run.pki('renewed', ['a.test'])  # new_dir: another CA
    bundle = os.path.join(t.dir, 'ca-bundle.pem')
    with open(bundle, 'w') as f:
        for d in (old_dir, new_dir):
            with open(os.path.join(d, 'ca.pem')) as c:
                f.write(c.read())
    live, bdir = os.path.join(t.dir, 'live'), os.path.join(t.dir, 'b')
    for dst, dom in ((live, 'a.test'), (bdir, 'b.test')):
        os.makedirs(dst, exist_ok=True)
        for ext in ('.pem', '.key'):
            shutil.copy(os.path.join(old_dir, dom + ext), dst)
        shutil.copy(bundle, os.path.join(dst, 'ca.pem'))

    ip_a, ip_b = t.ip(), t.ip()
    a = t.daemon('a.test', ip=ip_a, certdir=live, host_map={'b.test': ip_b})
    b = t.daemon('b.test', ip=ip_b, certdir=bdir, host_map={'a.test': ip_a})
    a.send('u@a.test', 'x@b.test', f'before the reload {t.nonce}')
    b.send('x@b.test', 'u@a.test', f'before the reload, back {t.nonce}')
    b.wait_body(f'before the reload {t.nonce}', 15)
    a.wait_body(f'before the reload, back {t.nonce}', 15)
    links = {ln['id'] for ln in a.links(state='open')}
    check(len(links) == 2, f'a: want two open links (in and out) before the reload: {a.status().get("links")}')
    check(_presented_cert(t, a, bundle) == _der(os.path.join(old_dir, 'a.test.pem')),
          'a: a new stream does not get the certificate a started with')

    # Renewal as certbot does it: new files put in place, then SIGHUP.
    for ext in ('.pem', '.key'):
        shutil.copy(os.path.join(new_dir, 'a.test' + ext), os.path.join(live, 'a.test' + ext + '.tmp'))
        os.replace(os.path.join(live, 'a.test' + ext + '.tmp'), os.path.join(live, 'a.test' + ext))
    a.signal(signal.SIGHUP)
    a.wait_log(RELOADED, 5, 'the reload')
    check(_presented_cert(t, a, bundle) == _der(os.path.join(new_dir, 'a.test.pem')),
          'a: a new stream after SIGHUP does not get the renewed certificate')
    a.send('u@a.test', 'x@b.test', f'after the reload {t.nonce}')
    b.send('x@b.test', 'u@a.test', f'after the reload, back {t.nonce}')
    b.wait_body(f'after the reload {t.nonce}', 15)
    a.wait_body(f'after the reload, back {t.nonce}', 15)
    still = {ln['id'] for ln in a.links(state='open')}
    check(links <= still, f'a: links {sorted(links - still)} did not survive the reload: {a.status().get("links")}')
    ids = '|'.join(str(i) for i in sorted(links))
    closed = a.find_log(rf'^\S+ [EWID] L({ids}) .*(closing|closed)')
    check(not closed, f'a: a link closed across the reload: {closed}')

    # Twice more: each reload frees the contexts the one before made (the
    # open links hold the first ones), so the TLS arena stays where it was
    # (a context is kilobytes; a few bytes move with the arena's layout).
    for n in (2, 3):
        a.signal(signal.SIGHUP)
        check(poll(lambda: len(a.find_log(RELOADED)) == n, 5), f'a: reload {n} not done')
    used = [int(re.search(r'arena (\d+) bytes used', ln).group(1)) for ln in a.find_log(RELOADED)]
    check(max(used) - min(used) <= 256, f'a: the TLS arena grows with reloads: {used}')

    # A broken key: the reload fails, the renewed credentials stay in use.
    _write(os.path.join(live, 'a.test.key'), 'not a key\n')
    a.signal(signal.SIGHUP)
    a.wait_log(r'reload: cannot use the new certificate/key', 5, 'the failed reload')
    check(len(a.find_log(RELOADED)) == 3, 'a: the broken key was reported as reloaded')
    check(_presented_cert(t, a, bundle) == _der(os.path.join(new_dir, 'a.test.pem')),
          'a: after a failed reload a new stream does not get the certificate in use')
    check(a.alive(), f'a: died after a failed reload (status {a.proc.poll()})')


SYSTEM_CAS = '/etc/ssl/certs/ca-certificates.crt'


def test_sighup_needs_arena_room(t):
    """A reload builds the new contexts next to the old ones. With Debian's
    CA bundle (about 140 roots) each pair of contexts takes about 150 KiB of
    the TLS arena: a 256 KiB arena cannot hold two, so the reload fails as a
    whole and the credentials in use stay (wolfSSL would otherwise drop the
    CAs it has no room for and report success); a big arena reloads."""
    if not os.path.exists(SYSTEM_CAS):
        raise Skip(f'{SYSTEM_CAS} is missing (Debian\'s ca-certificates; make deps installs it)')
    old_dir, new_dir = t.run.certs, t.run.pki('renewed-big', ['a.test'])
    live = os.path.join(t.dir, 'live')
    os.makedirs(live, exist_ok=True)
    for ext in ('.pem', '.key'):
        shutil.copy(os.path.join(old_dir, 'a.test' + ext), live)
    bundle = os.path.join(live, 'ca.pem')  # the system's roots and both test CAs
    with open(bundle, 'w') as f:
        for src in (SYSTEM_CAS, os.path.join(old_dir, 'ca.pem'), os.path.join(new_dir, 'ca.pem')):
            with open(src) as c:
                f.write(c.read())
    a = t.daemon('a.test', certdir=live)
    pool = a.status()['pools']['tls_arena']
    size, start = pool['size'], pool['used']
    if abs(size - 2 * start) < size // 8:
        raise Skip(f'TLS arena of {size} bytes with {start} in use at start: too close to call')
    for ext in ('.pem', '.key'):
        shutil.copy(os.path.join(new_dir, 'a.test' + ext), os.path.join(live, 'a.test' + ext))
    a.signal(signal.SIGHUP)
    if size < 2 * start:
        a.wait_log(r'tls: reload: TLS arena exhausted', 5, 'the reload refused for want of arena')
        want = os.path.join(old_dir, 'a.test.pem')
    else:
        a.wait_log(RELOADED, 5, 'the reload')
        want = os.path.join(new_dir, 'a.test.pem')
    check(_presented_cert(t, a, bundle) == _der(want),
          f'a: after the reload a new stream does not get {want}')
    used = a.status()['pools']['tls_arena']['used']
    check(abs(used - start) <= 1024, f'a: TLS arena {used} bytes in use after the reload, {start} before')
    b = t.daemon('b.test', host_map={'a.test': a.ip})
    body = f'the CA list is whole {t.nonce}'
    b.send('x@b.test', 'u@a.test', body)
    a.wait_body(body, 15)
    check(a.links(direction='in', remote='b.test', cert='valid'),
          f'a: b.test\'s certificate is not valid after the reload: {a.status().get("links")}')


def test_sigterm_closes_gracefully_and_bounces(t):
    """SIGTERM: every stream is closed with </stream:stream> (the peer sees
    a normal close), a stanza still queued for a peer that never answered is
    bounced to its sender, and xs2sd exits 0 within its grace time."""
    ip_a, ip_b = t.ip(), t.ip()
    silent = t.raw_listener(lambda s: s.wait_closed(20), name='silent c.test')
    a = t.daemon('a.test', ip=ip_a, host_map={'b.test': ip_b, 'c.test': silent.addr[0]})
    b = t.daemon('b.test', ip=ip_b, host_map={'a.test': ip_a})
    body = f'delivered before the stop {t.nonce}'
    a.send('u@a.test', 'x@b.test', body)
    b.wait_body(body, 15)
    a.send('u@a.test', 'x@c.test', f'queued when the stop comes {t.nonce}')
    check(poll(lambda: a.links(direction='out', remote='c.test')
               and a.status().get('pools', {}).get('queue', {}).get('used', 0) > 0, 10, 0.1),
          f'a: the stanza for c.test is not queued: {a.status()}')

    started = time.monotonic()
    rc = a.stop_now(timeout=8)
    took = time.monotonic() - started
    check(rc == 0, f'a: exit status {rc} after SIGTERM')
    check(took < 6, f'a: took {took:.1f} s to stop')
    check(a.find_log(r'bounced message from u@a\.test to x@c\.test'),
          'a: the queued stanza was not bounced at SIGTERM')
    check(a.find_log(r'exiting with an unread bounce for u@a\.test from x@c\.test'),
          'a: the bounce left in the inbox at exit is not reported')
    b.wait_log(r'closing: peer closed the stream', 5, 'b saw a graceful close')
    bad = b.find_log(r'^\S+ [EW] ')
    check(not bad, f'b: warnings or errors at the stop of a: {bad}')
