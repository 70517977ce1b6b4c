# Benchmarks (`make bench-all`, docs/benchmarks.md): one table of ratios and medians measured side by
# side in one run. Included from the Makefile; uses its BUILD, CC, CLANG, CFLAGS_COMMON, CFLAGS and
# mk/bpf.mk's BPF_CFLAGS and LIBS_BPF. Root only: the benchmarks load BPF programs and create
# network namespaces. Not part of `make test`: nothing here asserts a timing.
#
#   $(BUILD)/bench/*.bpf.o        baselines: a bare XDP_DROP, a linear rule scan
#   $(BUILD)/bench/bench-classify figure 1 (BPF_PROG_TEST_RUN)
#   $(BUILD)/bench/pktblast ...   traffic generators and helpers for the namespace benchmarks
#   tests/bench/run.sh            runs everything, prints the table (docs/benchmarks.md)

BENCH_DIR  := $(BUILD)/bench
BENCH_BPF  := $(BENCH_DIR)/xdp_drop.bpf.o $(BENCH_DIR)/linear_scan.bpf.o $(BENCH_DIR)/ct_lookup.bpf.o
BENCH_TOOLS := $(BENCH_DIR)/pktblast $(BENCH_DIR)/udpflood $(BENCH_DIR)/udpsink $(BENCH_DIR)/bench-ctl \
               $(BENCH_DIR)/probe

.PHONY: bench-all bench-build

$(BENCH_DIR)/%.bpf.o: tests/bench/%.bpf.c vmlinux/vmlinux.h
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BENCH_DIR)/bench-classify: tests/bench/bench_classify.c $(BUILD)/libpalisade-dataplane.a $(BUILD)/libpalisade-core.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -I$(BUILD)/bpf $(CFLAGS) -o $@ $^ $(LIBS_BPF) $(LIBS_CORE)

$(BENCH_DIR)/bench-ctl: tests/bench/bench_ctl.c $(BUILD)/libpalisade-dataplane.a $(BUILD)/libpalisade-core.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -I$(BUILD)/bpf $(CFLAGS) -o $@ $^ $(LIBS_BPF) $(LIBS_CORE)

# Plain C helpers: no palisade code.
$(BENCH_DIR)/%: tests/bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -o $@ $<

bench-build: $(BENCH_BPF) $(BENCH_DIR)/bench-classify $(BENCH_TOOLS) $(BUILD)/palisaded $(BUILD)/polctl

bench-all: bench-build ## every benchmark of docs/benchmarks.md as one table (root, ~10 minutes)
	@if [ "$$(id -u)" != 0 ]; then echo "bench: FAIL: needs root (BPF programs, network namespaces)" >&2; exit 1; fi
	BUILD=$(abspath $(BUILD)) tests/bench/run.sh
