# The Kubernetes object converter (agent/k8s-convert/, in the core library) names a Calico pod's
# veth with SHA-1: nettle (Debian nettle-dev; libnettle8 is already on every Debian system).
LIBS_CORE += -lnettle
