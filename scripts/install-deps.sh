#!/usr/bin/env bash
# Installs the Debian 12 packages palisade builds, tests and runs with. Idempotent; needs root.
# `--list-build` prints only what `make all` needs, one a line (the image's builder stage,
# deploy/container/Containerfile, installs those).
set -euo pipefail
build_packages=(
	build-essential clang llvm pkg-config
	libbpf-dev libelf-dev zlib1g-dev bpftool
	libnl-3-dev libnl-route-3-dev libsystemd-dev
	libyaml-dev libjansson-dev libcurl4-openssl-dev nettle-dev
)
if [ "${1:-}" = --list-build ]; then
	printf '%s\n' "${build_packages[@]}"
	exit 0
fi
packages=(
	"${build_packages[@]}"
	libcriterion-dev
	libclang-rt-14-dev
	openssl
	iproute2 iptables conntrack socat iputils-ping jq curl nftables python3 python3-yaml systemd
	gnuplot-nox ethtool
	qemu-system-x86 busybox-static cpio kmod
)
# The tests run the kubectl on PATH. Debian's kubernetes-client (1.20) conflicts with the
# kubectl package (Kubernetes' own), so it is installed only when no kubectl is there at all.
command -v kubectl >/dev/null 2>&1 || packages+=(kubernetes-client)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#packages[@]} packages present"
	exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
