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
#
# Special certificates for tests of the peer certificate checks: an argument
# with a ':' is a spec instead of a domain list,
#
#   mkcerts.sh DIR NAME:OPT[,OPT...]...      (mixable with DOMAIN[,ALIAS...])
#
# which writes DIR/NAME.pem, DIR/NAME.chain.pem (leaf + its issuer; the leaf
# alone for signer=self) and DIR/NAME.key, ECDSA P-256 / SHA-256, CA:FALSE,
# keyUsage digitalSignature. NAME is a file name ([A-Za-z0-9._-]); an empty
# option list ("NAME:") gives the default leaf above. Options, each at most once:
#
#   san=ITEM[+ITEM...]   subjectAltName entries, in this order; ITEM is
#                          dns:NAME     dNSName, wildcards allowed (dns:*.w.test)
#                          srv:SRVNAME  otherName SRVName 1.3.6.1.5.5.7.8.7,
#                                       IA5String (srv:_xmpp-server.a.test)
#                          xmpp:ADDR    otherName id-on-xmppAddr 1.3.6.1.5.5.7.8.5,
#                                       UTF8String (xmpp:a.test)
#                        san=none: no subjectAltName extension at all.
#                        Default: dns:NAME.
#   cn=TEXT              subject commonName (default NAME); the subject is
#                        always /O=xs2s test/CN=TEXT.
#   eku=server+client|server|client|none
#                        extendedKeyUsage (default server+client; none = no
#                        EKU extension).
#   days=N               valid from now (minus a minute) for N days (default 30).
#                        days=-N: expired N days ago (notBefore N+30 days ago,
#                        notAfter N days ago).
#   signer=ca|other|self ca: DIR/ca.pem (default); other: DIR/other-ca.pem +
#                        DIR/other-ca.key, a second CA made once like ca.pem
#                        (only when a spec asks for it) and trusted by nobody
#                        unless a test says so; self: self-signed leaf.
#
# e.g.  mkcerts.sh /tmp/pki b.test wild:san=dns:*.w.test
#       mkcerts.sh /tmp/pki srv-a:san=srv:_xmpp-server.a.test,cn=nobody.invalid
#       mkcerts.sh /tmp/pki old-a:san=dns:a.test,days=-2 self-a:san=dns:a.test,signer=self
#
# Spec certificates are made afresh on every call (cheap), never kept; the CAs
# are kept as above. Values cannot contain ',' (the option separator).
set -euo pipefail

usage() {
	echo "usage: $0 DIR DOMAIN[,ALIAS...]..." >&2
	exit 2
}

[ $# -ge 2 ] || usage
dir=$1
shift

# ---- argument check: every argument before anything is written ----------------
bad_spec() {
	echo "$0: bad certificate spec '$1': $2" >&2
	exit 2
}

# check_spec ARG: validate NAME:OPT[,OPT...] (see the header); sets nothing.
check_spec() {
	local arg=$1 name=${1%%:*} opts=${1#*:} kv k v item seen=" "
	local -a o items
	[[ $name =~ ^[A-Za-z0-9._-]+$ ]] || bad_spec "$arg" "NAME must match [A-Za-z0-9._-]+"
	case $name in ca | other-ca) bad_spec "$arg" "NAME '$name' is reserved for a CA" ;; esac
	[ -n "$opts" ] || return 0
	IFS=, read -r -a o <<<"$opts"
	for kv in "${o[@]}"; do
		k=${kv%%=*}
		v=${kv#*=}
		[ "$k" != "$kv" ] || bad_spec "$arg" "option '$kv' is not KEY=VALUE"
		[[ $seen != *" $k "* ]] || bad_spec "$arg" "option '$k' given twice"
		seen+="$k "
		case $k in
		san)
			[ "$v" = none ] && continue
			IFS=+ read -r -a items <<<"$v"
			[ ${#items[@]} -gt 0 ] || bad_spec "$arg" "san= is empty"
			for item in "${items[@]}"; do
				[[ $item =~ ^dns:[A-Za-z0-9*.-]+$ || $item =~ ^srv:[A-Za-z0-9_.-]+$ ||
					$item =~ ^xmpp:[A-Za-z0-9_.@/-]+$ ]] ||
					bad_spec "$arg" "san item '$item' (dns:NAME, srv:SRVNAME or xmpp:ADDR)"
			done
			;;
		cn) [[ $v =~ ^[A-Za-z0-9*_.-]+$ ]] || bad_spec "$arg" "cn must match [A-Za-z0-9*_.-]+" ;;
		eku) [[ $v =~ ^(server\+client|client\+server|server|client|none)$ ]] ||
			bad_spec "$arg" "eku is server+client, server, client or none" ;;
		days) [[ $v =~ ^-?[1-9][0-9]{0,4}$ ]] || bad_spec "$arg" "days is a non-zero integer" ;;
		signer) [[ $v =~ ^(ca|other|self)$ ]] || bad_spec "$arg" "signer is ca, other or self" ;;
		*) bad_spec "$arg" "unknown option '$k' (san, cn, eku, days, signer)" ;;
		esac
	done
}

for arg in "$@"; do
	if [[ $arg == *:* ]]; then
		check_spec "$arg"
	elif ! [[ $arg =~ ^[A-Za-z0-9.-]+(,[A-Za-z0-9.-]+)*$ ]]; then
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

