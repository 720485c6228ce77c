# SPDX-License-Identifier: MIT
"""The kernel's socket tables (/proc/net/tcp, tcp6, udp, udp6): whether
something is bound to or listening on an address, a free port, and the
closes the kernel is still retransmitting. Read rather than probed: a
check never opens a connection to the daemon it looks at. An lwIP xs2sd's
sockets are not the kernel's and never show up here."""
import socket

from .testkit import Fail, check

# States as /proc/net/tcp spells them (hex). For udp, '07' means bound.
TCP_LISTEN, TCP_TIME_WAIT = '0A', '06'
# Closing states in which the kernel retransmits until the remote ACKs:
# FIN_WAIT1, LAST_ACK, CLOSING.
TCP_UNACKED_CLOSE = {'04', '09', '0B'}


def hostport(ip, port):
    """'ip:port', or '[ip]:port' for IPv6."""
    return f'[{ip}]:{port}' if ':' in ip else f'{ip}:{port}'


def _hex_addr(ip):
    """ip as /proc/net/* spells it: host-order (little-endian) 32-bit words."""
    if ':' in ip:
        raw = socket.inet_pton(socket.AF_INET6, ip)
        return ''.join('%08X' % int.from_bytes(raw[i:i + 4], 'little') for i in range(0, 16, 4))
    return ''.join('%02X' % int(x) for x in reversed(ip.split('.')))


def _rows(proto):
    """The rows of /proc/net/PROTO (header left out) as lists of fields;
    None when it cannot be read."""
    try:
        with open(f'/proc/net/{proto}') as f:
            next(f)
            return [line.split() for line in f]
    except OSError:
        return None


def port_states(ip, port, proto='tcp'):
    """States of the sockets bound to ip:port (an IPv6 ip is looked up in
    /proc/net/tcp6 or udp6), or None when the table cannot be read."""
    rows = _rows(proto + '6' if ':' in ip else proto)
    if rows is None:
        return None
    want = _hex_addr(ip) + ':%04X' % port
    return {r[3] for r in rows if r[1] == want}


def listening(ip, port):
    """Something listens on ip:port (True too when /proc cannot be read:
    the caller then goes by other signs, such as an admin socket)."""
    st = port_states(ip, port)
    return st is None or TCP_LISTEN in st


def wildcard_listener(port):
    """True when a TCP socket listens on port on every address (0.0.0.0 or
    ::), e.g. a system XMPP server started by its package: our loopback
    listeners could not bind next to it."""
    return any(TCP_LISTEN in (port_states(any_addr, port) or set()) for any_addr in ('0.0.0.0', '::'))


def require_free(ip, port, who, proto='tcp'):
    """Fail unless nothing but TIME_WAIT sockets use ip:port (and, for TCP,
    nothing listens on the port on every address)."""
    st = port_states(ip, port, proto)
    check(not st or st <= {TCP_TIME_WAIT},
          f'{who}: {ip}:{port}/{proto} is in use (socket states {sorted(st)}); '
          f'is an earlier run still going?')
    check(proto != 'tcp' or not wildcard_listener(port),
          f'{who}: something listens on port {port} on all addresses (a system XMPP server '
          f'started by its Debian package? e.g. systemctl stop prosody); not touching it')


def free_port(ip, prefer, taken=()):
    """The first port from prefer (then upwards from its last one) not in
    taken and with nothing but TIME_WAIT sockets bound to ip on it."""
    for port in list(prefer) + list(range(prefer[-1] + 1, prefer[-1] + 200)):
        st = port_states(ip, port)
        if port not in taken and (st is None or st <= {TCP_TIME_WAIT}):
            return port
    raise Fail(f'no free port on {ip} near {prefer}')


def states_towards(ip):
    """{(local 'ip:port', state)} of the kernel's IPv4 TCP sockets whose
    remote address is ip (empty without /proc)."""
    want = _hex_addr(ip)
    found = set()
    for r in _rows('tcp') or []:
        if r[2].split(':')[0] == want:
            a, p = r[1].split(':')
            local = '.'.join(str(int(a[i:i + 2], 16)) for i in (6, 4, 2, 0)) + f':{int(p, 16)}'
            found.add((local, r[3]))
    return found


def established_to(ip, port):
    """How many established TCP connections the kernel has accepted on
    ip:port (their server-side sockets: each connection counted once), or
    None when the table cannot be read. An lwIP xs2sd's are not here."""
    st = _rows('tcp6' if ':' in ip else 'tcp')
    if st is None:
        return None
    want = _hex_addr(ip) + ':%04X' % port
    return sum(1 for r in st if len(r) > 3 and r[1] == want and r[3] == '01')
