# The end-to-end suite (tests/e2e/, docs/testing.md): real traffic through network namespaces,
# palisaded and polctl on the real BPF datapath. Included by the Makefile (-include mk/*.mk).
# Root only (namespaces, BPF); about 4 minutes on 2 cores; part of `make test`.
.PHONY: test-e2e test-e2e-san

# runflood (tests/bench) drives the deny flood of test_agent_event_flood.sh (BPF_PROG_TEST_RUN).
test-e2e: $(BUILD)/palisaded $(BUILD)/polctl $(BUILD)/bench/runflood ## end-to-end suite in network namespaces (root)
	@if [ "$$(id -u)" != 0 ]; then echo "test-e2e: needs root"; exit 1; fi; \
	  PALISADED=$(abspath $(BUILD)/palisaded) POLCTL=$(abspath $(BUILD)/polctl) \
	  RUNFLOOD=$(abspath $(BUILD)/bench/runflood) tests/e2e/lib/run.sh

# The daemon tests again with the agent under ASan+UBSan: a leak or undefined behaviour in the bpf
# backend's daemon paths (apply, hot-plug, adoption, metrics) fails the SIGTERM exit check.
test-e2e-san: $(BUILD)/palisaded-san $(BUILD)/polctl $(BUILD)/bench/runflood ## the agent's end-to-end tests with palisaded under ASan/UBSan (root)
	@if [ "$$(id -u)" != 0 ]; then echo "test-e2e-san: needs root"; exit 1; fi; \
	  ASAN_OPTIONS=detect_leaks=1 PALISADED=$(abspath $(BUILD)/palisaded-san) \
	  POLCTL=$(abspath $(BUILD)/polctl) RUNFLOOD=$(abspath $(BUILD)/bench/runflood) \
	  tests/e2e/lib/run.sh $(sort $(notdir $(wildcard tests/e2e/test_agent_*.sh tests/e2e/test_k8s_*.sh)))
