#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Throw-away test PKI for xs2s.
#
#   mkcerts.sh DIR DOMAIN[,ALIAS...]...
#
# Writes DIR/ca.pem + DIR/ca.key (an ECDSA P-256 CA, made once and reused)
# and, per argument, DIR/NAME.pem (leaf only), DIR/NAME.chain.pem (leaf + CA)
# and DIR/NAME.key, where NAME is the first domain of the argument. The leaf
# covers every domain of its argument in subjectAltName (DNS:...), is valid for
# 30 days, ECDSA P-256 / SHA-256, CA:FALSE, EKU serverAuth + clientAuth.
#
# Idempotent: files that are still valid (signed by DIR/ca.pem, same names,
# key matches, more than a day left) are kept. Quiet unless something fails.
set -euo pipefail

usage() {
	echo "usage: $0 DIR DOMAIN[,ALIAS...]..." >&2
	exit 2
}

[ $# -ge 2 ] || usage
dir=$1
shift

for arg in "$@"; do
	if ! [[ $arg =~ ^[A-Za-z0-9.-]+(,[A-Za-z0-9.-]+)*$ ]]; then
		echo "$0: bad domain list '$arg'" >&2
		exit 2
	fi
done

umask 022
mkdir -p "$dir"
work=$(mktemp -d "$dir/.mkcerts.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Run openssl quietly; show its output only when it fails.
ossl() {
	if ! openssl "$@" >"$work/out" 2>&1; then
		echo "$0: openssl $1 failed:" >&2
		cat "$work/out" >&2
		exit 1
	fi
}

cat >"$work/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF

pubkey_of_cert() { openssl x509 -noout -pubkey -in "$1" 2>/dev/null; }
pubkey_of_key() { openssl pkey -pubout -in "$1" 2>/dev/null; }

# ---- CA ---------------------------------------------------------------------
ca_ok() {
	[ -s "$dir/ca.pem" ] && [ -s "$dir/ca.key" ] || return 1
	# Must outlive any leaf we may still issue from it.
	openssl x509 -noout -checkend $((31 * 86400)) -in "$dir/ca.pem" >/dev/null 2>&1 || return 1
	[ "$(pubkey_of_cert "$dir/ca.pem")" = "$(pubkey_of_key "$dir/ca.key")" ] || return 1
}

if ! ca_ok; then
	ossl ecparam -name prime256v1 -genkey -noout -out "$work/ca.key"
	ossl req -new -x509 -config "$work/openssl.cnf" -extensions v3_ca \
		-key "$work/ca.key" -subj "/O=xs2s test/CN=xs2s throw-away test CA" \
		-days 365 -sha256 -out "$work/ca.pem"
	chmod 600 "$work/ca.key"
	mv -f "$work/ca.key" "$dir/ca.key"
	mv -f "$work/ca.pem" "$dir/ca.pem"
fi

# ---- leaves -----------------------------------------------------------------
leaf_ok() { # name want_san
	local name=$1 want=$2 pem=$dir/$1.pem key=$dir/$1.key chain=$dir/$1.chain.pem
	[ -s "$pem" ] && [ -s "$key" ] && [ -s "$chain" ] || return 1
	openssl verify -CAfile "$dir/ca.pem" "$pem" >/dev/null 2>&1 || return 1
	openssl x509 -noout -checkend 86400 -in "$pem" >/dev/null 2>&1 || return 1
	local san
	san=$(openssl x509 -noout -ext subjectAltName -in "$pem" 2>/dev/null | sed -n '2p' | tr -d ' ')
	[ "$san" = "$want" ] || return 1
	[ "$(pubkey_of_cert "$pem")" = "$(pubkey_of_key "$key")" ] || return 1
	cat "$pem" "$dir/ca.pem" | cmp -s - "$chain" || return 1
}

for arg in "$@"; do
	IFS=, read -r -a names <<<"$arg"
	name=${names[0]}
	san=""
	for n in "${names[@]}"; do
		san+="${san:+,}DNS:$n"
	done
	leaf_ok "$name" "$san" && continue

	cat >"$work/leaf.ext" <<EOF
[v3_leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
	ossl ecparam -name prime256v1 -genkey -noout -out "$work/leaf.key"
	ossl req -new -config "$work/openssl.cnf" -key "$work/leaf.key" \
		-subj "/O=xs2s test/CN=$name" -sha256 -out "$work/leaf.csr"
	ossl x509 -req -in "$work/leaf.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
		-set_serial "0x$(openssl rand -hex 16)" -days 30 -sha256 \
		-extfile "$work/leaf.ext" -extensions v3_leaf -out "$work/leaf.pem"
	cat "$work/leaf.pem" "$dir/ca.pem" >"$work/leaf.chain.pem"
	chmod 600 "$work/leaf.key"
	mv -f "$work/leaf.key" "$dir/$name.key"
	mv -f "$work/leaf.pem" "$dir/$name.pem"
	mv -f "$work/leaf.chain.pem" "$dir/$name.chain.pem"
done
