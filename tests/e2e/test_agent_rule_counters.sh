#!/usr/bin/env bash
# Per-rule counters survive an unrelated policy change (issue 10, item 2): a policy added before
# security.quarantine (same tier, lower order, also applyOnForward: compiled first, so a
# per-compile numbering would give the quarantine rules new ids and reset their counters) leaves
# the quarantine rules' ids and their palisade_rule_packets_total series untouched, and so does
# a restart of the agent.
. "$(dirname "$0")/lib/agentd_test.sh"

agentd_test_start
dir=$(policy_dir_copy)
agentd_start "$dir"

send() { # N datagrams from the blocked range to udp 7781: Log hit + Deny (security.quarantine)
	ns client python3 -c '
import socket, sys
for i in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("198.18.200.7", 0))
    s.sendto(b"count-me", ("198.18.1.1", 7781))
    s.close()' "$1" || fail "sender failed"
}
series='palisade_rule_packets_total{kind="policy",tier="security",policy="security.quarantine",namespace="",direction="ingress",index="0",action="Log"}'
hits() {
	ns node curl -s -m 5 "http://127.0.0.1:$AGENTD_PORT/metrics" |
		awk -v s="$series" '$1 == s { print $2; found = 1 } END { if (!found) print "none" }'
}
rule_ids() { # "id id" of the quarantine rules, from the pinned metadata (polctl rules)
	polctl_json rules | jq -r '[.. | objects | select(.policy? == "security.quarantine") |
		(.rule_id // .id)] | unique | map(tostring) | join(" ")'
}
wait_hits() {
	local want=$1
	for _ in $(seq 50); do [ "$(hits)" = "$want" ] && return 0; sleep 0.1; done
	fail "$series is $(hits), want $want"
}

send 5
wait_hits 5
ids_before=$(rule_ids)
[ -n "$ids_before" ] || fail "polctl rules shows no rule ids for security.quarantine"
log "security.quarantine rule ids: $ids_before"
gen=$(agentd_generation)

cat >"$dir/05-early.yaml" <<'YAML'
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: security.early
spec:
  tier: security
  order: 5
  applyOnForward: true
  selector: all()
  types: [Ingress]
  ingress:
    - action: Pass
      protocol: TCP
      destination:
        ports: [4444]
YAML
for _ in $(seq 50); do [ "$(agentd_generation)" -gt "$gen" ] && break; sleep 0.1; done
[ "$(agentd_generation)" -gt "$gen" ] || fail "the new policy was not applied"
polctl_json rules | grep -q security.early || fail "security.early is not in force"

[ "$(rule_ids)" = "$ids_before" ] || fail "the quarantine rules' ids moved: $ids_before -> $(rule_ids)"
[ "$(hits)" = 5 ] || fail "the Log rule's counter did not survive the change: $(hits), want 5"
send 2
wait_hits 7

# A restarted agent keeps the ids the pinned datapath has (its metadata): numbered afresh, the
# quarantine rules would come after security.early's and lose their counts.
agentd_stop
agentd_start "$dir"
[ "$(rule_ids)" = "$ids_before" ] || fail "the quarantine rules' ids moved on restart: $ids_before -> $(rule_ids)"
[ "$(hits)" = 7 ] || fail "the Log rule's counter did not survive the restart: $(hits), want 7"
send 1
wait_hits 8

agentd_stop
agent_uninstall_check
