# Live trace == offline trace: the example policies programmed into a datapath, then for a fixed
# pseudo-random set of packets (every direction, interface, protocol family, the ports the
# policies name, DNAT) `polctl trace` on the live maps must give the same verdict, stage, tier,
# policy, rule, action, untracked flag, logged rules and stage list as `polctl trace --policy-dir`.
. "$(dirname "$0")/lib.sh"
P="$ROOT/policies"
setup_ns ext0 mgmt0 pod-web0
program --node demo-node --policy-dir "$P" --generation 7
# the metadata spans more than one chunk of its map (the chunked store and read are exercised)
[ "$(bpftool -j map show pinned "$PIN/maps/pal_meta" | jq .max_entries)" -ge 2 ] ||
	fail "metadata of the example policies fits one chunk: the test no longer covers chunking"

# the workload's lists: its policy tiers, then its profile, then the default deny
expect_rc 0 pc -o json rules --endpoint pod-web0 --dir ingress
json_is '.[0].stage' workload
json_is '[.[0].rules[].kind] | unique | sort | join(",")' "default-deny,end-of-tier,profile-rule,rule"
json_is '[.[0].rules[] | select(.kind == "profile-rule")][0].tier' null
json_is '.[0].rules[-1].kind' default-deny

# the fields both answers must agree on (notes are prose and may differ)
FILTER='{verdict, stage, tier, policy, rule, action, untracked, logged_rule_ids,
	 stages: [.stages[] | {stage, endpoint, direction, outcome, tier, policy, rule}]}'

srcs4=(198.18.1.50 198.18.200.7 198.18.1.20 198.18.1.200 198.18.10.5 198.19.0.10 10.1.2.3)
dsts4=(198.18.1.1 198.18.10.1 198.19.0.10 198.18.1.9 8.8.8.8)
srcs6=(2001:db8:1::50 2001:db8:1::1 2001:db8:10::5 2001:db8:19::10 2001:db8:ff::7)
dsts6=(2001:db8:1::1 2001:db8:10::1 2001:db8:19::10 2001:db8:1::50)
ports=(22 53 68 80 179 443 6443 8080 8443 9090 9999 11211 30080 40000)
ifs=(ext0 mgmt0 pod-web0)
dirs=(ingress egress forward)

RANDOM=4242
n=0 live_ok=0
for ((k = 0; k < 300; k++)); do
	dir=${dirs[RANDOM % 3]}
	in=${ifs[RANDOM % 3]}
	args=(--iface "$in" --dir "$dir")
	if [ "$dir" = forward ]; then
		o=${ifs[RANDOM % 3]}
		[ "$o" = "$in" ] && o=pod-web0
		[ "$o" = "$in" ] && o=ext0
		args+=(--out-iface "$o")
	fi
	v6=$((RANDOM % 4 == 0))
	case $((RANDOM % 5)) in
	0) proto=udp ;; 1) proto=$([ $v6 = 1 ] && echo icmpv6 || echo icmp) ;; *) proto=tcp ;;
	esac
	if [ $v6 = 1 ]; then
		src=${srcs6[RANDOM % ${#srcs6[@]}]}; dst=${dsts6[RANDOM % ${#dsts6[@]}]}
	else
		src=${srcs4[RANDOM % ${#srcs4[@]}]}; dst=${dsts4[RANDOM % ${#dsts4[@]}]}
	fi
	args+=(--proto "$proto" --src "$src" --dst "$dst")
	if [ "$proto" = tcp ] || [ "$proto" = udp ]; then
		dport=${ports[RANDOM % ${#ports[@]}]}
		args+=(--sport $((1024 + RANDOM % 60000)) --dport "$dport")
		if [ $((RANDOM % 6)) = 0 ] && [ $v6 = 0 ]; then
			args+=(--dnat "198.19.0.10:8080")
		fi
	else
		if [ "$proto" = icmpv6 ] && [ $((RANDOM % 4)) = 0 ]; then
			args+=(--icmp-type 135 --icmp-code 0) # neighbour solicitation
		else
			args+=(--icmp-type $((RANDOM % 2 ? 8 : 0)) --icmp-code 0)
		fi
	fi
	expect_rc 0 "$POLCTL" --node demo-node -o json trace --policy-dir "$P" "${args[@]}"
	offline=$(printf '%s' "$out" | jq -S "$FILTER") || fail "offline not JSON: $out"
	expect_rc 0 pc -o json trace "${args[@]}"
	live=$(printf '%s' "$out" | jq -S "$FILTER") || fail "live not JSON: $out"
	[ "$(printf '%s' "$out" | jq -r .source)" = live ] || fail "no source: live in $out"
	[ "$(printf '%s' "$out" | jq -r .generation)" = 7 ] || fail "generation not 7: $out"
	if [ "$offline" != "$live" ]; then
		fail "live and offline differ for: trace ${args[*]}
$(diff <(echo "$offline") <(echo "$live"))"
	fi
	n=$((n + 1))
	[ "$(printf '%s' "$live" | jq -r .verdict)" = allow ] && live_ok=$((live_ok + 1))
done
# the sample must exercise both answers
[ "$live_ok" -gt 20 ] && [ $((n - live_ok)) -gt 20 ] || fail "only $live_ok of $n allowed: sample too one-sided"

# The programs the live trace ran, in order, and what each returned: a host sends through raw
# OUTPUT's filters of the interface (deny, failsafe, allow: sf_out.bpf.c), then tc egress with the
# mark they set. Each run's return code agrees with its trace record, or the trace fails (above,
# every answer was checked so).
progs() { json_is '[.programs[].program | sub("_[0-9]+$"; "")] | join(",")' "$1"; json_is '[.programs[].return | tostring] | join(",")' "$2"; }
expect_rc 0 pc -o json trace --iface ext0 --dir egress --proto udp --src 198.18.1.1 --sport 11211 \
	--dst 198.18.1.50 --dport 40000
json_is .untracked true
progs "sf_out_deny,sf_out_failsafe,sf_out_allow,tc_egress" "0,0,1,0"
expect_rc 0 pc -o json trace --iface ext0 --dir egress --proto tcp --src 198.18.1.1 --sport 40000 \
	--dst 198.18.1.50 --dport 6443
json_is .stage failsafe
progs "sf_out_deny,sf_out_failsafe,tc_egress" "0,1,0"
expect_rc 0 pc -o json trace --iface ext0 --dir ingress --proto tcp --src 198.18.1.50 --sport 40000 \
	--dst 198.18.1.1 --dport 9999
json_is '{verdict, stage} | tojson' '{"verdict":"deny","stage":"normal"}'
progs "tc_ingress,sf_input_deny" "0,1" # filter INPUT's deny filter matches: the packet is dropped
