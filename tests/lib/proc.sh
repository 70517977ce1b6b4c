# shellcheck shell=bash
# Stopping a background process a test started, shared by the e2e agent library and the replay
# API server's library.
#
#   proc_stop PID TENTHS   SIGTERM, wait up to TENTHS tenths of a second for it to exit, then
#                          SIGKILL; reaps it. Never fails (the process may be gone already).
#   proc_stop_var VAR TENTHS
#                          proc_stop of the id in the variable named VAR (nothing when it is empty),
#                          then VAR emptied. Never fails.
#   netns_stop_procs PFX NAME...
#                          every process in namespaces PFX+NAME (those that exist): SIGTERM to all,
#                          then up to 2 s for each namespace to empty, SIGKILL after 1 s. Never fails.

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

proc_stop_var() {
	[ -n "${!1:-}" ] || return 0
	proc_stop "${!1}" "$2"
	printf -v "$1" '%s' ""
	return 0
}

# shellcheck disable=SC2086 # $pids is a list of process ids: split on purpose
netns_stop_procs() {
	local pfx=$1 n pids i
	shift
	for n in "$@"; do
		[ -e "/var/run/netns/${pfx}$n" ] || continue
		pids=$(ip netns pids "${pfx}$n" 2>/dev/null)
		[ -n "$pids" ] && kill $pids 2>/dev/null
	done
	for n in "$@"; do
		[ -e "/var/run/netns/${pfx}$n" ] || continue
		for i in $(seq 20); do
			pids=$(ip netns pids "${pfx}$n" 2>/dev/null)
			[ -z "$pids" ] && break
			[ "$i" -eq 10 ] && kill -9 $pids 2>/dev/null
			sleep 0.1
		done
	done
	return 0
}
