# palisaded: the node agent (agent/daemon/). Included from the Makefile (`-include mk/daemon.mk`);
# standalone: make -f Makefile -f mk/daemon.mk build/palisaded
#
# The pure parts (cfg_*, log_*, http_*, metrics_*, debounce_*) need only libc, libyaml and the
# core library, so the unit-test binary can link them; everything else needs libnl-route-3.

DAEMON_SRCS  := $(sort $(wildcard agent/daemon/*.c))
DAEMON_OBJS  := $(DAEMON_SRCS:%.c=$(BUILD)/obj/%.o)
DAEMON_PURE  := $(sort $(wildcard agent/daemon/cfg_*.c agent/daemon/log_*.c agent/daemon/http_*.c \
                                  agent/daemon/metrics_*.c agent/daemon/debounce_*.c))
NL_CFLAGS    := $(shell pkg-config --cflags libnl-route-3.0 2>/dev/null || echo -I/usr/include/libnl3)
NL_LIBS      := $(shell pkg-config --libs libnl-route-3.0 2>/dev/null || echo -lnl-route-3 -lnl-3)

.PHONY: palisaded test-daemon

palisaded: $(BUILD)/palisaded ## build the node agent

$(DAEMON_OBJS): CFLAGS_COMMON += -Iagent/daemon $(NL_CFLAGS)
$(DAEMON_OBJS:%.o=$(BUILD)/san/%.o): CFLAGS_COMMON += -Iagent/daemon $(NL_CFLAGS)

$(BUILD)/palisaded: $(DAEMON_OBJS) $(BUILD)/libpalisade-core.a
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS_CORE) $(NL_LIBS)

test-daemon: $(BUILD)/palisaded ## palisaded process tests (root; null datapath backend)
	PALISADED=$(abspath $(BUILD)/palisaded) tests/daemon/run.sh
