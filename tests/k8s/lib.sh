# shellcheck shell=bash
# The replay API server (replay_server.py) from bash tests. Source, then:
#
#   k8s_start DIR [ARGS...]   start a server with its state in DIR (TLS files, control socket,
#                             kubeconfig DIR/kubeconfig, log DIR/server.log; token "t0-$RANDOM..."
#                             in K8S_TOKEN) on a free 127.0.0.1 port; ARGS go to the server
#                             (--fixture F, --serve-v3, --disable-group G ...). Prefix with
#                             K8S_RUN="nsenter --net=..." to run it inside a namespace.
#                             Sets K8S_PID, K8S_PORT, K8S_CTL, K8S_KUBECONFIG.
#   k8s_ctl METHOD PATH [JSON]   the control interface (fails on a non-2xx answer)
#   k8s_put JSON|@FILE        add or modify objects (an object, a List or an array)
#   k8s_delete APIVERSION KIND NAMESPACE NAME   (NAMESPACE "" for cluster objects)
#   k8s_rv                    the server's current resourceVersion
#   k8s_stop                  stop the server (TERM, bounded wait, KILL)
#   k8s_kill9                 kill -9 the server
#   k8s_restart               start it again on the same port with the same arguments (with
#                             --state FILE among them it resumes its objects, without history)
#   k8s_kubectl ARGS...       kubectl --kubeconfig $K8S_KUBECONFIG ARGS
#   k8s_state_file RUNDIR BPFFS   the path of palisaded's state file (docs/kubernetes-datastore.md,
#                             "Across restarts") for the event socket directory RUNDIR and the
#                             pin directory BPFFS (spelled canonically: absolute, no "//", "."
#                             or trailing "/")

K8S_PID="" K8S_PORT="" K8S_CTL="" K8S_KUBECONFIG="" K8S_TOKEN="" K8S_DIR=""
K8S_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$K8S_LIB_DIR/../lib/proc.sh"

K8S_ARGS=()

k8s_start() {
	K8S_DIR=$1; shift
	K8S_ARGS=("$@")
	mkdir -p "$K8S_DIR"
	command -v python3 >/dev/null || { echo "FAIL: python3 missing (scripts/install-deps.sh)" >&2; return 1; }
	command -v openssl >/dev/null || { echo "FAIL: openssl missing" >&2; return 1; }
	K8S_TOKEN=${K8S_TOKEN:-t0-$RANDOM$RANDOM}
	K8S_CTL=$K8S_DIR/control.sock
	K8S_KUBECONFIG=$K8S_DIR/kubeconfig
	rm -f "$K8S_DIR/port"
	${K8S_RUN:-} python3 "$K8S_LIB_DIR/replay_server.py" --tls-dir "$K8S_DIR/tls" \
		--token "$K8S_TOKEN" --control "$K8S_CTL" --port-file "$K8S_DIR/port" \
		--kubeconfig-out "$K8S_KUBECONFIG" "$@" </dev/null >>"$K8S_DIR/server.log" 2>&1 &
	K8S_PID=$!
	local i
	for i in $(seq 100); do
		[ -s "$K8S_DIR/port" ] && break
		kill -0 "$K8S_PID" 2>/dev/null || break
		sleep 0.1
	done
	[ -s "$K8S_DIR/port" ] || { echo "FAIL: replay server did not start: $(tail -5 "$K8S_DIR/server.log")" >&2; return 1; }
	K8S_PORT=$(cat "$K8S_DIR/port")
}

k8s_ctl() {
	local method=$1 path=$2 body=${3:-}
	local out code
	out=$(curl -sS -m 10 --unix-socket "$K8S_CTL" -X "$method" -w '\n%{http_code}' \
		${body:+--data-binary "$body"} "http://replay$path") || return 1
	code=${out##*$'\n'}
	printf '%s\n' "${out%$'\n'*}"
	case "$code" in 2??) return 0 ;; esac
	echo "replay control $method $path: HTTP $code" >&2
	return 1
}

k8s_put() { k8s_ctl POST /objects "$1" >/dev/null; }

k8s_delete() {
	k8s_ctl POST /delete "$(printf '{"apiVersion":"%s","kind":"%s","metadata":{"namespace":"%s","name":"%s"}}' "$@")" >/dev/null
}

k8s_rv() { k8s_ctl GET /state | jq -r .resourceVersion; }

k8s_stop() { proc_stop_var K8S_PID 30; }

k8s_kill9() {
	[ -n "$K8S_PID" ] || return 0
	kill -9 "$K8S_PID" 2>/dev/null
	wait "$K8S_PID" 2>/dev/null
	K8S_PID=""
}

k8s_restart() {
	local port=$K8S_PORT args=("${K8S_ARGS[@]}")
	k8s_start "$K8S_DIR" --port "$port" "${args[@]}"
}

k8s_state_file() {
	printf '%s/k8s-state/k8s-objects-%s.json\n' "$1" "$(printf %s "$2" | sha256sum | cut -c1-16)"
}
k8s_kubectl() { kubectl --kubeconfig "$K8S_KUBECONFIG" --request-timeout=10s "$@"; }

# k8s_gnp API_VERSION NAME N RULE_FORMAT: a GlobalNetworkPolicy of all() with N ingress rules,
# rule i being RULE_FORMAT printed with 20 + i (a format without %d prints as it is).
k8s_gnp() {
	local rules="" i
	for i in $(seq "$3"); do
		# shellcheck disable=SC2059 # the rule is the format
		rules="$rules${rules:+,}$(printf "$4" $((20 + i)))"
	done
	printf '{"apiVersion":"%s","kind":"GlobalNetworkPolicy","metadata":{"name":"%s"},"spec":{"selector":"all()","ingress":[%s]}}' \
		"$1" "$2" "$rules"
}
