# shellcheck shell=bash
# The Kubernetes datastore in the e2e topology: the replay API server (tests/k8s/) inside the node
# namespace, pods as the Calico CNI plumbs them, palisaded --datastore kubernetes. Source after
# topology.sh, traffic.sh, agent.sh and agentd.sh.
#
#   k8s_e2e_start [ARGS]        the replay server in ${PFX}node (state in $E2E_TMP/k8s, saved
#                               for k8s_restart; the topology's cleanup kills it with the
#                               namespace's processes);
#                               K8S_KUBECONFIG has a static token, K8S_KUBECONFIG_FILE_TOKEN the
#                               token file $K8S_TOKEN_FILE instead
#   calico_iface NS POD         cali + the first 11 hex digits of sha1("NS.POD")
#   k8s_pod_net NAME IFACE IP   a pod namespace ${PFX}NAME: eth0 IP/32 with a default route via
#                               169.254.1.1 (a static neighbour: IFACE's MAC), IFACE in the node
#                               with a /32 route to IP, as Calico's CNI does; with a 4th
#                               argument "noroute", without that route (k8s_pod_route adds it);
#                               IFACE gets ifindex $K8S_POD_IFINDEX when that is set
#   k8s_pod_route IFACE IP      the node's /32 route to IP through IFACE
#   k8s_pod_json NS NAME IP LABELS    a Running pod of node demo-node (LABELS: a JSON object)
#   k8s_web_pod PORT...         the pod shop/web's network (namespace ${PFX}kweb, 198.19.5.10 on
#                               IF_WEB) with a TCP server on each PORT, each answering before
#                               palisade runs (a block later is palisade's doing)
#   k8s_agent_start [EXTRA]     palisaded --datastore kubernetes --kubeconfig ... (waits for ready)
#   k8s_agent_spawn [EXTRA]     the same without waiting (an agent that starts degraded)
#   k8s_web_pod_start           pod shop/web's veth, servers on 8080 and 9090, then:
#   k8s_web_in_8080_start       namespace shop, pod shop/web (198.19.5.10, app=web) and the
#                               NetworkPolicy shop/in-8080 (TCP 8080 and UDP 7070 in), then the
#                               agent; checks that 8080 passes and 9090 does not (servers on both)
#   k8s_stuck_pod_start         pod shop/stuck (198.19.5.20, app=web) in ${PFX}kstuck on
#                               IF_STUCK, whose veth came with another tool's filter at palisade's
#                               egress priority: the agent's tc attach fails; returns once
#                               /readyz reports it (the caller starts the pod's servers)
#   k8s_status                  polctl status -o json's datastore section
#   k8s_wait_bad_object OBJ RE  wait until k8s_status lists OBJ as rejected with an error matching RE
#   k8s_wait_bound IFACE EP T0  wait until polctl status shows IFACE bound to endpoint EP; prints
#                               the ms since T0 (a now_ms)
#   wait_tcp_allowed FROM DST PORT SERVER / wait_tcp_blocked FROM DST PORT   poll until the
#                               verdict holds; prints the milliseconds it took
#   k8s_wait_applied GEN        wait until a generation above GEN is enforced; prints the ms from
#                               its watch event, as the agent measured them
#   probes_start NAME / probes_stop NAME   from client to the pod 198.19.5.10 every 100 ms
#                               meanwhile: 8080 must pass, 9090 must be denied throughout

. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../../k8s" && pwd)/lib.sh"

k8s_e2e_start() {
	K8S_RUN="nsenter --net=/var/run/netns/${PFX}node"
	k8s_start "$E2E_TMP/k8s" --state "$E2E_TMP/k8s/state.json" "$@" || fail "replay API server"
	K8S_TOKEN_FILE=$E2E_TMP/k8s/token
	printf '%s\n' "$K8S_TOKEN" >"$K8S_TOKEN_FILE"
	K8S_KUBECONFIG_FILE_TOKEN=$E2E_TMP/k8s/kubeconfig-tokenfile
	sed "s|^    token: .*|    tokenFile: $K8S_TOKEN_FILE|" "$K8S_KUBECONFIG" >"$K8S_KUBECONFIG_FILE_TOKEN"
	grep -q tokenFile "$K8S_KUBECONFIG_FILE_TOKEN" || fail "kubeconfig with tokenFile"
}

# kubectl reaches the server where it listens: in the node namespace.
k8s_kubectl() { ns node kubectl --kubeconfig "$K8S_KUBECONFIG" --request-timeout=10s "$@"; }

calico_iface() {
	printf 'cali%s\n' "$(printf '%s.%s' "$1" "$2" | sha1sum | cut -c1-11)"
}

k8s_pod_route() { ns node ip route add "$2/32" dev "$1" || fail "route $2 dev $1"; }

