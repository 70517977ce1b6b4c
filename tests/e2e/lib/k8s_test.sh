# The start every Kubernetes e2e test (test_k8s_*.sh) shares: the libraries it uses, and
# k8s_test_start, which needs the agent, creates the topology and starts its services, sets the
# agent's cleanup trap and starts the replay API server (k8s.sh k8s_e2e_start).
k8s_test_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$k8s_test_lib/agentd_test.sh"
. "$k8s_test_lib/k8s.sh"

k8s_test_start() {
	agentd_test_start
	k8s_e2e_start
}
