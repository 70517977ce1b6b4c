# The start the agent's e2e tests share: the libraries they use (agent_test.sh's, which sets $here
# to the folder of the test that sources it, and agentd.sh), and agentd_test_start.
agentd_test_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$agentd_test_lib/agent_test.sh"
. "$agentd_test_lib/agentd.sh"

# agentd_test_start [--no-services]: needs the agent, creates the topology, sets the agent's
# cleanup trap and, unless --no-services, starts the topology's services.
agentd_test_start() {
	agent_require
	topo_create
	agentd_trap
	[ "${1:-}" = --no-services ] || topo_start_services
}
