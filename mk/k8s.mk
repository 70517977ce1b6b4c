# The Kubernetes datastore's test tools (tests/k8s/). Included by the Makefile (-include mk/*.mk).
.PHONY: test-k8s

test-k8s: ## the replay API server against Debian's kubectl (tests/k8s/README.md)
	tests/k8s/test_kubectl.sh

# The Kubernetes client (agent/k8s/ except convert*.c, which the core library holds) is built into
# palisaded only. Its pure part, the kubeconfig parser, is linked into the unit tests too.
K8S_SRCS   := $(sort $(filter-out agent/k8s/convert%.c,$(wildcard agent/k8s/*.c)))
K8S_OBJS   := $(K8S_SRCS:%.c=$(BUILD)/obj/%.o)
K8S_SANOBJ := $(K8S_SRCS:%.c=$(BUILD)/san/%.o)
K8S_LIBS   := $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)

$(BUILD)/unit-tests: $(BUILD)/obj/agent/k8s/kubeconfig.o
$(BUILD)/unit-tests-san: $(BUILD)/san/agent/k8s/kubeconfig.o
