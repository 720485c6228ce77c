#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# xs2s demo: two endpoints, a.test (127.0.0.21) and b.test (127.0.0.22),
# federate over STARTTLS + Server Dialback and exchange one message each way.
#
#   demo.sh BUILD        (BUILD holds xs2sd and xs2sctl; `make demo` calls this)
set -euo pipefail

build=${1:?usage: demo.sh BUILD}
here=$(cd "$(dirname "$0")" && pwd)
xs2sd=$build/xs2sd
xs2sctl=$build/xs2sctl
for prog in "$xs2sd" "$xs2sctl"; do
	[ -x "$prog" ] || { echo "demo: $prog not found (build first)" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/xs2s-demo.XXXXXX")
pids=()
cleanup() {
	local pid i
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# XS2S_DEMO_IP_A / XS2S_DEMO_IP_B move the demo elsewhere (e.g. while another one runs).
declare -A ip=([a.test]=${XS2S_DEMO_IP_A:-127.0.0.21} [b.test]=${XS2S_DEMO_IP_B:-127.0.0.22})
declare -A peer=([a.test]=b.test [b.test]=a.test)
declare -A pid_of

heading() { printf '\n== %s ==\n' "$*"; }

# xs2sctl, bounded: a wedged daemon must not hang the demo.
ctl() { timeout 5 "$xs2sctl" "$@"; }

tail_logs() {
	local d
	for d in a.test b.test; do
		[ -s "$tmp/$d.log" ] || continue
		heading "$d log (last 30 lines)"
		tail -n 30 "$tmp/$d.log"
	done
}

fail() {
	echo "demo: $*" >&2
	tail_logs >&2
	exit 1
}

# Is something listening on IP:PORT? Reads /proc/net/tcp (no probe connection).
listening() {
	local a b c d hex
	IFS=. read -r a b c d <<<"$1"
	hex=$(printf '%02X%02X%02X%02X:%04X' "$d" "$c" "$b" "$a" "$2")
	[ -r /proc/net/tcp ] || return 0
	awk -v want="$hex" '$2 == want && $4 == "0A" { found = 1 } END { exit !found }' /proc/net/tcp
}

start() { # domain
	local d=$1
	"$xs2sd" --domain "$d" --listen "${ip[$d]}:5269" \
		--cert "$tmp/certs/$d.pem" --key "$tmp/certs/$d.key" --ca "$tmp/certs/ca.pem" \
		--host-map "${peer[$d]}=${ip[${peer[$d]}]}:5269" \
		--admin "$tmp/$d.sock" --dialback-secret "$(openssl rand -hex 32)" \
		--tls-policy required --auth dialback --log-level info \
		</dev/null >"$tmp/$d.log" 2>&1 &
	pid_of[$d]=$!
	pids+=("$!")
}

wait_ready() { # domain
	local d=$1 i
	for ((i = 0; i < 100; i++)); do
		kill -0 "${pid_of[$d]}" 2>/dev/null || fail "xs2sd for $d exited during start-up"
		if [ -S "$tmp/$d.sock" ] && listening "${ip[$d]}" 5269; then
			return 0
		fi
		sleep 0.1
	done
	fail "xs2sd for $d not ready after 10 s"
}

now_ms() { date +%s%3N; }

echo "xs2s demo: a.test (${ip[a.test]}) <-> b.test (${ip[b.test]}), STARTTLS + dialback (XEP-0220; run xs2sd without --auth for SASL EXTERNAL)"
for d in a.test b.test; do
	! listening "${ip[$d]}" 5269 || fail "${ip[$d]}:5269 is already in use (another demo running?)"
done
"$here/mkcerts.sh" "$tmp/certs" a.test b.test || fail "could not make certificates"
start a.test
start b.test
wait_ready a.test
wait_ready b.test
echo "both endpoints up"

msg_ab="Hello Bob, this is Alice on a.test."
msg_ba="Hi Alice, Bob here on b.test."
ctl --admin "$tmp/a.test.sock" send --from alice@a.test --to bob@b.test --body "$msg_ab" >/dev/null \
	|| fail "a.test refused the message"
ctl --admin "$tmp/b.test.sock" send --from bob@b.test --to alice@a.test --body "$msg_ba" >/dev/null \
	|| fail "b.test refused the message"
echo "sent alice@a.test -> bob@b.test and bob@b.test -> alice@a.test"

# Inboxes drain when read: keep what each poll printed.
: >"$tmp/a.test.inbox"
: >"$tmp/b.test.inbox"
t0=$(now_ms)
got_a=0 got_b=0
while :; do
	if [ $got_b = 0 ]; then
		ctl --admin "$tmp/b.test.sock" inbox 2>/dev/null | grep -v "^(no messages)$" >>"$tmp/b.test.inbox" || true
		grep -qF "$msg_ab" "$tmp/b.test.inbox" && got_b=1
	fi
	if [ $got_a = 0 ]; then
		ctl --admin "$tmp/a.test.sock" inbox 2>/dev/null | grep -v "^(no messages)$" >>"$tmp/a.test.inbox" || true
		grep -qF "$msg_ba" "$tmp/a.test.inbox" && got_a=1
	fi
	[ $got_a = 1 ] && [ $got_b = 1 ] && break
	[ $(($(now_ms) - t0)) -lt 15000 ] || break
	sleep 0.2
done
elapsed=$(($(now_ms) - t0))

for d in a.test b.test; do
	heading "$d status"
	ctl --admin "$tmp/$d.sock" status || echo "(status failed)"
done
for d in a.test b.test; do
	heading "$d inbox"
	if [ -s "$tmp/$d.inbox" ]; then cat "$tmp/$d.inbox"; else echo "(empty)"; fi
done
echo

[ $got_b = 1 ] || fail "bob@b.test did not get Alice's message within 15 s"
[ $got_a = 1 ] || fail "alice@a.test did not get Bob's message within 15 s"
printf 'demo OK: both messages delivered in %d.%03d s\n' $((elapsed / 1000)) $((elapsed % 1000))
