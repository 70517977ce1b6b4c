#!/usr/bin/env bash
# Calico's API server stops serving projectcalico.org/v3 while palisaded watches Calico's
# resources there: until discovery moves them to the CRDs (at most every 10 s after a 404), the
# v3 informers relist (a resync every 200 ms here) and get 404. A resource that was served and
# now answers 404 keeps its last state: the v3 policy stays in force through the window, never an
# empty set, and the CRD's version replaces it once discovery moved the resource.
# (An informer once treated that 404 as "not installed" and emptied its store: for one reload
# the Calico policy was gone.)
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/k8s/lib.sh"
use_k8s_netns

# gnp API_VERSION NAME N: a GlobalNetworkPolicy of all() with N Deny rules, to ports 21..20+N
gnp() { k8s_gnp "$1" "$2" "$3" '{"action":"Deny","protocol":"TCP","destination":{"ports":[%d]}}'; }
hep() { printf '{"apiVersion":"%s","kind":"HostEndpoint","metadata":{"name":"hep"},"spec":{"node":"test-node","interfaceName":"eth9"}}' "$1"; }
refs() { rec .rule_refs; }
refs_are() { [ "$(refs)" = "$1" ]; }

k8s_start "$TMP/k8s" --serve-v3 || fail "replay server"
k8s_put "$(hep crd.projectcalico.org/v1)" || fail "put crd hep"
k8s_put "$(gnp crd.projectcalico.org/v1 deny-crd 1)" || fail "put crd policy"
k8s_put "$(hep projectcalico.org/v3)" || fail "put v3 hep"
k8s_put "$(gnp projectcalico.org/v3 deny-v3 2)" || fail "put v3 policy"
rm -f "$TMP/record.json"
PALISADED_K8S_RESYNC_MS=200 start_agent --datastore kubernetes --kubeconfig "$K8S_KUBECONFIG" \
	--kubernetes-discovery-interval 3600
wait_until 5 grep -q 'Calico resources group=projectcalico.org/v3' "$TMP/agent.log" ||
	fail "v3 not chosen: $(grep 'Calico resources' "$TMP/agent.log")"
wait_until 5 refs_are 2 || fail "the v3 policy's two rules: rule_refs $(refs)"

# v3 goes away; every sample of what is applied must be the v3 policy (2) until the move, then
# the CRD's (1): never 0 (no policy at all).
k8s_ctl POST /serve-v3 '{"serve":false}' >/dev/null || fail "control: stop serving v3"
seen=""
end=$(($(date +%s%N) + 20000000000))
while [ "$(date +%s%N)" -lt "$end" ]; do
	r=$(refs)
	case " $seen " in *" $r "*) ;; *) seen="$seen $r" ;; esac
	grep -q 'Calico resources group=crd.projectcalico.org/v1 from_v3=0 moved=6' "$TMP/agent.log" &&
		refs_are 1 && break
	sleep 0.02
done
grep -q 'Calico resources group=crd.projectcalico.org/v1 from_v3=0 moved=6' "$TMP/agent.log" ||
	fail "not moved to the CRDs: $(grep 'Calico resources\|404' "$TMP/agent.log" | tail -5)"
refs_are 1 || fail "on the CRDs: rule_refs $(refs), want 1"
[ "$seen" = " 2 1" ] || [ "$seen" = " 2" ] ||
	fail "rule_refs during the move went through:$seen (want 2 then 1; anything else is a policy gone)"
n=$(grep -c 'request failed.*projectcalico.org/v3.*404' "$TMP/agent.log")
[ "$n" -ge 1 ] || fail "no v3 request got 404 in the window: the test did not test the window"
grep -q 'no longer served, its last state stays in force' "$TMP/agent.log" ||
	fail "no relist got the 404 in the window (the resync did not run): $(grep -c 'request failed' "$TMP/agent.log") failures"
stop_agent || fail "SIGTERM: exit $?"
exit 0
