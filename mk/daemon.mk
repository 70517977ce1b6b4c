# palisaded: the node agent (agent/daemon/). Included by the Makefile (-include mk/*.mk).
#
# Its pure helpers (agent/daemonlib/: libc, libyaml and the core only) are built into
# libpalisade-core.a by the Makefile, so the unit tests link them; agent/daemon/ needs
# libnl-route-3 and is linked here.

# The Kubernetes client (agent/k8s/; its converter, agent/k8s-convert/, is in the core library)
# is palisaded's only; it needs libcurl.
K8S_SRCS      := $(wildcard agent/k8s/*.c)
DAEMON_SRCS   := $(sort $(wildcard agent/daemon/*.c) $(K8S_SRCS))
DAEMON_OBJS   := $(DAEMON_SRCS:%.c=$(BUILD)/obj/%.o)
DAEMON_SANOBJ := $(DAEMON_SRCS:%.c=$(BUILD)/san/%.o)
NL_CFLAGS     := $(shell pkg-config --cflags libnl-route-3.0 2>/dev/null || echo -I/usr/include/libnl3)
NL_LIBS       := $(shell pkg-config --libs libnl-route-3.0 2>/dev/null || echo -lnl-route-3 -lnl-3)
# sd_notify (notify.c): READY=1 for a Type=notify systemd unit.
SD_LIBS       := $(shell pkg-config --libs libsystemd 2>/dev/null || echo -lsystemd)
CURL_LIBS     := $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)

.PHONY: palisaded test-daemon test-daemon-san

palisaded: $(BUILD)/palisaded ## build the node agent

$(DAEMON_OBJS) $(DAEMON_SANOBJ): CFLAGS_COMMON += $(NL_CFLAGS)

# The bpf backend (backend_bpf.c) links the datapath library of mk/bpf.mk before the core.
$(BUILD)/palisaded: $(DAEMON_OBJS) $(BUILD)/libpalisade-dataplane.a $(BUILD)/libpalisade-core.a
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS_BPF) $(LIBS_CORE) $(NL_LIBS) $(SD_LIBS) $(CURL_LIBS)

test-daemon: $(BUILD)/palisaded $(BUILD)/polctl ## palisaded process tests (root; null datapath backend)
	PALISADED=$(abspath $(BUILD)/palisaded) POLCTL=$(abspath $(BUILD)/polctl) tests/daemon/run.sh

# The same agent under ASan+UBSan: the process tests then also catch leaks (a leak turns the
# exit code into 23, and every test checks exit codes).
$(BUILD)/palisaded-san: $(DAEMON_SANOBJ) $(DP_SANOBJ) $(BUILD)/libpalisade-core-san.a
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LIBS_BPF) $(LIBS_CORE) $(NL_LIBS) $(SD_LIBS) $(CURL_LIBS)

test-daemon-san: $(BUILD)/palisaded-san $(BUILD)/polctl ## palisaded process tests under ASan and UBSan
	ASAN_OPTIONS=detect_leaks=1 PALISADED=$(abspath $(BUILD)/palisaded-san) \
	  POLCTL=$(abspath $(BUILD)/polctl) tests/daemon/run.sh
