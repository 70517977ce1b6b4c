# The start the e2e tests of the one-shot agent (agent.sh) share: the libraries they use, and
# agent_test_start. Sets $here to the folder of the test that sources it.
here=$(cd "$(dirname "${BASH_SOURCE[-1]}")" && pwd)
agent_test_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$agent_test_lib/topology.sh"
. "$agent_test_lib/traffic.sh"
. "$agent_test_lib/conntrack.sh"
. "$agent_test_lib/agent.sh"

# agent_test_start [--wan]: needs the agent, creates the topology (with --wan also the namespace
# behind wan0, topo_add_wan) and starts its services.
agent_test_start() {
	agent_require
	topo_create
	[ "${1:-}" != --wan ] || topo_add_wan
	topo_start_services
}
