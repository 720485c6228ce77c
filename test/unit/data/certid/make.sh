#!/bin/sh
# Regenerate the DER certificates that test/unit/test_certid.c reads.
# Self-signed EC P-256 certificates: only their DER structure matters (the
# tests never verify signatures). Needs the openssl CLI (3.x); run from anywhere:
#   test/unit/data/certid/make.sh
# The .der files are committed, so the unit test does not need openssl.
set -eu
out=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

XMPPADDR=1.3.6.1.5.5.7.8.5   # id-on-xmppAddr, [0] EXPLICIT UTF8String
SRVNAME=1.3.6.1.5.5.7.8.7    # id-on-dnsSRV (SRVName), [0] EXPLICIT IA5String

# cert NAME SUBJECT [+EXTENSION-LINE] [SAN-LINE...]: SUBJECT is "CN = x" or
# "O = y"; a "+" line goes into the [ext] section; each SAN line goes into an
# [alt] section ("DNS.1 = a.test"), so values may hold commas
# (FORMAT:UTF8,UTF8:... keeps UTF-8 input as UTF-8).
cert() {
	name=$1 subject=$2 ext="subjectKeyIdentifier = none"
	shift 2
	case ${1-} in +*) ext=${1#+}; shift ;; esac
	{
		printf '[req]\ndistinguished_name = dn\nprompt = no\nutf8 = yes\n'
		printf 'x509_extensions = ext\n[dn]\n%s\n[ext]\n' "$subject"
		printf 'authorityKeyIdentifier = none\n%s\n' "$ext"
		if [ $# -gt 0 ]; then
			printf 'subjectAltName = @alt\n[alt]\n'
			printf '%s\n' "$@"
		fi
	} >"$tmp/$name.cnf"
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$tmp/$name.key" -config "$tmp/$name.cnf" -days 3650 \
		-outform DER -out "$out/$name.der" 2>/dev/null
	echo "  $name.der"
}

cert dns "O = xs2s test" "DNS.1 = dns.test"
cert wildcard "O = xs2s test" "DNS.1 = *.example.test"
cert srv "O = xs2s test" "otherName.1 = $SRVNAME;IA5STRING:_xmpp-server.srv.test"
cert srv-client "O = xs2s test" "otherName.1 = $SRVNAME;IA5STRING:_xmpp-client.srv.test"
cert xmppaddr "O = xs2s test" "otherName.1 = $XMPPADDR;UTF8:xmpp.test"
cert xmppaddr-idn "O = xs2s test" "otherName.1 = $XMPPADDR;FORMAT:UTF8,UTF8:bücher.test"
cert xmppaddr-jid "O = xs2s test" "otherName.1 = $XMPPADDR;UTF8:admin@jid.test" \
	"otherName.2 = $XMPPADDR;UTF8:jid.test/res"
cert wrong "CN = xmpp.test" "DNS.1 = other.test" "otherName.1 = $XMPPADDR;UTF8:other.test" \
	"otherName.2 = $SRVNAME;IA5STRING:_xmpp-server.other.test"
cert cn "CN = CN.Test"
cert cn-ext "CN = cn.test" "+basicConstraints = critical, CA:FALSE"
cert cn-san "CN = cn.test" "DNS.1 = san.test"
cert mixed "CN = mixed.test" "+basicConstraints = critical, CA:FALSE" "email.1 = admin@mixed.test" "DNS.1 = DNS.Mixed.Test" \
	"otherName.1 = $SRVNAME;IA5STRING:_xmpp-server.mixed.test" "IP.1 = 192.0.2.1" \
	"otherName.2 = $XMPPADDR;UTF8:xmpp.mixed.test" "URI.1 = xmpp:mixed.test"
many=""
i=1
while [ $i -le 20 ]; do
	many="$many DNS.$i=n$i.many.test"
	i=$((i + 1))
done
# shellcheck disable=SC2086 # one argument per SAN line
cert many "O = xs2s test" $many
