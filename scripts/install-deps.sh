#!/usr/bin/env bash
# Installs the Debian 12 packages palisade builds, tests and runs with. Idempotent; needs root.
set -euo pipefail
packages=(
	build-essential clang llvm pkg-config
	libbpf-dev libelf-dev zlib1g-dev bpftool
	libnl-3-dev libnl-route-3-dev libsystemd-dev
	libyaml-dev libjansson-dev libcriterion-dev
	libclang-rt-14-dev
	iproute2 iptables conntrack socat iputils-ping jq curl nftables python3 systemd
	gnuplot-nox ethtool
)
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
