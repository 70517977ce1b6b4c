# The Kubernetes datastore's test tools (tests/k8s/). Included by the Makefile (-include mk/*.mk).
.PHONY: test-k8s

test-k8s: ## the replay API server against Debian's kubectl (tests/k8s/README.md)
	tests/k8s/test_kubectl.sh

# The kubeconfig parser and the state file (pure; palisaded's, see mk/daemon.mk) are linked into
# the unit tests too.
$(BUILD)/unit-tests: $(BUILD)/obj/agent/k8s/kubeconfig.o $(BUILD)/obj/agent/k8s/k8s_state.o
$(BUILD)/unit-tests-san: $(BUILD)/san/agent/k8s/kubeconfig.o $(BUILD)/san/agent/k8s/k8s_state.o
# The narrowing of objects that do not fit the datapath (pure) too.
$(BUILD)/unit-tests: $(BUILD)/obj/agent/k8s/narrow.o
$(BUILD)/unit-tests-san: $(BUILD)/san/agent/k8s/narrow.o
