#!/usr/bin/env bash
# A full map fails closed and says which setting to raise (issue 9, scale): palisaded with a
# --max-classes that holds the demo policy but not a shop policy that denies the client among 400
# other addresses. The apply that needs more pal_classes entries fails as a whole, the agent logs
# the map and the option (--max-classes), and the previous policy stays in force (the client still
# reaches web:8080, 9090 stays blocked). A restart with a larger --max-classes on the pinned
# datapath warns that the pinned map keeps its size; after `palisaded --uninstall` the default
# size holds the policy and the deny is enforced.
. "$(dirname "$0")/lib/agentd_test.sh"

agentd_test_start

classes_used() {
	polctl_json status | jq '.maps[] | select(.name == "pal_classes") | .used'
}
classes_max() {
	polctl_json status | jq '.maps[] | select(.name == "pal_classes") | .max'
}
# write_deny FILE: shop/web ingress denies the client (198.18.1.50) and 400 addresses that no
# prefix can merge (every other one), ahead of web-http; two rules (at most 256 nets a rule).
write_deny() {
	local r i
	{
		printf '%s\n' '# tests/e2e/test_capacity_maps.sh: 401 source addresses denied.' \
			'apiVersion: projectcalico.org/v3' 'kind: NetworkPolicy' 'metadata:' \
			'  name: capacity-deny' '  namespace: shop' 'spec:' '  order: 10' \
			"  selector: app == 'web'" '  types: [Ingress]' '  ingress:'
		for r in 0 1; do
			printf '%s\n' '    - action: Deny' '      source:' '        nets:'
			[ "$r" -eq 0 ] && echo '          - 198.18.1.50/32'
			for i in $(seq $((r * 200)) $((r * 200 + 199))); do
				printf '          - 198.18.%d.%d/32\n' $((128 + i / 100)) $((i % 100 * 2 + 1))
			done
		done
	} >"$1"
}

dir=$(policy_dir_copy)
# 1. The demo policy at the default size: how many entries it takes.
agentd_start "$dir"
base=$(classes_used)
[ "$base" -gt 0 ] || fail "pal_classes holds $base entries after the demo policy"
echo "MEASURE: pal_classes entries for the demo policy: $base of $(classes_max)"
agentd_stop
agent_uninstall_check

# 2. A datapath with room for the demo policy three times over (an apply writes the new lists
# beside the old ones), not for 400 more addresses per list.
small=$((3 * base))
agentd_start "$dir" --max-classes "$small"
[ "$(classes_max)" -eq "$small" ] || fail "pal_classes is $(classes_max) entries, want $small"
gen=$(agentd_generation)
expect_tcp client 198.19.0.10 8080 - web:8080
write_deny "$E2E_TMP/85-capacity-deny.yaml"
mv "$E2E_TMP/85-capacity-deny.yaml" "$dir/"
agentd_wait_log 'datapath update failed|policy rejected' 100
err=$(grep -m 1 'pal_classes' "$AGENTD_LOG")
echo "MEASURE: agent log: $err"
case "$err" in *--max-classes*maxClasses*) ;;
*) fail "the apply error does not name pal_classes and --max-classes: $(tail -n 20 "$AGENTD_LOG")" ;;
esac
grep -q 'datapath update failed, last good policy stays in force' "$AGENTD_LOG" ||
	fail "the agent did not keep the last good policy: $(tail -n 20 "$AGENTD_LOG")"
[ "$(agentd_generation)" = "$gen" ] || fail "generation changed: $gen -> $(agentd_generation)"
ready=$(agentd_readyz)
case "$ready" in 503\ *) ;; *) fail "/readyz does not report the failed apply: $ready" ;; esac
# the previous policy, not an open door and not the half-written new one
expect_tcp client 198.19.0.10 8080 - web:8080
expect_tcp_blocked client 198.19.0.10 9090 -

# 3. A larger --max-classes on the pinned datapath: warned about, not applied.
rm "$dir/85-capacity-deny.yaml"
agentd_stop
agentd_start "$dir" --max-classes 1000000
grep -q 'a pinned map keeps the size it was created with.*map=pal_classes.*pinned='"$small"'.*configured=1000000.*--max-classes' "$AGENTD_LOG" ||
	fail "no warning naming pal_classes, both sizes and the option: $(grep -i pinned "$AGENTD_LOG")"
echo "MEASURE: $(grep -m 1 'map=pal_classes' "$AGENTD_LOG")"
[ "$(classes_max)" -eq "$small" ] || fail "the pinned pal_classes changed size: $(classes_max)"
agentd_stop
agent_uninstall_check

# 4. After --uninstall the default size holds it: the deny is enforced.
write_deny "$dir/85-capacity-deny.yaml"
agentd_start "$dir"
echo "MEASURE: pal_classes entries with the 401-address deny: $(classes_used) of $(classes_max)"
expect_tcp_blocked client 198.19.0.10 8080 -
agentd_stop
agent_uninstall_check
exit 0
