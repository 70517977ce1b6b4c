# The end-to-end suite (tests/e2e/, docs/testing.md): real traffic through network namespaces,
# palisaded and polctl on the real BPF datapath. Included by the Makefile (-include mk/*.mk).
# Root only (namespaces, BPF); about 4 minutes on 2 cores; part of `make test`.
.PHONY: test-e2e test-e2e-san

# pktblast (tests/bench) drives the deny flood of test_agent_event_flood.sh.
test-e2e: $(BUILD)/palisaded $(BUILD)/polctl $(BUILD)/bench/pktblast ## end-to-end suite in network namespaces (root)
	@if [ "$$(id -u)" != 0 ]; then echo "test-e2e: needs root"; exit 1; fi; \
	  PALISADED=$(abspath $(BUILD)/palisaded) POLCTL=$(abspath $(BUILD)/polctl) \
	  PKTBLAST=$(abspath $(BUILD)/bench/pktblast) tests/e2e/lib/run.sh

# The daemon tests again with the agent under ASan+UBSan: a leak or undefined behaviour in the bpf
# backend's daemon paths (apply, hot-plug, adoption, metrics) fails the SIGTERM exit check.
test-e2e-san: $(BUILD)/palisaded-san $(BUILD)/polctl $(BUILD)/bench/pktblast ## the agent's end-to-end tests with palisaded under ASan/UBSan (root)
	@if [ "$$(id -u)" != 0 ]; then echo "test-e2e-san: needs root"; exit 1; fi; \
	  ASAN_OPTIONS=detect_leaks=1 PALISADED=$(abspath $(BUILD)/palisaded-san) \
	  POLCTL=$(abspath $(BUILD)/polctl) PKTBLAST=$(abspath $(BUILD)/bench/pktblast) \
	  tests/e2e/lib/run.sh $(sort $(notdir $(wildcard tests/e2e/test_agent_*.sh tests/e2e/test_k8s_*.sh)))