# The second CA (signer=other), made only when a spec asks for it.
other_ca_ok() {
	[ -s "$dir/other-ca.pem" ] && [ -s "$dir/other-ca.key" ] || return 1
	openssl x509 -noout -checkend $((31 * 86400)) -in "$dir/other-ca.pem" >/dev/null 2>&1 || return 1
	[ "$(pubkey_of_cert "$dir/other-ca.pem")" = "$(pubkey_of_key "$dir/other-ca.key")" ] || return 1
}

for arg in "$@"; do
	[[ $arg == *:* && ,${arg#*:}, == *,signer=other,* ]] || continue
	other_ca_ok && break
	ossl ecparam -name prime256v1 -genkey -noout -out "$work/other-ca.key"
	ossl req -new -x509 -config "$work/openssl.cnf" -extensions v3_ca \
		-key "$work/other-ca.key" -subj "/O=xs2s test/CN=xs2s throw-away other CA" \
		-days 365 -sha256 -out "$work/other-ca.pem"
	chmod 600 "$work/other-ca.key"
	mv -f "$work/other-ca.key" "$dir/other-ca.key"
	mv -f "$work/other-ca.pem" "$dir/other-ca.pem"
	break
done

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
	[[ $arg == *:* ]] && continue # specs: below
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

# ---- spec certificates (NAME:OPT,...) -----------------------------------------
# Issued with 'openssl ca', which (unlike 'openssl x509 -req' in OpenSSL 3.0)
# can set both validity dates, so an expired leaf needs no faked clock.
asn1time() { date -u -d "@$1" +%Y%m%d%H%M%SZ; } # openssl ca picks UTCTime before 2050

for arg in "$@"; do
	[[ $arg == *:* ]] || continue
	name=${arg%%:*}
	san="dns:$name" cn=$name eku=server+client days=30 signer=ca
	if [ -n "${arg#*:}" ]; then
		IFS=, read -r -a opts <<<"${arg#*:}"
		for kv in "${opts[@]}"; do
			printf -v "${kv%%=*}" '%s' "${kv#*=}" # names checked by check_spec
		done
	fi

	ext="basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash"
	[ "$signer" = self ] || ext+="
authorityKeyIdentifier = keyid:always"
	case $eku in
	server+client | client+server) ext+="
extendedKeyUsage = serverAuth, clientAuth" ;;
	server) ext+="
extendedKeyUsage = serverAuth" ;;
	client) ext+="
extendedKeyUsage = clientAuth" ;;
	esac
	if [ "$san" != none ]; then
		alt=""
		IFS=+ read -r -a items <<<"$san"
		for item in "${items[@]}"; do
			case $item in
			dns:*) alt+="${alt:+, }DNS:${item#dns:}" ;;
			srv:*) alt+="${alt:+, }otherName:1.3.6.1.5.5.7.8.7;IA5STRING:${item#srv:}" ;;
			xmpp:*) alt+="${alt:+, }otherName:1.3.6.1.5.5.7.8.5;UTF8:${item#xmpp:}" ;;
			esac
		done
		ext+="
subjectAltName = $alt"
	fi
	printf '[v3_leaf]\n%s\n' "$ext" >"$work/leaf.ext"

	now=$(date -u +%s)
	if [ "$days" -gt 0 ]; then
		start=$((now - 60)) end=$((now + days * 86400))
	else
		start=$((now + (days - 30) * 86400)) end=$((now + days * 86400))
	fi
	case $signer in
	ca) ca_pem=$dir/ca.pem ca_key=$dir/ca.key ;;
	other) ca_pem=$dir/other-ca.pem ca_key=$dir/other-ca.key ;;
	self) ca_pem="" ca_key=$work/leaf.key ;;
	esac

	rm -rf "$work/ca-db"
	mkdir "$work/ca-db"
	: >"$work/ca-db/index.txt"
	openssl rand -hex 16 >"$work/ca-db/serial"
	cat >"$work/ca.cnf" <<EOF
[ca]
default_ca = leafca
[leafca]
database = $work/ca-db/index.txt
new_certs_dir = $work/ca-db
serial = $work/ca-db/serial
default_md = sha256
policy = any
unique_subject = no
email_in_dn = no
[any]
organizationName = optional
commonName = supplied
EOF
	ossl ecparam -name prime256v1 -genkey -noout -out "$work/leaf.key"
	ossl req -new -config "$work/openssl.cnf" -key "$work/leaf.key" \
		-subj "/O=xs2s test/CN=$cn" -sha256 -out "$work/leaf.csr"
	if [ "$signer" = self ]; then
		ossl ca -batch -notext -config "$work/ca.cnf" -preserveDN -selfsign \
			-keyfile "$ca_key" -in "$work/leaf.csr" \
			-startdate "$(asn1time $start)" -enddate "$(asn1time $end)" \
			-extfile "$work/leaf.ext" -extensions v3_leaf -out "$work/leaf.pem"
		cp "$work/leaf.pem" "$work/leaf.chain.pem"
	else
		ossl ca -batch -notext -config "$work/ca.cnf" -preserveDN \
			-cert "$ca_pem" -keyfile "$ca_key" -in "$work/leaf.csr" \
			-startdate "$(asn1time $start)" -enddate "$(asn1time $end)" \
			-extfile "$work/leaf.ext" -extensions v3_leaf -out "$work/leaf.pem"
		cat "$work/leaf.pem" "$ca_pem" >"$work/leaf.chain.pem"
	fi
	chmod 600 "$work/leaf.key"
	mv -f "$work/leaf.key" "$dir/$name.key"
	mv -f "$work/leaf.pem" "$dir/$name.pem"
	mv -f "$work/leaf.chain.pem" "$dir/$name.chain.pem"
done
