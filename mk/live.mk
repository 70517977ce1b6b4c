# The live polctl tests: tests/live/pal_program programs a datapath with the agent's library,
# test_agent.sh with palisaded --once; each test in its own network namespace and pin directory
# (root).
.PHONY: test-live
$(BUILD)/pal-program: tests/live/pal_program.c $(BUILD)/libpalisade-dataplane.a $(BUILD)/libpalisade-core.a
	$(CC) $(CFLAGS_COMMON) -I$(BUILD)/bpf $(CFLAGS) -o $@ $< $(BUILD)/libpalisade-dataplane.a \
	  $(BUILD)/libpalisade-core.a -lbpf -lelf -lz $(LIBS_CORE)

test-live: $(BUILD)/polctl $(BUILD)/pal-program $(BUILD)/palisaded ## live polctl commands on a programmed datapath (root)
	POLCTL=$(abspath $(BUILD)/polctl) PAL_PROGRAM=$(abspath $(BUILD)/pal-program) \
	  PALISADED=$(abspath $(BUILD)/palisaded) tests/live/run.sh
