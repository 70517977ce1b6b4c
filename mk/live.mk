# The live polctl tests: tests/live/pal_program programs a datapath with the agent's library,
# test_agent.sh with palisaded --once; each test in its own network namespace and pin directory
# (root).
.PHONY: test-live
$(BUILD)/pal-program: tests/live/pal_program.c $(BUILD)/libpalisade-dataplane.a $(BUILD)/libpalisade-core.a
	$(CC) $(CFLAGS_COMMON) -I$(BUILD)/bpf $(CFLAGS) -o $@ $< $(BUILD)/libpalisade-dataplane.a \
	  $(BUILD)/libpalisade-core.a -lbpf -lelf -lz $(LIBS_CORE)

# A test-only program pinned in place of the INPUT program (test_trace_disagree.sh).
$(BUILD)/tests/trace_liar.bpf.o: tests/live/trace_liar.bpf.c $(BPF_HDRS) vmlinux/vmlinux.h
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

test-live: $(BUILD)/polctl $(BUILD)/pal-program $(BUILD)/palisaded $(BUILD)/tests/trace_liar.bpf.o ## live polctl commands on a programmed datapath (root)
	POLCTL=$(abspath $(BUILD)/polctl) PAL_PROGRAM=$(abspath $(BUILD)/pal-program) \
	  PALISADED=$(abspath $(BUILD)/palisaded) TRACE_LIAR=$(abspath $(BUILD)/tests/trace_liar.bpf.o) \
	  tests/live/run.sh
