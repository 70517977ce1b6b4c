# shellcheck shell=bash
# Stopping a background process a test started, shared by the e2e agent library and the replay
# API server's library.
#
#   proc_stop PID TENTHS   SIGTERM, wait up to TENTHS tenths of a second for it to exit, then
#                          SIGKILL; reaps it. Never fails (the process may be gone already).

proc_stop() {
	local pid=$1 tenths=$2 i
	kill "$pid" 2>/dev/null
	for i in $(seq "$tenths"); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}
