# polctl's live commands (tools/polctl/live*.c, cmd_status.c, ...) read the pinned datapath with
# libbpf, the reporting metadata of agent/dataplane/meta*.c and the library's map readers
# (agent/dataplane/map_read.c: counters, flows). Included by the Makefile
# (-include mk/*.mk). This adds to the Makefile's polctl rule rather than replacing it: extra
# prerequisites (those objects) and, for this target only, libbpf and a second copy of
# the core library after them (the objects come after libpalisade-core.a in $^, and a static
# library only resolves symbols of what precedes it). Fold into the Makefile's rule when
# convenient and delete this file.
POLCTL_META_OBJS := $(BUILD)/obj/agent/dataplane/meta.o $(BUILD)/obj/agent/dataplane/meta_json.o \
                    $(BUILD)/obj/agent/dataplane/map_read.o

$(BUILD)/polctl: $(POLCTL_META_OBJS)
$(BUILD)/polctl: LIBS_CORE := $(BUILD)/libpalisade-core.a -lbpf -lelf -lz $(LIBS_CORE)

# The live polctl tests: tests/live/pal_program programs a datapath with the agent's library,
# test_agent.sh with palisaded --once; each test in its own network namespace and pin directory
# (root).
.PHONY: test-live
$(BUILD)/pal-program: tests/live/pal_program.c $(BUILD)/libpalisade-dataplane.a $(BUILD)/libpalisade-core.a
	$(CC) $(CFLAGS_COMMON) -I$(BUILD)/bpf $(CFLAGS) -o $@ $< $(BUILD)/libpalisade-dataplane.a \
	  $(BUILD)/libpalisade-core.a -lbpf -lelf -lz -lyaml -ljansson

test-live: $(BUILD)/polctl $(BUILD)/pal-program $(BUILD)/palisaded ## live polctl commands on a programmed datapath (root)
	POLCTL=$(abspath $(BUILD)/polctl) PAL_PROGRAM=$(abspath $(BUILD)/pal-program) \
	  PALISADED=$(abspath $(BUILD)/palisaded) tests/live/run.sh
