# shellcheck shell=bash
# Continuous traffic for the agent tests: streams that run in the background while the agent
# changes policy or restarts, and count what was sent and what arrived. Source after topology.sh.
#
#   udp_sink NS PORT FILE          every datagram received on PORT (dual stack) appended to FILE
#   tcp_echo_server NS PORT        echoes every line of every connection
#   sinks_stop                     stops the udp_sink and tcp_echo_server servers
#   udp_stream NS DST PORT SRC TAG FILE
#                                  sends "TAG <send time in ms> <seq>" datagrams, one every
#                                  ~STREAM_GAP seconds until streams_stop; every line sent is also
#                                  appended to FILE (so sent and received can be compared)
#   ping_stream NS DST FILE        one `ping -c 1` after the other (a new ICMP flow each time; a
#                                  reply may take 5 s: a drop is forever, a starved ping is not);
#                                  appends "ok MS" or "lost MS" per attempt to FILE (MS: its start)
#   tcp_stream NS DST PORT FILE    one TCP connection kept open, a line every ~STREAM_GAP seconds;
#                                  the server's echo of every line is appended to FILE
#   streams_stop                   ends every stream, waits until they are gone (bounded)
#   udp_datagrams FILE             datagrams a udp_stream (FILE = its sent file) sent
#   lines FILE [PATTERN]           number of lines (matching PATTERN)
#
# The timestamps come from bash's EPOCHREALTIME (no fork per datagram) and the senders sleep with
# `read -t` on a pipe nobody writes, so a stream of a few hundred datagrams per second costs
# little on a 2-core machine.

STREAM_GAP=${STREAM_GAP:-0.003}

udp_sink() {
	local n=$1 port=$2 file=$3
	: >"$file"
	ns_bg "$n" "$file.err" socat -u "UDP6-RECV:$port,ipv6only=0,reuseaddr" "OPEN:$file,creat,append"
	STREAM_SERVER_PIDS="${STREAM_SERVER_PIDS:-} $!" # nsenter execs socat: this is socat
	wait_listen "$n" udp "$port"
}

# sinks_stop: the udp_sink and tcp_echo_server servers go (their ports are free again, e.g. for
# topo_start_services).
sinks_stop() {
	local p i
	for p in ${STREAM_SERVER_PIDS:-}; do kill "$p" 2>/dev/null; done
	for p in ${STREAM_SERVER_PIDS:-}; do
		for i in $(seq 20); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	done
	STREAM_SERVER_PIDS=""
}

# udp_stream's sender: a script file (no quoting through nsenter and bash -c). Arguments: TAG
# SENT STOP GAP; lines go to stdout (socat sends each) and to SENT.
_udp_sender_script() {
	local f=$E2E_TMP/udp-sender.sh
	[ -f "$f" ] || cat >"$f" <<'EOS'
exec 3<> <(:)
i=0
while [ ! -e "$3" ]; do
	i=$((i + 1)); t=${EPOCHREALTIME/./}
	printf -v l '%s %s %s' "$1" "${t:0:-3}" "$i"
	printf '%s\n' "$l"
	printf '%s\n' "$l" >>"$2"
	read -r -t "$4" -u 3 _
done
EOS
	printf '%s\n' "$f"
}

udp_stream() {
	local n=$1 dst=$2 port=$3 src=$4 tag=$5 file=$6 script
	: >"$file"
	script=$(_udp_sender_script)
	# shellcheck disable=SC2016 # expanded by the inner bash
	# socat -v logs a "> DATE length=N ..." header per datagram it sends (udp_datagrams)
	ns_bg "$n" "$file.err" bash -c 'bash "$1" "$2" "$3" "$4" "$5" | socat -v -u - "$6"' _ \
		"$script" "$tag" "$file" "$E2E_TMP/streams.stop" "$STREAM_GAP" "$(_sock UDP "$dst" "$port" "$src")"
}

ping_stream() {
	local n=$1 dst=$2 file=$3 fam=-4
	_is_v6 "$dst" && fam=-6
	: >"$file"
	# shellcheck disable=SC2016 # expanded by the inner bash
	ns_bg "$n" "$file.err" bash -c '
		while [ ! -e "$3" ]; do
			t=${EPOCHREALTIME/./}
			if ping "$4" -n -q -c 1 -W 5 "$1" >/dev/null 2>&1; then r=ok; else r=lost; fi
			echo "$r ${t:0:-3}" >>"$2"
		done' _ "$dst" "$file" "$E2E_TMP/streams.stop" "$fam"
}

tcp_stream() {
	local n=$1 dst=$2 port=$3 file=$4 addr
	: >"$file"
	addr=$(_sock TCP "$dst" "$port" -)
	# The server (tcp_echo_server) echoes every line; socat writes the echoes to FILE.
	# shellcheck disable=SC2016 # expanded by the inner bash
	ns_bg "$n" "$file.err" bash -c '
		exec 3<> <(:)
		{ i=0; while [ ! -e "$2" ]; do i=$((i + 1)); echo "line $i"; read -r -t "$3" -u 3 _; done
		  sleep 1; } | socat -T 5 - "$4" >>"$1"' _ "$file" "$E2E_TMP/streams.stop" "$STREAM_GAP" "$addr"
}

# tcp_echo_server NS PORT: one dual-stack server echoing every line back (each connection).
tcp_echo_server() {
	local n=$1 port=$2
	ns_bg "$n" "$E2E_TMP/$n-echo$port.log" socat "TCP-LISTEN:$port,pf=ip6,ipv6only=0,reuseaddr,fork" PIPE
	STREAM_SERVER_PIDS="${STREAM_SERVER_PIDS:-} $!"
	wait_listen "$n" tcp "$port"
}

streams_stop() {
	local i
	: >"$E2E_TMP/streams.stop"
	# The senders notice within one gap; the TCP one then waits 1 s for the last echoes.
	for i in $(seq 40); do
		pgrep -f "$E2E_TMP/streams.stop" >/dev/null || break
		sleep 0.1
	done
	sleep 0.3 # the last datagrams reach their sinks
	rm -f "$E2E_TMP/streams.stop"
}

# udp_datagrams FILE: datagrams udp_stream sent (lines may share one when the sender queued up).
udp_datagrams() {
	grep -c '^> [0-9]' "$1.err"
}

lines() {
	if [ $# -gt 1 ]; then grep -c -- "$2" "$1"; else wc -l <"$1"; fi
}
