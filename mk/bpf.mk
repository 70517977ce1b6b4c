# BPF objects, skeletons, the datapath library and the BPF tests. Included from the Makefile
# (`-include mk/bpf.mk`); uses its BUILD, CC, CLANG, CFLAGS_COMMON and CFLAGS.
#
#   $(BUILD)/bpf/<name>.bpf.o     clang -target bpf, CO-RE against vmlinux/vmlinux.h
#   $(BUILD)/bpf/<name>.skel.h    bpftool gen skeleton (skeleton name pal_<name>)
#   $(BUILD)/libpalisade-dataplane.a   agent/dataplane/*.c (loader, map sync, attach, netfilter);
#                                      link it before libpalisade-core.a
#   test-bpf        BPF_PROG_TEST_RUN tests (needs root: loads programs, creates a netns)
#   verifier-stats  each program's verified instruction count
#   test-kernel     on Debian 12's own kernel (6.1) in qemu: every program loads, tests pass
#   bench-bpf       classification cost per packet only (figure 1 of make bench)
#   vmlinux-check   vmlinux.h is present and has the types the programs use
#   vmlinux-regen   regenerate vmlinux/vmlinux.h from this kernel's BTF

BPFTOOL    ?= bpftool
BPF_CFLAGS := -target bpf -O2 -g -D__TARGET_ARCH_x86 -Wall -Werror \
              -Ivmlinux -Iinclude -Ibpf
BPF_SRCS   := $(sort $(wildcard bpf/*.bpf.c))
BPF_OBJS   := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.bpf.o)
BPF_SKELS  := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.skel.h)
BPF_HDRS   := $(wildcard bpf/*.h) $(wildcard include/palisade/*.h)
LIBS_BPF   := -lbpf -lelf -lz

DP_SRCS    := $(sort $(wildcard agent/dataplane/*.c))
DP_OBJS    := $(DP_SRCS:%.c=$(BUILD)/obj/%.o)
BPFT_SRCS  := $(sort $(filter-out tests/bpf/tool_%.c,$(wildcard tests/bpf/*.c)))
BPFT_OBJS  := $(BPFT_SRCS:%.c=$(BUILD)/obj/%.o)
# The BPF tests reuse the unit tests' YAML->IR helpers and random IR generator (and their
# fixtures: the runner's cwd is tests/unit).
BPFT_SHARED := $(BUILD)/obj/tests/unit/test_compiler_util.o $(BUILD)/obj/tests/unit/ir_random.o

DP_SANOBJ   := $(DP_SRCS:%.c=$(BUILD)/san/%.o)
BPFT_SANOBJ := $(BPFT_SRCS:%.c=$(BUILD)/san/%.o)
BPFT_SHARED_SAN := $(BUILD)/san/tests/unit/test_compiler_util.o $(BUILD)/san/tests/unit/ir_random.o

.PHONY: bpf vmlinux-check vmlinux-regen test-bpf test-bpf-san verifier-stats bench-bpf test-kernel

bpf: $(BPF_SKELS) $(BUILD)/libpalisade-dataplane.a ## BPF objects, skeletons, datapath library

vmlinux-check: ## vmlinux/vmlinux.h exists and has the kernel types the programs use
	@test -s vmlinux/vmlinux.h || { echo "vmlinux/vmlinux.h missing: make vmlinux-regen"; exit 1; }
	@for t in 'struct nf_conn {' 'struct bpf_ct_opts {' 'struct xdp_md {' 'struct __sk_buff {'; do \
	  grep -q "^$$t" vmlinux/vmlinux.h || { echo "vmlinux.h lacks $$t"; exit 1; }; done
	@echo "vmlinux.h ok"

vmlinux-regen: ## regenerate vmlinux/vmlinux.h from /sys/kernel/btf/vmlinux
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux.h

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) vmlinux/vmlinux.h
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name pal_$* > $@.tmp && mv $@.tmp $@

# The library and the tests include the skeletons.
$(DP_OBJS) $(BPFT_OBJS) $(DP_SANOBJ) $(BPFT_SANOBJ): CFLAGS_COMMON += -I$(BUILD)/bpf
$(BPFT_OBJS) $(BPFT_SANOBJ): CFLAGS_COMMON += -Itests/unit
$(DP_OBJS) $(BPFT_OBJS) $(DP_SANOBJ) $(BPFT_SANOBJ): $(BPF_SKELS)

$(BUILD)/libpalisade-dataplane.a: $(DP_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/bpf-tests: $(BPFT_OBJS) $(BPFT_SHARED) $(BUILD)/libpalisade-dataplane.a $(BUILD)/libpalisade-core.a
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS_BPF) $(LIBS_CORE) -lcriterion -lpthread

# Tests load programs and create network namespaces: root only. Each test runs in its own process
# and namespace with its own pin directory, so they can run in parallel.
test-bpf: $(BUILD)/bpf-tests $(BPF_OBJS) ## BPF_PROG_TEST_RUN tests of every program (root)
	@if [ "$$(id -u)" != 0 ]; then echo "test-bpf: FAIL: needs root (loads BPF programs, creates network namespaces)" >&2; exit 1; fi; \
	  python3 tests/bpf/stack_check.py $(BPF_OBJS) && \
	  cd tests/unit && ../../$(BUILD)/bpf-tests --jobs 2

# The same tests under ASan+UBSan (leaks included); PAL_BPF_FLIPS trims the update test.
$(BUILD)/bpf-tests-san: $(BPFT_SANOBJ) $(BPFT_SHARED_SAN) $(DP_SANOBJ) $(BUILD)/libpalisade-core-san.a
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LIBS_BPF) $(LIBS_CORE) -lcriterion -lpthread

test-bpf-san: $(BUILD)/bpf-tests-san ## the BPF tests' userspace under ASan and UBSan (root)
	@if [ "$$(id -u)" != 0 ]; then echo "test-bpf-san: FAIL: needs root" >&2; exit 1; fi; \
	  cd tests/unit && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 PAL_BPF_FLIPS=200 \
	  ../../$(BUILD)/bpf-tests-san --jobs 2

$(BUILD)/verifier-stats: tests/bpf/tool_verifier_stats.c $(BPF_SKELS)
	$(CC) $(CFLAGS_COMMON) -I$(BUILD)/bpf $(CFLAGS) -o $@ $< $(LIBS_BPF)

verifier-stats: $(BUILD)/verifier-stats ## verified instruction count of every program (root)
	$(BUILD)/verifier-stats

# tests/kernel/run.sh: boots Debian 12's kernel in qemu (emulated without KVM: minutes) and runs
# verifier-stats, the bpf-tests suites of tests/kernel/bpf-suites.list and the e2e tests of
# tests/kernel/e2e.list there.
test-kernel: $(BUILD)/verifier-stats $(BUILD)/bpf-tests $(BUILD)/palisaded $(BUILD)/polctl ## the programs load and work on Debian 12's own kernel 6.1, in qemu (root)
	tests/kernel/run.sh

# Classification benchmark alone (figure 1 of `make bench`, tests/bench/bench_classify.c): new-flow
# ns/packet against a linear scan, established ns/packet, apply ms, at 10..100,000 rules.
bench-bpf: $(BENCH_DIR)/bench-classify $(BENCH_DIR)/linear_scan.bpf.o $(BENCH_DIR)/ct_lookup.bpf.o ## classification ns/packet only (root)
	$(BENCH_DIR)/bench-classify $(BENCH_DIR)/linear_scan.bpf.o 5 256
