#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Federate two xs2sd builds (e.g. lean wolfSSL against the system one) and
# print their TLS arena figures.
#
#   federate.sh BUILD_A BUILD_B [AUTH]
#
# a.test runs BUILD_A/xs2sd on ${XS2S_FED_IP_A:-127.0.0.61}, b.test runs
# BUILD_B/xs2sd on ${XS2S_FED_IP_B:-127.0.0.62}; AUTH is xs2sd's --auth
# (default sasl-external,dialback). One message each way, then, per side:
# the arena after the two contexts, the arena with the links idle and
# authenticated, the arena's peak and each link's own peak (status JSON:
# pools.tls_arena, links[].tls_arena_high). Exit 1 if a message is lost.
# XS2S_FED_RSA=1: b.test gets an RSA-2048 certificate from an RSA-4096 CA
# (both sides trust both CAs), so a.test verifies RSA signatures.
# XS2S_FED_EKU_SERVER=1: b.test's certificate names serverAuth only (a.test
# must still accept it from b.test as a TLS client: cert=valid, sasl-external).
set -euo pipefail

build_a=${1:?usage: federate.sh BUILD_A BUILD_B [AUTH]}
build_b=${2:?usage: federate.sh BUILD_A BUILD_B [AUTH]}
auth=${3:-sasl-external,dialback}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
declare -A ip=([a.test]=${XS2S_FED_IP_A:-127.0.0.61} [b.test]=${XS2S_FED_IP_B:-127.0.0.62})
declare -A build=([a.test]=$build_a [b.test]=$build_b)
declare -A peer=([a.test]=b.test [b.test]=a.test)
declare -A pid_of
pids=()
tmp=$(mktemp -d "${TMPDIR:-/tmp}/xs2s-fed.XXXXXX")
cleanup() {
	local pid i
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do
		for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	[ -n "${XS2S_FED_KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
ctl() { local d=$1; shift; timeout 5 "${build[$d]}/xs2sctl" --admin "$tmp/$d.sock" "$@"; }

"$top/test/tools/mkcerts.sh" "$tmp/certs" a.test b.test
[ -z "${XS2S_FED_EKU_SERVER:-}" ] || "$top/test/tools/mkcerts.sh" "$tmp/certs" b.test:eku=server
if [ -n "${XS2S_FED_RSA:-}" ]; then
	c=$tmp/certs
	openssl req -x509 -newkey rsa:4096 -nodes -keyout "$c/rsa-ca.key" -out "$c/rsa-ca.pem" -days 2 \
		-subj "/O=xs2s test/CN=RSA test CA" -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -keyout "$c/b.test.key" -out "$c/b.csr" -subj "/O=xs2s test/CN=b.test" 2>/dev/null
	printf 'subjectAltName=DNS:b.test\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n' >"$c/b.ext"
	openssl x509 -req -in "$c/b.csr" -CA "$c/rsa-ca.pem" -CAkey "$c/rsa-ca.key" -CAcreateserial -days 2 \
		-sha256 -extfile "$c/b.ext" -out "$c/b.test.pem" 2>/dev/null
	cat "$c/rsa-ca.pem" >>"$c/ca.pem"
fi
for d in a.test b.test; do
	"${build[$d]}/xs2sd" --domain "$d" --listen "${ip[$d]}:5269" \
		--cert "$tmp/certs/$d.pem" --key "$tmp/certs/$d.key" --ca "$tmp/certs/ca.pem" \
		--host-map "${peer[$d]}=${ip[${peer[$d]}]}:5269" --admin "$tmp/$d.sock" \
		--auth "$auth" --log-level info </dev/null >"$tmp/$d.log" 2>&1 &
	pid_of[$d]=$!
	pids+=("$!")
done
for d in a.test b.test; do
	for ((i = 0; i < 100; i++)); do [ -S "$tmp/$d.sock" ] && break; sleep 0.1; done
	[ -S "$tmp/$d.sock" ] || { echo "federate: $d did not start" >&2; cat "$tmp/$d.log" >&2; exit 1; }
done
sleep 0.3
ctl a.test send --from alice@a.test --to bob@b.test --body "lean to system" >/dev/null
ctl b.test send --from bob@b.test --to alice@a.test --body "system to lean" >/dev/null
ok_a=0 ok_b=0
for ((i = 0; i < 75; i++)); do
	[ $ok_b = 1 ] || { ctl b.test inbox 2>/dev/null | grep -q "lean to system" && ok_b=1; } || true
	[ $ok_a = 1 ] || { ctl a.test inbox 2>/dev/null | grep -q "system to lean" && ok_a=1; } || true
	[ $ok_a = 1 ] && [ $ok_b = 1 ] && break
	sleep 0.2
done
sleep 0.5 # let both sides settle to idle
for d in a.test b.test; do
	echo "== $d (${build[$d]}/xs2sd, $(ldd "${build[$d]}/xs2sd" | grep -q libwolfssl && echo 'system libwolfssl' || echo 'static lean libwolfssl'))"
	ctl "$d" status
	ctl "$d" status --json >"$tmp/$d.json"
	ctx=$(sed -n 's/.*tls: ready.*(\([0-9]*\) used).*/\1/p' "$tmp/$d.log" | head -n1)
	/usr/bin/python3 - "$tmp/$d.json" "${ctx:-0}" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); ctx = int(sys.argv[2]); t = s["pools"]["tls_arena"]
links = [l for l in s["links"] if l["transport"] != "plain"]
n = len(links)
print(f"tls arena: contexts {ctx} B; now {t['used']} B with {n} idle TLS link(s)"
      f" = {(t['used'] - ctx) // max(n, 1)} B per link; arena high {t['high']} B, size {t['size']} B, fails {t['fails']}")
for l in links:
    print(f"  link {l['id']} {l['direction']:3} {l['tls_version']} {l['cipher']} auth={l['auth']} cert={l['cert']} tls_arena_high={l['tls_arena_high']} B")
PY
done
[ $ok_a = 1 ] && [ $ok_b = 1 ] || { echo "federate: message lost (a got: $ok_a, b got: $ok_b)" >&2; tail -n 30 "$tmp"/*.log >&2; exit 1; }
echo "federate OK: both messages delivered"
