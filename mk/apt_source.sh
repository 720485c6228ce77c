#!/bin/sh
# SPDX-License-Identifier: MIT
# Unpack a Debian source package (Debian's patches applied) for the build.
#
#   apt_source.sh PACKAGE DIR
#
# Runs `apt-get source PACKAGE` in DIR and links DIR/PACKAGE to the unpacked
# PACKAGE-<version>/ tree. apt-get source needs a deb-src entry: when none
# exists, one is added (/etc/apt/sources.list.d/xs2s-src.sources, the same
# archives as /etc/apt/sources.list.d/debian.sources) and the lists updated,
# as port/wolfssl/wolfssl.mk and port/lwip/lwip.mk do.
set -eu

pkg=${1:?usage: apt_source.sh PACKAGE DIR}
dir=${2:?usage: apt_source.sh PACKAGE DIR}
src_list=/etc/apt/sources.list.d/xs2s-src.sources

mkdir -p "$dir"
if ! grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	echo "  APT     no deb-src entry: adding $src_list and running apt-get update"
	sed -n 's/^Types: *deb *$/Types: deb-src/p; /^\(URIs\|Suites\|Components\|Signed-By\):/p; /^$/p' \
		/etc/apt/sources.list.d/debian.sources >"$src_list.tmp"
	mv "$src_list.tmp" "$src_list"
	apt-get update -qq
fi
echo "  APT     apt-get source $pkg (into $dir)"
cd "$dir"
rm -rf "$pkg" "$pkg"-[0-9]*
if ! apt-get source -qq "$pkg" >/dev/null 2>"apt-source-$pkg.log"; then
	cat "apt-source-$pkg.log" >&2
	exit 1
fi
d=$(ls -d "$pkg"-[0-9]*/ | head -n1)
ln -sfn "${d%/}" "$pkg"
echo "  SRC     $dir/${d%/} (Debian patches applied)"
