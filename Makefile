# palisade: one entry point. `make help` lists the targets.
#
# Userspace is C11 built with -Wall -Wextra -Werror. BPF objects are built with clang (Debian 12:
# clang 14) and loaded through bpftool-generated skeletons (Debian 12: libbpf 1.1, bpftool 7.1).

CC       ?= gcc
CLANG    ?= clang
BUILD    ?= build
CFLAGS_COMMON := -std=gnu11 -g -Wall -Wextra -Werror -Wno-missing-field-initializers \
                 -Iagent/core -Iagent/classifier -Iagent/dataplane -Iagent/daemon -Iagent/daemonlib \
                 -Iagent/k8s -Iagent/k8s-convert -Iinclude -D_GNU_SOURCE
CFLAGS   ?= -O2
LIBS_CORE := -lyaml -ljansson
# The release version is defined once, in include/palisade/version.h; packaging reads it here.
VERSION  := $(shell sed -n 's/^\#define PALISADE_VERSION "\(.*\)"$$/\1/p' include/palisade/version.h)

# Sanitizer build of the same sources: every unit test also runs under ASan+UBSan in `make test`.
SAN_FLAGS := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# The core library: everything without a BPF or netlink dependency, so unit tests, fuzzers and
# polctl's offline commands link exactly the agent's code. It includes the classifier compiler and
# its userspace emulation (agent/classifier/, pure computation) and the daemon's pure helpers
# (agent/daemonlib/: options, logging, HTTP parsing, metrics rendering, debounce) and the
# Kubernetes object converter (agent/k8s-convert/). One folder, one library: each is taken whole.
CORE_SRCS   := $(sort $(wildcard agent/core/*.c agent/classifier/*.c agent/daemonlib/*.c \
                                 agent/k8s-convert/*.c))
CORE_OBJS   := $(CORE_SRCS:%.c=$(BUILD)/obj/%.o)
CORE_SANOBJ := $(CORE_SRCS:%.c=$(BUILD)/san/%.o)
POLCTL_SRCS := $(sort $(wildcard tools/polctl/*.c))
POLCTL_OBJS := $(POLCTL_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_SRCS   := $(sort $(wildcard tests/unit/*.c))
UNIT_OBJS   := $(UNIT_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_SANOBJ := $(UNIT_SRCS:%.c=$(BUILD)/san/%.o)
FUZZ_SRCS   := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS   := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_SECONDS ?= 60

.PHONY: all help deps test test-unit test-unit-san test-cli fuzz fuzz-build clean version

all: bpf $(BUILD)/polctl $(BUILD)/palisaded ## build everything

help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort | \
	  awk -F'\t' '{printf "  %-16s %s\n", $$1, $$2}'

version: ## print the release version (include/palisade/version.h)
	@echo $(VERSION)

deps: ## install the Debian packages the project needs (idempotent, needs root)
	./scripts/install-deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(SAN_FLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libpalisade-core.a: $(CORE_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libpalisade-core-san.a: $(CORE_SANOBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# polctl: its commands, the pinned-map readers it shares with the datapath library (reporting
# metadata, counters, flows: no BPF objects inside), the core library, and libbpf for the live
# commands.
POLCTL_DP_OBJS := $(BUILD)/obj/agent/dataplane/meta.o $(BUILD)/obj/agent/dataplane/meta_json.o \
                  $(BUILD)/obj/agent/dataplane/map_read.o $(BUILD)/obj/agent/dataplane/pins.o
$(BUILD)/polctl: $(POLCTL_OBJS) $(POLCTL_DP_OBJS) $(BUILD)/libpalisade-core.a
	$(CC) $(CFLAGS) -o $@ $^ -lbpf -lelf -lz $(LIBS_CORE)

$(BUILD)/unit-tests: $(UNIT_OBJS) $(BUILD)/libpalisade-core.a
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS_CORE) -lcriterion

$(BUILD)/unit-tests-san: $(UNIT_SANOBJ) $(BUILD)/libpalisade-core-san.a
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LIBS_CORE) -lcriterion

test-unit: $(BUILD)/unit-tests ## Criterion unit tests
	cd tests/unit && ../../$(BUILD)/unit-tests --jobs 2

test-unit-san: $(BUILD)/unit-tests-san ## the unit tests under ASan and UBSan
	cd tests/unit && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ../../$(BUILD)/unit-tests-san --jobs 2

test-cli: $(BUILD)/polctl ## polctl command-line tests (exit codes, messages)
	POLCTL=$(abspath $(BUILD)/polctl) tests/cli/run.sh

test: test-unit test-unit-san test-lint test-oom test-cli test-k8s test-manifests test-bpf test-kernel test-live test-daemon test-e2e ## run every test (root: BPF and namespace tests)

# libFuzzer targets: the resource loader and the selector parser, with ASan+UBSan.
$(BUILD)/fuzz/%: tests/fuzz/%.c $(CORE_SRCS)
	@mkdir -p $(dir $@)
	$(CLANG) $(CFLAGS_COMMON) -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  -o $@ $< $(CORE_SRCS) $(LIBS_CORE)

fuzz-build: $(FUZZ_BINS) ## build the fuzz targets

# New inputs go to build/fuzz/new-NAME; the committed corpus is only read (merge by hand:
# build/fuzz/NAME -merge=1 tests/fuzz/corpus/NAME build/fuzz/new-NAME).
fuzz: $(FUZZ_BINS) ## run each fuzz target for FUZZ_SECONDS (default 60) on its committed corpus
	@for f in $(FUZZ_BINS); do \
	  name=$$(basename $$f); mkdir -p $(BUILD)/fuzz/new-$$name; \
	  echo "== $$name for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -timeout=10 \
	      -artifact_prefix=$(BUILD)/fuzz/$$name- $(BUILD)/fuzz/new-$$name tests/fuzz/corpus/$$name \
	      $$( [ -f tests/fuzz/$$name.dict ] && echo -dict=tests/fuzz/$$name.dict ) || exit 1; \
	done

clean: ## remove build outputs
	rm -rf $(BUILD)

-include $(wildcard mk/*.mk)
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Bare-metal install (systemd). DESTDIR for packaging; PREFIX defaults to /usr/local.
PREFIX ?= /usr/local
.PHONY: install
install: all ## install palisaded, polctl, the systemd unit and an example config
	install -D -m 0755 $(BUILD)/palisaded $(DESTDIR)$(PREFIX)/sbin/palisaded
	install -D -m 0755 $(BUILD)/polctl $(DESTDIR)$(PREFIX)/sbin/polctl
	install -D -m 0644 deploy/systemd/palisaded.service $(DESTDIR)/etc/systemd/system/palisaded.service
	sed -i 's#/usr/local/sbin#$(PREFIX)/sbin#' $(DESTDIR)/etc/systemd/system/palisaded.service
	[ -e $(DESTDIR)/etc/palisade/palisaded.yaml ] || \
	  install -D -m 0644 deploy/systemd/palisaded.yaml $(DESTDIR)/etc/palisade/palisaded.yaml
	install -d -m 0755 $(DESTDIR)/etc/palisade/policy.d
	install -D -m 0644 docs/operations.md $(DESTDIR)$(PREFIX)/share/doc/palisade/operations.md

.PHONY: demo
demo: ## install deps, build, run the agent on policies/ in a namespace topology, clean up (root)
	$(MAKE) deps
	$(MAKE) all
	scripts/demo.sh

.PHONY: bench
bench: ## benchmarks: one table of ratios and medians measured side by side, plots (root, ~15 min)
	$(MAKE) bench-all
