#!/bin/sh
# apt-install.sh PACKAGE...: installs Debian packages inside an image build, without
# recommends, and leaves no package lists behind. When the build host's apt configuration was
# staged at /tmp/host-apt (apt.conf naming its sources, see build-image.sh), apt uses it instead
# of the image's own, so the build reaches the same mirror and proxy as the host.
set -eu
if [ -s /tmp/host-apt/apt.conf ]; then
	APT_CONFIG=/tmp/host-apt/apt.conf
	export APT_CONFIG
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "$@"
apt-get clean
rm -rf /var/lib/apt/lists/*
