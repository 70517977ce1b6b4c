# Benchmarks (`make bench-all`, docs/benchmarks.md): one table of ratios and medians measured side by
# side in one run. Included from the Makefile; uses its BUILD, CC, CLANG, CFLAGS_COMMON, CFLAGS and
# mk/bpf.mk's BPF_CFLAGS and LIBS_BPF. Root only: the benchmarks load BPF programs and create
# network namespaces. Not part of `make test`: nothing here asserts a timing.
#
#   $(BUILD)/bench/*.bpf.o        baselines: a bare XDP_DROP, a linear rule scan
#   $(BUILD)/bench/bench-classify figure 1 (BPF_PROG_TEST_RUN)
#   $(BUILD)/bench/bench-xdp-deny untracked Deny at XDP against a bare XDP_DROP (BPF_PROG_TEST_RUN)
#   $(BUILD)/bench/pktblast ...   traffic generators and helpers for the namespace benchmarks
#   $(BUILD)/bench/livegen        the live-frames generator (figure 7, tests/bench/live.sh)
#   $(BUILD)/bench/abl-*/         the cost model's ablation variants (make bench-cost)
#   tests/bench/run.sh            runs everything, prints the table (docs/benchmarks.md)

BENCH_DIR  := $(BUILD)/bench
BENCH_BPF  := $(BENCH_DIR)/xdp_drop.bpf.o $(BENCH_DIR)/linear_scan.bpf.o $(BENCH_DIR)/ct_lookup.bpf.o \
              $(BENCH_DIR)/livegen.bpf.o $(BENCH_DIR)/tc_drop.bpf.o $(BENCH_DIR)/xdp_pass.bpf.o
BENCH_TOOLS := $(BENCH_DIR)/bench-xdp-deny $(BENCH_DIR)/pktblast $(BENCH_DIR)/udpflood $(BENCH_DIR)/udpsink $(BENCH_DIR)/bench-ctl \
               $(BENCH_DIR)/probe $(BENCH_DIR)/livegen $(BENCH_DIR)/runflood

.PHONY: bench-all bench-build

$(BENCH_DIR)/%.bpf.o: tests/bench/%.bpf.c vmlinux/vmlinux.h
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@
$(BENCH_DIR)/xdp_drop.bpf.o $(BENCH_DIR)/tc_drop.bpf.o $(BENCH_DIR)/xdp_pass.bpf.o: tests/bench/drop_count.h

$(BENCH_DIR)/bench-classify: tests/bench/bench_classify.c tests/bench/bench_setup.c $(BUILD)/libpalisade-dataplane.a $(BUILD)/libpalisade-core.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -I$(BUILD)/bpf $(CFLAGS) -o $@ $^ $(LIBS_BPF) $(LIBS_CORE)

$(BENCH_DIR)/bench-xdp-deny: tests/bench/bench_xdp_deny.c tests/bench/bench_setup.c $(BUILD)/libpalisade-dataplane.a $(BUILD)/libpalisade-core.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -I$(BUILD)/bpf $(CFLAGS) -o $@ $^ $(LIBS_BPF) $(LIBS_CORE)

$(BENCH_DIR)/bench-ctl: tests/bench/bench_ctl.c tests/bench/bench_setup.c $(BUILD)/libpalisade-dataplane.a $(BUILD)/libpalisade-core.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -I$(BUILD)/bpf $(CFLAGS) -o $@ $^ $(LIBS_BPF) $(LIBS_CORE)

# The live-frames generator: libbpf, no palisade code.
$(BENCH_DIR)/livegen: tests/bench/livegen.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -o $@ $< $(LIBS_BPF)

# The deny flood of test_agent_event_flood.sh (BPF_PROG_TEST_RUN on a pinned program): libbpf.
$(BENCH_DIR)/runflood: tests/bench/runflood.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -pthread -o $@ $< $(LIBS_BPF)

# Plain C helpers: no palisade code.
$(BENCH_DIR)/%: tests/bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -o $@ $<

bench-build: $(BENCH_BPF) $(BENCH_DIR)/bench-classify $(BENCH_TOOLS) $(BUILD)/palisaded $(BUILD)/polctl

bench-all: bench-build ## every benchmark as one table, plots in docs/bench (root, ~17 minutes)
	@if [ "$$(id -u)" != 0 ]; then echo "bench: FAIL: needs root (BPF programs, network namespaces)" >&2; exit 1; fi
	BUILD=$(abspath $(BUILD)) BENCH_PLOT_DIR=$(abspath docs/bench) tests/bench/run.sh