k8s_pod_net() {
	local name=$1 ifc=$2 ip=$3 mac
	ip netns add "${PFX}$name" || fail "ip netns add ${PFX}$name"
	TOPO_NAMESPACES="$TOPO_NAMESPACES $name"
	ns "$name" ip link set lo up
	ip link add "$ifc" ${K8S_POD_IFINDEX:+index "$K8S_POD_IFINDEX"} netns "${PFX}node" type veth \
		peer name eth0 netns "${PFX}$name" ||
		fail "veth $ifc"
	ns node ip link set "$ifc" up
	[ "${4:-}" = noroute ] || k8s_pod_route "$ifc" "$ip"
	mac=$(ns node cat "/sys/class/net/$ifc/address" 2>/dev/null ||
		ns node ip -o link show dev "$ifc" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
	ns "$name" ip addr add "$ip/32" dev eth0
	ns "$name" ip link set eth0 up
	ns "$name" ip route add 169.254.1.1 dev eth0 scope link
	ns "$name" ip route add default via 169.254.1.1 dev eth0
	ns "$name" ip neigh replace 169.254.1.1 lladdr "$mac" dev eth0 nud permanent
}

k8s_pod_json() {
	printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","namespace":"%s","labels":%s},"spec":{"nodeName":"demo-node","containers":[{"name":"c","image":"i","ports":[{"name":"http","containerPort":8080}]}]},"status":{"phase":"Running","podIP":"%s","podIPs":[{"ip":"%s"}]}}' \
		"$2" "$1" "$4" "$3" "$3"
}

# k8s_put_shop_web IP [NS_LABELS]: the Namespace shop (labels: a JSON object, default none) and its
# pod web (app=web) at IP on the API server.
k8s_put_shop_web() {
	local ns='{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop","labels":%s}}'
	k8s_put "$(printf "$ns" "${2:-"{}"}")" || fail "put ns shop"
	k8s_put "$(k8s_pod_json shop web "$1" '{"app":"web"}')" || fail "put pod web"
}

k8s_web_pod() {
	local p
	IF_WEB=$(calico_iface shop web)
	k8s_pod_net kweb "$IF_WEB" 198.19.5.10
	for p in "$@"; do tcp_server kweb "$p"; done
	for p in "$@"; do expect_tcp client 198.19.5.10 "$p" - "kweb:$p"; done
}

k8s_agent_start() { k8s_agent_with agentd_start "$@"; }
k8s_agent_spawn() { k8s_agent_with agentd_spawn "$@"; }
k8s_agent_with() {
	local how=$1 empty=$E2E_TMP/k8s/no-policy-dir; shift
	mkdir -p "$empty"
	"$how" "$empty" --datastore kubernetes --kubeconfig "${K8S_AGENT_KUBECONFIG:-$K8S_KUBECONFIG}" "$@"
}

# k8s_web_pod_start: pod shop/web's veth (IF_WEB) with TCP servers on 8080 and 9090, then
# k8s_web_in_8080_start (8080 allowed in, 9090 not).
k8s_web_pod_start() {
	IF_WEB=$(calico_iface shop web)
	k8s_pod_net kweb "$IF_WEB" 198.19.5.10
	tcp_server kweb 8080
	tcp_server kweb 9090
	k8s_web_in_8080_start
}

k8s_web_in_8080_start() {
	k8s_put_shop_web 198.19.5.10
	k8s_put '{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"in-8080","namespace":"shop"},"spec":{"podSelector":{},"policyTypes":["Ingress"],"ingress":[{"ports":[{"protocol":"TCP","port":8080},{"protocol":"UDP","port":7070}]}]}}' ||
		fail "put np"
	k8s_agent_start
	expect_tcp client 198.19.5.10 8080 - kweb:8080
	expect_tcp_blocked client 198.19.5.10 9090 -
}

PAL_TC_PRIORITY=2465 # agent/dataplane/attach.h

# The foreign filter is made under another name (wrk2), where the agent's forward watch may have
# attached tc already: its egress program makes room for the filter; the veth becomes a pod's when
# it is renamed. The filter itself drops nothing (cBPF "return 0": no match).
k8s_stuck_pod_start() {
	local i
	IF_STUCK=$(calico_iface shop stuck)
	k8s_pod_net kstuck wrk2 198.19.5.20 noroute
	# The agent puts palisade's deleted filter back at once (tc notification): swapped while it
	# is stopped.
	kill -STOP "$AGENTD_PID"
	ns node tc qdisc add dev wrk2 clsact 2>/dev/null # the forward watch's may be there
	ns node tc filter del dev wrk2 egress pref $PAL_TC_PRIORITY 2>/dev/null
	ns node tc filter add dev wrk2 egress pref $PAL_TC_PRIORITY protocol ip bpf bytecode '1,6 0 0 0,' ||
		{ kill -CONT "$AGENTD_PID"; fail "the foreign filter: $(ns node tc filter show dev wrk2 egress)"; }
	kill -CONT "$AGENTD_PID"
	ns node ip link set wrk2 down && ns node ip link set wrk2 name "$IF_STUCK" &&
		ns node ip link set "$IF_STUCK" up || fail "rename wrk2"
	k8s_pod_route "$IF_STUCK" 198.19.5.20
	k8s_put "$(k8s_pod_json shop stuck 198.19.5.20 '{"app":"web"}')" || fail "put pod stuck"
	k8s_wait_bound "$IF_STUCK" demo--node-k8s-stuck-eth0 "$(now_ms)" >/dev/null ||
		fail "$IF_STUCK not bound: $(polctl_json status | jq -c .interfaces)"
	for i in $(seq 30); do
		case "$(agentd_readyz)" in 503\ *tc\ attach*) return 0 ;; esac
		sleep 0.1
	done
	fail "/readyz does not report the failed attach: $(agentd_readyz)"
}

