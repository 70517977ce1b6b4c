#!/bin/sh
# runtime-packages.sh BINARY...: the Debian packages holding the shared libraries the binaries
# link against, one a line, so the runtime image installs exactly those (a library added to the
# build needs no edit here). Fails when a library belongs to no package.
set -eu
libs=$(ldd "$@" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u)
for lib in $libs; do
	# Debian 12 is merged-/usr: dpkg may record /lib/X or /usr/lib/X for the file ldd names.
	real=$(readlink -f "$lib")
	pkg=""
	for path in "$lib" "$real" "/usr$lib" "${lib#/usr}" "/usr$real" "${real#/usr}"; do
		pkg=$(dpkg -S "$path" 2>/dev/null | head -n1 | cut -d: -f1) && [ -n "$pkg" ] && break
	done
	[ -n "$pkg" ] || { echo "runtime-packages: no Debian package holds $lib" >&2; exit 1; }
	echo "$pkg"
done | sort -u
