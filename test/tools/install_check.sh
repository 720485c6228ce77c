#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make install` as an operator gets it: install BUILD into a staging
# directory, then start the installed xs2sd exactly as its systemd unit's
# ExecStart line says, under the unit's user and capability settings, and
# drive it: status, SIGHUP (reload), SIGTERM (graceful stop, status 0).
#
#   install_check.sh BUILD        (root; `make install-check` calls it)
#
# Everything runs in a network and mount namespace of its own: the staged
# $(SYSCONFDIR)/xs2s and $(PREFIX) appear at their real paths (/etc/xs2s
# through an overlay on /etc, /usr/local by a bind mount), /run is a fresh
# tmpfs with the unit's RuntimeDirectory, and setpriv applies User=/Group=
# (nobody here: the xs2s user is made by systemd-sysusers on a real install),
# CapabilityBoundingSet= and AmbientCapabilities= (CAP_NET_BIND_SERVICE only)
# and NoNewPrivileges=. The rest of the sandbox is systemd's to apply;
# `systemd-analyze verify` checks the unit when systemd is installed.
set -euo pipefail

build=$(cd "${1:?usage: install_check.sh BUILD}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

if [ "${XS2S_INSTALL_CHECK_INNER:-}" != 1 ]; then
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/xs2s-install.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	root=$tmp/root
	echo "== make install O=$build DESTDIR=$root PREFIX=/usr/local"
	make -C "$top" --no-print-directory O="$build" install DESTDIR="$root" PREFIX=/usr/local
	# What an operator does next: a certificate and key for the domain, the domain in the file.
	bash "$top/test/tools/mkcerts.sh" "$tmp/certs" a.test
	install -m 0644 "$tmp/certs/a.test.pem" "$root/etc/xs2s/cert.pem"
	install -m 0640 -g nogroup "$tmp/certs/a.test.key" "$root/etc/xs2s/key.pem"
	sed -i 's/^domain = .*/domain = a.test/' "$root/etc/xs2s/xs2sd.conf"
	XS2S_INSTALL_CHECK_INNER=1 XS2S_ROOT=$root XS2S_TMP=$tmp \
		unshare --net --mount --propagation private -- "$0" "$build"
	exit
fi

root=$XS2S_ROOT
tmp=$XS2S_TMP
unit=$root/etc/systemd/system/xs2sd.service
pid=
fail() {
	echo "install-check: $*" >&2
	[ -s "$tmp/xs2sd.log" ] && tail -n 20 "$tmp/xs2sd.log" >&2
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	exit 1
}

ip link set lo up
mount -t overlay overlay -o "lowerdir=$root/etc:/etc" /etc
mount --bind "$root/usr/local" /usr/local
mount -t tmpfs -o mode=0755 tmpfs /run
install -d -m 0750 -o nobody -g nogroup /run/xs2s    # RuntimeDirectory=xs2s, RuntimeDirectoryMode=0750

if command -v systemd-analyze >/dev/null; then
	echo "== systemd-analyze verify $unit"
	# The unit's User=xs2s does not exist here: that warning is expected.
	systemd-analyze verify "$unit" 2>&1 | grep -v "xs2s.*user\|User=" || true
fi

execstart=$(sed -n 's/^ExecStart=//p' "$unit")
[ -n "$execstart" ] || fail "no ExecStart in $unit"
grep -qx 'AmbientCapabilities=CAP_NET_BIND_SERVICE' "$unit" || fail "unit: AmbientCapabilities is not CAP_NET_BIND_SERVICE"
grep -qx 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE' "$unit" || fail "unit: CapabilityBoundingSet is not CAP_NET_BIND_SERVICE"
echo "== as the unit starts it (user nobody, CAP_NET_BIND_SERVICE only, no new privileges): $execstart"
# shellcheck disable=SC2086 # ExecStart is a command line
setpriv --reuid=nobody --regid=nogroup --clear-groups --no-new-privs \
	--bounding-set=-all,+net_bind_service --inh-caps=-all,+net_bind_service \
	--ambient-caps=-all,+net_bind_service -- $execstart >"$tmp/xs2sd.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
	[ -S /run/xs2s/admin.sock ] && grep -q ' 00000000:1495 00000000:0000 0A ' /proc/net/tcp && break  # 0.0.0.0:5269 LISTEN
	kill -0 "$pid" 2>/dev/null || fail "xs2sd exited at start"
	sleep 0.1
done
[ -S /run/xs2s/admin.sock ] || fail "no admin socket /run/xs2s/admin.sock"
grep -q ' 00000000:1495 00000000:0000 0A ' /proc/net/tcp || fail "not listening on 0.0.0.0:5269"
echo "== running as $(ps -o user= -p "$pid"), capabilities: $(grep -E '^Cap(Eff|Bnd|Amb)' /proc/$pid/status | tr -s '\t\n' '  ')"
grep -q '^CapEff:[[:space:]]*0000000000000400$' "/proc/$pid/status" || fail "effective capabilities are not CAP_NET_BIND_SERVICE alone"
echo "== xs2sctl status (the installed xs2sctl, its default admin socket)"
/usr/local/bin/xs2sctl status | head -n 3
kill -HUP "$pid"
for _ in $(seq 50); do grep -q 'reloaded certificate' "$tmp/xs2sd.log" && break; sleep 0.1; done
grep -q 'reloaded certificate' "$tmp/xs2sd.log" || fail "no reload after SIGHUP"
echo "== SIGHUP: $(grep -o 'tls: reloaded.*' "$tmp/xs2sd.log")"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" = 0 ] || fail "exit status $rc after SIGTERM"
echo "== SIGTERM: exit status 0; log:"
sed 's/^/   /' "$tmp/xs2sd.log"
