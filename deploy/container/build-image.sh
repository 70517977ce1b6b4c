#!/usr/bin/env bash
# build-image.sh: builds the palisade image from source (`make image` runs it from the top of the
# tree; docs/kubernetes.md). Settings from the environment (the Makefile passes them):
#   IMAGE            the tag to build (palisade:VERSION)
#   BASE_IMAGE       the Debian 12 image both stages start from
#                    (default docker.io/library/debian:bookworm-slim)
#   IMAGE_TOOL       buildah (default), podman or docker
#   IMAGE_ISOLATION  buildah/podman RUN isolation: chroot (default; works where the OCI runtime
#                    cannot create containers, e.g. hosts with hybrid cgroups) or oci
#   LOCAL_BASE       the image made from a debootstrap of Debian 12 when BASE_IMAGE can be
#                    neither found locally nor pulled (default localhost/palisade-base:bookworm)
# Steps: stage the host's apt configuration into the build context (build/image-apt), make sure
# a base image exists (local, pulled, or debootstrapped), build deploy/container/Containerfile.
set -euo pipefail

IMAGE=${IMAGE:?IMAGE not set (make image sets it)}
BASE_IMAGE=${BASE_IMAGE:-docker.io/library/debian:bookworm-slim}
IMAGE_TOOL=${IMAGE_TOOL:-buildah}
IMAGE_ISOLATION=${IMAGE_ISOLATION:-chroot}
LOCAL_BASE=${LOCAL_BASE:-localhost/palisade-base:bookworm}
STAGE=build/image-apt

say() { printf 'image: %s\n' "$*" >&2; }
die() { printf 'image: error: %s\n' "$*" >&2; exit 1; }

command -v "$IMAGE_TOOL" >/dev/null ||
	die "$IMAGE_TOOL not found: \`make image-deps\` installs buildah and debootstrap (Debian 12)"

# The host's apt sources and Acquire settings (proxy, snapshot mirrors' Check-Valid-Until), as
# an apt.conf that apt-install.sh points APT_CONFIG at inside the build. Empty when the host has
# no apt: the image's own sources are used then.
stage_apt_config() {
	local f n=0
	rm -rf "$STAGE"
	mkdir -p "$STAGE/sources-parts"
	: >"$STAGE/apt.conf"
	command -v apt-config >/dev/null || return 0
	[ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$STAGE/sources.list" && n=1
	for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		cp "$f" "$STAGE/sources-parts/"
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] || return 0
	{
		echo 'Dir::Etc::SourceList "/tmp/host-apt/sources.list";'
		echo 'Dir::Etc::SourceParts "/tmp/host-apt/sources-parts";'
		apt-config dump | grep -E '^Acquire::([A-Za-z]+::)?(Proxy|Check-Valid-Until|Check-Date)' || true
	} >"$STAGE/apt.conf"
	say "apt inside the build uses the host's sources: $(cd "$STAGE" && find . -type f ! -name apt.conf | tr '\n' ' ')"
}

image_exists() {
	case "$IMAGE_TOOL" in
	buildah) buildah inspect --type image "$1" >/dev/null 2>&1 ;;
	podman) podman image exists "$1" ;;
	*) "$IMAGE_TOOL" image inspect "$1" >/dev/null 2>&1 ;;
	esac
}

# The Debian mirror the host's apt uses for bookworm (its first one), and its proxy.
host_mirror() {
	apt-get indextargets --format '$(REPO_URI) $(CODENAME)' 2>/dev/null |
		awk '$2 == "bookworm" && $1 !~ /security/ { print $1; exit }'
}

# A minimal Debian 12 (debootstrap --variant=minbase from the host's mirror) imported as
# LOCAL_BASE: the offline replacement for the registry's debian image.
make_local_base() {
	local mirror proxy root ctr
	[ "$(id -u)" = 0 ] || die "creating the local base image needs root (debootstrap)"
	command -v debootstrap >/dev/null || die "debootstrap not found: \`make image-deps\`"
	mirror=$(host_mirror)
	[ -n "$mirror" ] || die "no Debian 12 (bookworm) source in the host's apt configuration"
	proxy=$(apt-config dump | sed -n 's/^Acquire::http::Proxy "\(.*\)";$/\1/p' | head -n1)
	root=$(mktemp -d /tmp/palisade-base.XXXXXX)
	say "debootstrap Debian 12 minbase from $mirror${proxy:+ via $proxy}"
	http_proxy=${proxy:-${http_proxy:-}} debootstrap --variant=minbase bookworm "$root/rootfs" \
		"$mirror" >"$root/debootstrap.log" 2>&1 ||
		die "debootstrap failed (log kept in $root): $(tail -n 5 "$root/debootstrap.log")"
	rm -rf "$root"/rootfs/var/cache/apt/archives/*.deb "$root"/rootfs/var/lib/apt/lists/*
	tar -C "$root/rootfs" -cf "$root/rootfs.tar" .
	case "$IMAGE_TOOL" in
	buildah)
		ctr=$(buildah from scratch)
		buildah add "$ctr" "$root/rootfs.tar" / >/dev/null
		buildah config --cmd /bin/bash "$ctr"
		buildah commit -q "$ctr" "$LOCAL_BASE" >/dev/null
		buildah rm "$ctr" >/dev/null
		;;
	*) "$IMAGE_TOOL" import --change 'CMD ["/bin/bash"]' "$root/rootfs.tar" "$LOCAL_BASE" >/dev/null ;;
	esac
	rm -rf "$root"
	say "created $LOCAL_BASE"
}

# Prints the base image to build from: BASE_IMAGE if present or pullable, else LOCAL_BASE
# (created on first use, reused afterwards).
resolve_base() {
	if image_exists "$BASE_IMAGE"; then
		echo "$BASE_IMAGE"
	elif timeout 120 "$IMAGE_TOOL" pull -q "$BASE_IMAGE" >/dev/null 2>&1; then
		echo "$BASE_IMAGE"
	else
		say "cannot pull $BASE_IMAGE (offline?): building from a local Debian 12 base"
		image_exists "$LOCAL_BASE" || make_local_base
		echo "$LOCAL_BASE"
	fi
}

main() {
	local base start opts=()
	start=$(date +%s)
	stage_apt_config
	base=$(resolve_base)
	case "$IMAGE_TOOL" in
	buildah | podman) opts=(--isolation "$IMAGE_ISOLATION" --layers) ;;
	esac
	say "building $IMAGE from $base with $IMAGE_TOOL"
	# --network host: apt-get reaches the mirror exactly as the host does.
	"$IMAGE_TOOL" build "${opts[@]}" --network host --build-arg "BASE_IMAGE=$base" \
		-f deploy/container/Containerfile -t "$IMAGE" .
	say "built $IMAGE in $(($(date +%s) - start)) s"
}

main "$@"