.PHONY: bench-live
bench-live: bench-build ## only the live-frames rows (figure 7; DUT ns/packet), plots in build/bench/plots (root, ~8 min)
	@if [ "$$(id -u)" != 0 ]; then echo "bench-live: FAIL: needs root (BPF programs, network namespaces)" >&2; exit 1; fi
	BUILD=$(abspath $(BUILD)) BENCH_ONLY=live BENCH_PLOT_DIR=$(abspath $(BENCH_DIR))/plots tests/bench/run.sh

.PHONY: bench-guard
.PRECIOUS: $(BUILD)/bpf/wl_guard.bpf.o
bench-guard: bench-build $(BUILD)/bpf/wl_guard.bpf.o ## the workload guard's cost on forwarded pod traffic (root, ~1 min)
	@if [ "$$(id -u)" != 0 ]; then echo "bench-guard: FAIL: needs root" >&2; exit 1; fi
	BUILD=$(abspath $(BUILD)) tests/bench/guard.sh $${BENCH_ROUNDS:-5} $${BENCH_SECONDS:-2}

# The cost model's ablation variants (tests/bench/ablate.bpf.c, docs/benchmarks.md "Cost model"):
# bpf/palisade.bpf.c compiled with one step short-circuited, its skeleton, the datapath library's
# datapath.c compiled against that skeleton, and bench-classify linked with it (the archive's own
# datapath.o is then not pulled in). Variant "none" is the unablated program built the same way.
ABLATIONS := none events counters failsafe ct flowins all flowhash clock lifecycle flowcheck memo \
	fwdclass ctmiss ctsnat ctins insert
ABL_DEFS_none :=
ABL_DEFS_events := -DPAL_ABLATE_EVENTS
ABL_DEFS_counters := -DPAL_ABLATE_COUNTERS
ABL_DEFS_failsafe := -DPAL_ABLATE_FAILSAFE
ABL_DEFS_ct := -DPAL_ABLATE_CT
ABL_DEFS_flowins := -DPAL_ABLATE_FLOWINS
ABL_DEFS_all := -DPAL_ABLATE_EVENTS -DPAL_ABLATE_COUNTERS -DPAL_ABLATE_FAILSAFE -DPAL_ABLATE_CT
ABL_DEFS_flowhash := -DPAL_ABLATE_FLOWHASH
ABL_DEFS_clock := -DPAL_ABLATE_CLOCK
ABL_DEFS_lifecycle := -DPAL_ABLATE_LIFECYCLE
ABL_DEFS_flowcheck := -DPAL_ABLATE_FLOWCHECK
ABL_DEFS_memo := -DPAL_ABLATE_MEMO
ABL_DEFS_fwdclass := -DPAL_ABLATE_FWDCLASS
ABL_DEFS_ctmiss := -DPAL_ABLATE_CTMISS
ABL_DEFS_ctsnat := -DPAL_ABLATE_CTSNAT
ABL_DEFS_ctins := -DPAL_ABLATE_CTINS
ABL_DEFS_insert := -DPAL_ABLATE_INSERT
ABL_DEFS_xdppre := -DPAL_ABLATE_XDPPRE
ABL_DEFS_xdpbody := -DPAL_ABLATE_XDPPRE -DPAL_ABLATE_XDPDROP
ABL_DEFS_xdpcls := -DPAL_ABLATE_XDPCLS
ABL_DEFS_xdpfs := -DPAL_ABLATE_XDPFS
ABL_DEFS_xdpdrop := -DPAL_ABLATE_XDPDROP
ABL_DEFS_xdpiface := -DPAL_ABLATE_XDPPRE -DPAL_ABLATE_XDPDROP -DPAL_ABLATE_XDPPARSE
ABL_DEFS_xdpfloor := -DPAL_ABLATE_XDPPRE -DPAL_ABLATE_XDPDROP -DPAL_ABLATE_XDPPARSE -DPAL_ABLATE_XDPIFC
ABL_DEFS_xdpifx := -DPAL_ABLATE_XDPPRE -DPAL_ABLATE_XDPDROP -DPAL_ABLATE_XDPPARSE -DPAL_ABLATE_XDPIFX
# bench-xdp-deny of a variant (the XDP deny's fixed part, by ablation)
ABL_XDP := none xdppre xdpbody xdpcls xdpfs xdpdrop xdpiface xdpifx xdpfloor
# live.sh ablate runs an agent of these only (the flow check's variants are for PROG_TEST_RUN's
# established path: flowhash, for one, answers every flow with one entry)
ABL_LIVE := none events counters failsafe ct flowins all fwdclass ctmiss ctsnat ctins insert
ABL_TOOLS := $(ABLATIONS:%=$(BENCH_DIR)/abl-%/bench-classify) $(ABL_LIVE:%=$(BENCH_DIR)/abl-%/palisaded)