k8s_status() { polctl_json status | jq -c '.datastore'; }

# k8s_wait_bad_object OBJECT REGEX: status 0 once the datastore status lists OBJECT among the bad
# objects with an error matching REGEX; 1 after 3 s (the status is republished every second).
k8s_wait_bad_object() {
	local i
	for i in $(seq 30); do
		k8s_status | jq -e --arg o "$1" --arg r "$2" \
			'.bad_objects[] | select(.object == $o) | select(.error | test($r))' >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# k8s_wait_bound IFACE ENDPOINT T0: polls polctl status every 20 ms until IFACE is bound to
# ENDPOINT, then prints the milliseconds since T0 (a now_ms); status 1 after 3 s.
k8s_wait_bound() {
	local i
	for i in $(seq 150); do
		polctl_json status | jq -e --arg i "$1" --arg e "$2" '.interfaces[] | select(.name == $i)
			| select(.endpoint == $e)' >/dev/null 2>&1 && { echo $(($(now_ms) - $3)); return 0; }
		sleep 0.02
	done
	return 1
}

# k8s_expect_policed IFACE ENDPOINT T0 WHO AFTER: k8s_wait_bound, and the time (MEASURE: WHO
# policed N ms after AFTER) at most 1 s; fails naming what is missing otherwise.
k8s_expect_policed() {
	local ms
	ms=$(k8s_wait_bound "$1" "$2" "$3") ||
		fail "$1 not bound to $2 3 s after $5: $(polctl_json status | jq -c .interfaces)
$(tail -n 20 "$AGENTD_LOG")"
	echo "MEASURE: $4 policed $ms ms after $5"
	[ "$ms" -le 1000 ] || fail "$4 policed after $ms ms (> 1 s)"
}

# wait_verdict allowed|blocked FROM DST PORT SERVER: polls (1 s probes, 20 at most) until the
# verdict holds; prints the milliseconds it took.
wait_verdict() {
	local want=$1 from=$2 dst=$3 port=$4 server=$5 t0 i out
	t0=$(now_ms)
	for i in $(seq 20); do
		out=$(PROBE_TIMEOUT=1 tcp_probe "$from" "$dst" "$port" 2>/dev/null)
		case "$want:$out" in
		allowed:"$server "*) echo $(($(now_ms) - t0)); return 0 ;;
		blocked:) echo $(($(now_ms) - t0)); return 0 ;;
		esac
		sleep 0.05
	done
	return 1
}
wait_tcp_allowed() { wait_verdict allowed "$@"; }
wait_tcp_blocked() { wait_verdict blocked "$@" -; }

# k8s_wait_applied GEN: waits (3 s at most) until the agent logs a generation above GEN as
# enforced; prints the milliseconds from the watch event to the end of that apply, as the agent
# measured them (its "kubernetes: changes enforced ... seconds_since_event=S" line).
k8s_wait_applied() {
	local gen=$1 i line
	for i in $(seq 300); do
		line=$(grep 'kubernetes: changes enforced' "$AGENTD_LOG" |
			awk -v g="$gen" '{ for (f = 1; f <= NF; f++) if ($f ~ /^generation=/) { split($f, a, "="); if (a[2] + 0 > g) print } }' |
			tail -n 1)
		if [ -n "$line" ]; then
			echo "$line" | sed -n 's/.*seconds_since_event=\([0-9.e+-]*\).*/\1/p' |
				awk '{ printf "%d\n", $1 * 1000 + 0.5 }'
			return 0
		fi
		sleep 0.01
	done
	return 1
}

# probes_start NAME: every 100 ms until probes_stop, 8080 must pass and 9090 must be denied;
# each verdict is a line in $E2E_TMP/NAME.probes.
probes_start() {
	local f=$E2E_TMP/$1.probes
	: >"$f"
	(
		while [ ! -e "$f.stop" ]; do
			if PROBE_TIMEOUT=1 tcp_probe client 198.19.5.10 8080 >/dev/null 2>&1; then
				echo "8080 pass"; else echo "8080 FAIL"; fi
			if PROBE_TIMEOUT=1 tcp_probe client 198.19.5.10 9090 >/dev/null 2>&1; then
				echo "9090 PASSED"; else echo "9090 denied"; fi
			sleep 0.1
		done >>"$f"
	) &
	PROBES_PID=$!
}
probes_stop() {
	local f=$E2E_TMP/$1.probes n
	touch "$f.stop"
	wait "$PROBES_PID"
	n=$(wc -l <"$f")
	[ "$n" -ge 4 ] || fail "$1: only $n probes ran"
	grep -q 'FAIL\|PASSED' "$f" && fail "$1: a probe changed its verdict: $(sort "$f" | uniq -c | tr '\n' ' ')"
	echo "MEASURE: $1: $n probes, every verdict held"
}
