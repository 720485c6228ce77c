# SPDX-License-Identifier: MIT
"""The network of the lwIP host simulation, for the integration and interop
suites.

A suite that runs an lwIP build of xs2sd re-runs itself in a network
namespace of its own (unshare --net: nothing outside is touched, and
everything is gone when it exits). In there:

  - every address of the suite's pool (10.77.0.0/24), and its IPv6 twin
    (10.77.0.N: fd77::N), is a local address of the kernel, on lo, so raw
    peers, dnsmasq and real servers bind them as they bind 127.0.0.x and
    ::1 on the POSIX port;
  - an lwIP daemon claims its address pair: the suite creates a TAP device
    for it, moves both addresses from lo to host routes over the TAP device,
    and xs2sd (lwIP's tapif) attaches to the device with them; the kernel
    answers lwIP's ARP and neighbour solicitations for the other pool
    addresses (its own, or by proxy for another lwIP daemon's, then forwards
    between TAP devices).

So every xs2sd on lwIP has its own TCP/IP stack and reaches peers on the
kernel stack, and other lwIP daemons, over real TCP through the kernel."""
import os
import subprocess
import sys

from .testkit import Fail, kconfig

NET = '10.77.0'
GW = f'{NET}.1'           # lwIP's gateway: a kernel address on lo
PREFIX = 24
NET6 = 'fd77::'           # 10.77.0.N <-> fd77::N (lwIP: static address, on-link /64)
ENV_MARK = 'XS2S_NETSIM_NETNS'
# lwIP's sockets are not in /proc/net/tcp: an lwIP xs2sd is listening once its log says so.
READY_LOG = r'xs2s started: .* listening on'


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


def _ip_batch(commands):
    """Several ip commands in one process (ip -batch)."""
    r = subprocess.run(['ip', '-batch', '-'], input='\n'.join(commands) + '\n',
                       capture_output=True, text=True, timeout=20)
    if r.returncode != 0:
        raise Fail(f'ip -batch failed: {r.stderr.strip()}')


def v6_twin(addr):
    """fd77::N for 10.77.0.N."""
    return NET6 + addr.rsplit('.', 1)[1]


def v4_twin(addr):
    """10.77.0.N for fd77::N (or addr itself if it is IPv4)."""
    return f'{NET}.{addr[len(NET6):]}' if addr.startswith(NET6) else addr


def _sysctl(key, value):
    with open('/proc/sys/' + key.replace('.', '/'), 'w') as f:
        f.write(str(value))


class TapNet:
    """The namespace's network (call in the namespace): the pool on lo, and
    claim()/release() of an address by an lwIP daemon."""

    def __init__(self, pool, ipv6=True):
        """pool: IPv4 addresses in NET. ipv6: lwIP is built with IPv6 (each
        daemon then also gets its fd77::N)."""
        check_netns()
        if not os.path.exists('/dev/net/tun'):
            raise Fail('/dev/net/tun is missing: the lwIP host simulation needs TAP devices (modprobe tun)')
        self.pool = list(pool)
        self.ipv6 = ipv6
        self.claimed = {}
        _sysctl('net.ipv4.ip_forward', 1)
        for scope in ('all', 'default'):
            _sysctl(f'net.ipv4.conf.{scope}.rp_filter', 0)
            # New TAP devices: no duplicate address detection wait on their
            # link-local address, and forwarding (needed for proxy NDP).
            _sysctl(f'net.ipv6.conf.{scope}.forwarding', 1)
            _sysctl(f'net.ipv6.conf.{scope}.accept_dad', 0)
        cmds = ['link set lo up'] + [f'addr add {a}/32 dev lo' for a in [GW] + self.pool]
        cmds += [f'addr add {v6_twin(a)}/128 dev lo nodad' for a in [GW] + self.pool]
        _ip_batch(cmds)

    @staticmethod
    def tap_name(addr):
        return 'xs2s' + v4_twin(addr).rsplit('.', 1)[1]

    def claim(self, addr):
        """Give addr (10.77.0.N or fd77::N) and its twin to an lwIP daemon:
        its TAP device, up, with both routed to it; the kernel answers
        lwIP's neighbour solicitations on it for every other address.
        Returns xs2sd's --tap options."""
        a4 = v4_twin(addr)
        if a4 in self.claimed:
            raise Fail(f'{a4} is already an lwIP daemon\'s')
        tap = self.tap_name(a4)
        _ip('tuntap', 'add', 'dev', tap, 'mode', 'tap')
        _sysctl(f'net.ipv4.conf.{tap}.proxy_arp', 1)
        _sysctl(f'net.ipv4.neigh.{tap}.proxy_delay', 0)   # answer at once, not after up to 0.8 s
        cmds = [f'link set {tap} up', f'addr del {a4}/32 dev lo', f'route add {a4}/32 dev {tap}']
        if self.ipv6:
            _sysctl(f'net.ipv6.conf.{tap}.proxy_ndp', 1)
            _sysctl(f'net.ipv6.neigh.{tap}.proxy_delay', 0)
            a6 = v6_twin(a4)
            cmds += [f'addr del {a6}/128 dev lo', f'route add {a6}/128 dev {tap}']
            cmds += [f'neigh add proxy {v6_twin(o)} dev {tap}' for o in [GW] + self.pool if o != a4]
        _ip_batch(cmds)
        self.claimed[a4] = tap
        args = ['--tap', tap, '--tap-ip', f'{a4}/{PREFIX}', '--tap-gw', GW]
        return args + (['--tap-ip6', v6_twin(a4)] if self.ipv6 else [])

    def release(self, addr):
        """Back to the kernel: the TAP device (and its routes) goes, the
        addresses are local again."""
        a4 = v4_twin(addr)
        tap = self.claimed.pop(a4, None)
        if tap is None:
            return
        cmds = [f'link del {tap}', f'addr add {a4}/32 dev lo']
        if self.ipv6:
            cmds.append(f'addr add {v6_twin(a4)}/128 dev lo nodad')
        _ip_batch(cmds)


def check_netns():
    if os.environ.get(ENV_MARK) != '1':
        raise Fail('TapNet outside the suite\'s own network namespace (call reexec_in_netns() first)')


def build_port(build):
    """'lwip' when BUILD's .config selects the lwIP port, else 'posix'."""
    return 'lwip' if kconfig(build, 'XS2S_PORT_LWIP') == 'y' else 'posix'
