#!/usr/bin/env bash
# test_image.sh: the image `make image` built (IMAGE) runs: palisaded --version names VERSION,
# polctl answers offline, every shared library resolves, and the tools the manifests run inside it
# are there (iptables-restore for the agent's rules; sh, mountpoint and mount for the bpffs init
# container; sleep for the uninstall DaemonSet). `make test-image` (after `make image`).
set -euo pipefail
IMAGE=${IMAGE:?IMAGE not set}
VERSION=${VERSION:?VERSION not set}
IMAGE_TOOL=${IMAGE_TOOL:-buildah}
IMAGE_ISOLATION=${IMAGE_ISOLATION:-chroot}
fails=0

ctr=""
cleanup() { [ -z "$ctr" ] || buildah rm "$ctr" >/dev/null 2>&1 || true; }
trap cleanup EXIT

# in_image CMD...: runs CMD in a fresh container of IMAGE, output to stdout.
in_image() {
	case "$IMAGE_TOOL" in
	buildah) buildah run --isolation "$IMAGE_ISOLATION" "$ctr" -- "$@" ;;
	*) "$IMAGE_TOOL" run --rm --entrypoint "$1" "$IMAGE" "${@:2}" ;;
	esac
}

check() { # check NAME EXPECTED-REGEX CMD...
	local name=$1 want=$2 out
	shift 2
	if out=$(in_image "$@" 2>&1) && grep -Eq "$want" <<<"$out"; then
		echo "ok   $name"
	else
		echo "FAIL $name: \`$*\` printed:"; sed 's/^/     /' <<<"$out"
		fails=$((fails + 1))
	fi
}

if [ "$IMAGE_TOOL" = buildah ]; then
	ctr=$(buildah from --pull-never "$IMAGE") || { echo "FAIL no image $IMAGE: make image"; exit 1; }
fi
check "palisaded --version is $VERSION" "^palisaded ${VERSION//./\\.}\$" /usr/local/sbin/palisaded --version
check "polctl runs offline" '^match: ' /usr/local/sbin/polctl match 'app == "web"' app=web
check "every library resolves" '^all resolved$' sh -c \
	'ldd /usr/local/sbin/palisaded /usr/local/sbin/polctl | grep "not found" || echo all resolved'
for tool in iptables-restore ip6tables-restore iptables ip6tables sh mountpoint mount sleep; do
	check "$tool present" "/$tool\$" sh -c "command -v $tool"
done
if [ "$IMAGE_TOOL" = buildah ]; then
	entry=$(buildah inspect --type image --format '{{.OCIv1.Config.Entrypoint}}' "$IMAGE")
	if [ "$entry" = '[/usr/local/sbin/palisaded]' ]; then echo "ok   entrypoint"; else
		echo "FAIL entrypoint is $entry"; fails=$((fails + 1)); fi
fi
[ "$fails" -eq 0 ] || { echo "test-image: $fails failed"; exit 1; }
echo "test-image: $IMAGE passed"
