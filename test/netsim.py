# SPDX-License-Identifier: MIT
"""The network of the lwIP host simulation, for the integration and interop
suites.

A suite that runs an lwIP build of xs2sd re-runs itself in a network
namespace of its own (unshare --net: nothing outside is touched, and
everything is gone when it exits). In there:

  - every address of the suite's pool (10.77.0.0/24) is a local address of
    the kernel, on lo, so raw peers, dnsmasq and real servers bind them as
    they bind 127.0.0.x on the POSIX port;
  - an lwIP daemon claims its address: the suite creates a TAP device for
    it, moves the address from lo to a /32 route over the TAP device, and
    xs2sd (lwIP's tapif) attaches to the device with that address; the
    kernel answers lwIP's ARP for the other pool addresses (its own, or by
    proxy ARP for another lwIP daemon's, then forwards between TAP devices).

So every xs2sd on lwIP has its own TCP/IP stack and reaches peers on the
kernel stack, and other lwIP daemons, over real TCP through the kernel."""
import os
import subprocess
import sys

from testkit import Fail

NET = '10.77.0'
GW = f'{NET}.1'           # lwIP's gateway: a kernel address on lo
PREFIX = 24
ENV_MARK = 'XS2S_NETSIM_NETNS'


def reexec_in_netns():
    """Re-run this program (same interpreter and argv) in a new network
    namespace, unless this process is already the re-run one. Needs root."""
    if os.environ.get(ENV_MARK) == '1':
        return
    env = dict(os.environ, **{ENV_MARK: '1'})
    argv = ['unshare', '--net', '--', sys.executable] + sys.argv
    sys.stdout.flush()
    try:
        os.execvpe('unshare', argv, env)
    except OSError as e:
        raise Fail(f'cannot enter a network namespace of its own (unshare --net): {e}')


def _ip(*args):
    r = subprocess.run(['ip'] + list(args), capture_output=True, text=True, timeout=10)
    if r.returncode != 0:
        raise Fail(f'ip {" ".join(args)} failed: {r.stderr.strip()}')


def _sysctl(key, value):
    with open('/proc/sys/' + key.replace('.', '/'), 'w') as f:
        f.write(str(value))


class TapNet:
    """The namespace's network (call in the namespace): the pool on lo, and
    claim()/release() of an address by an lwIP daemon."""

    def __init__(self, pool):
        check_netns()
        if not os.path.exists('/dev/net/tun'):
            raise Fail('/dev/net/tun is missing: the lwIP host simulation needs TAP devices (modprobe tun)')
        self.pool = list(pool)
        self.claimed = {}
        _ip('link', 'set', 'lo', 'up')
        for a in [GW] + self.pool:
            _ip('addr', 'add', f'{a}/32', 'dev', 'lo')
        _sysctl('net.ipv4.ip_forward', 1)
        for scope in ('all', 'default'):
            _sysctl(f'net.ipv4.conf.{scope}.rp_filter', 0)

    @staticmethod
    def tap_name(addr):
        return 'xs2s' + addr.rsplit('.', 1)[1]

    def claim(self, addr):
        """Give addr to an lwIP daemon: its TAP device, up, with addr routed
        to it. Returns xs2sd's --tap options."""
        if addr in self.claimed:
            raise Fail(f'{addr} is already an lwIP daemon\'s')
        tap = self.tap_name(addr)
        _ip('tuntap', 'add', 'dev', tap, 'mode', 'tap')
        _ip('link', 'set', tap, 'up')
        _sysctl(f'net.ipv4.conf.{tap}.proxy_arp', 1)
        _ip('addr', 'del', f'{addr}/32', 'dev', 'lo')
        _ip('route', 'add', f'{addr}/32', 'dev', tap)
        self.claimed[addr] = tap
        return ['--tap', tap, '--tap-ip', f'{addr}/{PREFIX}', '--tap-gw', GW]

    def release(self, addr):
        """Back to the kernel: the TAP device (and its route) goes, addr is
        a local address again."""
        tap = self.claimed.pop(addr, None)
        if tap is None:
            return
        _ip('link', 'del', tap)
        _ip('addr', 'add', f'{addr}/32', 'dev', 'lo')


def check_netns():
    if os.environ.get(ENV_MARK) != '1':
        raise Fail('TapNet outside the suite\'s own network namespace (call reexec_in_netns() first)')


def build_port(build):
    """'lwip' when BUILD's .config selects the lwIP port, else 'posix'."""
    try:
        with open(os.path.join(build, '.config')) as f:
            return 'lwip' if 'CONFIG_XS2S_PORT_LWIP=y' in f.read().split('\n') else 'posix'
    except OSError:
        return 'posix'