# The headers by name here: mk/bpf.mk's BPF_HDRS is read after this file (the makefiles are
# included in name order), and a prerequisite list is expanded when read, so $(BPF_HDRS) was empty
# and a variant was not rebuilt when a header changed (an abi.h layout change left variants whose
# programs and datapath.o disagreed with the benchmark's own struct layouts).
ABL_HDRS := $(wildcard bpf/*.h) $(wildcard include/palisade/*.h)
$(BENCH_DIR)/abl-%/palisade.bpf.o: tests/bench/ablate.bpf.c bpf/palisade.bpf.c $(ABL_HDRS) vmlinux/vmlinux.h
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) $(ABL_DEFS_$*) -c $< -o $@

$(BENCH_DIR)/abl-%/palisade.skel.h: $(BENCH_DIR)/abl-%/palisade.bpf.o
	$(BPFTOOL) gen skeleton $< name pal_palisade > $@.tmp && mv $@.tmp $@

$(BENCH_DIR)/abl-%/datapath.o: agent/dataplane/datapath.c $(BENCH_DIR)/abl-%/palisade.skel.h $(ABL_HDRS) $(wildcard agent/dataplane/*.h) \
	$(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.skel.h,$(wildcard bpf/*.bpf.c))
	$(CC) $(CFLAGS_COMMON) -I$(BENCH_DIR)/abl-$* -I$(BUILD)/bpf -Iagent/dataplane $(CFLAGS) -c $< -o $@

$(BENCH_DIR)/abl-%/bench-classify: tests/bench/bench_classify.c tests/bench/bench_setup.c $(BENCH_DIR)/abl-%/datapath.o $(BUILD)/libpalisade-dataplane.a $(BUILD)/libpalisade-core.a
	$(CC) $(CFLAGS_COMMON) -I$(BUILD)/bpf $(CFLAGS) -o $@ $^ $(LIBS_BPF) $(LIBS_CORE)

$(BENCH_DIR)/abl-%/bench-xdp-deny: tests/bench/bench_xdp_deny.c tests/bench/bench_setup.c $(BENCH_DIR)/abl-%/datapath.o $(BUILD)/libpalisade-dataplane.a $(BUILD)/libpalisade-core.a
	$(CC) $(CFLAGS_COMMON) -I$(BUILD)/bpf $(CFLAGS) -o $@ $^ $(LIBS_BPF) $(LIBS_CORE)

.PHONY: bench-abl-xdp
bench-abl-xdp: $(ABL_XDP:%=$(BENCH_DIR)/abl-%/bench-xdp-deny) $(BENCH_DIR)/xdp_drop.bpf.o ## the XDP deny's ablation variants (bench-xdp-deny each)

# The agent with a variant's datapath, for the live ablation (tests/bench/live.sh group ablate).
# DAEMON_OBJS comes from mk/daemon.mk, read after this file: used in the recipe (expanded when it
# runs), and the agent itself as a prerequisite builds them.
$(BENCH_DIR)/abl-%/palisaded: $(BENCH_DIR)/abl-%/datapath.o $(BUILD)/palisaded $(BUILD)/libpalisade-dataplane.a $(BUILD)/libpalisade-core.a
	$(CC) $(CFLAGS) -o $@ $(DAEMON_OBJS) $< $(BUILD)/libpalisade-dataplane.a $(BUILD)/libpalisade-core.a \
		$(LIBS_BPF) $(LIBS_CORE) $(NL_LIBS) $(SD_LIBS) $(CURL_LIBS)

.PHONY: bench-cost
bench-cost: $(ABL_TOOLS) bench-build ## the cost model: ablation of datapath steps, PROG_TEST_RUN and live new flows (root, ~25 min)
	@if [ "$$(id -u)" != 0 ]; then echo "bench-cost: FAIL: needs root" >&2; exit 1; fi
	BUILD=$(abspath $(BUILD)) tests/bench/cost.sh
	BUILD=$(abspath $(BUILD)) tests/bench/live.sh ablate $${BENCH_LIVE_ROUNDS:-3} 2
.PRECIOUS: $(BENCH_DIR)/abl-%/palisade.bpf.o $(BENCH_DIR)/abl-%/palisade.skel.h $(BENCH_DIR)/abl-%/datapath.o
