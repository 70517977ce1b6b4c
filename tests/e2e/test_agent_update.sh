#!/usr/bin/env bash
# A policy change written while traffic flows (issue 4): the running agent enforces it within
# ~100 ms of the write, and no packet of a flow allowed by both policies is dropped meanwhile.
#
#   - palisaded runs on a copy of policies/ (inotify, no --once);
#   - three streams run all the time: untracked UDP to the node's 11211 (classified at XDP on
#     every packet, so it goes through the flip itself), a new ICMP echo flow after the other
#     (each one classified by normal ingress policy), and UDP to the node's 7781, denied by the
#     default deny until the change;
#   - the change: a policy allowing udp 7781 is written (rename of a complete file, as editors
#     and ConfigMaps do). The time from the write to the send time of the first 7781 datagram that
#     got through is measured and printed (not asserted on a timer: the machine may be slow);
#   - asserted: 7781 passes after the change and every datagram sent after the first one that
#     passed arrives; nothing of 7781 arrived before the write; the 11211 stream and the echo
#     flows lost nothing.
. "$(dirname "$0")/lib/agentd_test.sh"
. "$here/lib/streams.sh"

agentd_test_start --no-services
udp_sink node 11211 "$E2E_TMP/memcached.rx"
udp_sink node 7781 "$E2E_TMP/u7781.rx"

dir=$(policy_dir_copy)
agentd_start "$dir"

udp_stream client 198.18.1.1 11211 - both "$E2E_TMP/memcached.sent"
udp_stream client 198.18.1.1 7781 - new "$E2E_TMP/u7781.sent"
ping_stream client 198.18.1.1 "$E2E_TMP/ping.log"
sleep 1
[ "$(lines "$E2E_TMP/u7781.rx")" -eq 0 ] ||
	fail "udp 7781 reached the node before the change: $(head -n 3 "$E2E_TMP/u7781.rx")"
[ "$(lines "$E2E_TMP/u7781.sent")" -gt 50 ] || fail "the 7781 stream is not sending"

cp "$here/fixtures/80-allow-udp-7781.yaml" "$E2E_TMP/80-allow-7781.yaml" || fail "copy the policy"
t_write=$(now_ms)
mv "$E2E_TMP/80-allow-7781.yaml" "$dir/80-allow-7781.yaml" || fail "write the policy"

for i in $(seq 50); do
	[ "$(lines "$E2E_TMP/u7781.rx")" -gt 0 ] && break
	sleep 0.1
done
[ "$(lines "$E2E_TMP/u7781.rx")" -gt 0 ] ||
	fail "udp 7781 still blocked 5 s after the policy change:
$(tail -n 20 "$AGENTD_LOG")"
sleep 1
streams_stop

# The first datagram that got through, by its send time; its sequence number.
read -r _ t_first seq_first < <(sort -n -k3 "$E2E_TMP/u7781.rx" | head -n 1)
[ "$t_first" -ge "$t_write" ] || fail "a 7781 datagram sent before the write arrived"
last_denied=$(awk -v s="$seq_first" '$3 == s - 1 { print $2 }' "$E2E_TMP/u7781.sent")
applied=$(grep -c 'policy applied' "$AGENTD_LOG")
echo "MEASURE: policy change enforced $((t_first - t_write)) ms after the write (last datagram denied" \
	"sent at +$((${last_denied:-$t_write} - t_write)) ms, one every ~${STREAM_GAP}s; agent" \
	"applies so far: $applied)"

# From the first allowed datagram on, every one arrived.
sent_after=$(awk -v s="$seq_first" '$3 >= s' "$E2E_TMP/u7781.sent" | wc -l)
got_after=$(awk -v s="$seq_first" '$3 >= s' "$E2E_TMP/u7781.rx" | sort -u | wc -l)
[ "$got_after" -eq "$sent_after" ] ||
	fail "udp 7781 after the change: $got_after of $sent_after datagrams arrived"

# The new rule's counter counts the new flow's classified packets only (later ones are
# established), not hits of whichever rule had its id before the change (ids are per compile).
hits=$(polctl_json rules | jq '[.[] | .rules[] | select(.policy == "allow-udp-7781") | .packets]
	| max // 0')
echo "MEASURE: allow-udp-7781 rule hits: $hits (the flow's first packet; $got_after datagrams arrived)"
[ "$hits" -ge 1 ] && [ "$hits" -le "$got_after" ] ||
	fail "allow-udp-7781 counted $hits packets for $got_after delivered datagrams"

# Allowed by both policies: nothing lost across the change.
sent=$(lines "$E2E_TMP/memcached.sent")
got=$(sort -u "$E2E_TMP/memcached.rx" | wc -l)
echo "MEASURE: untracked udp 11211 (allowed by both): $got of $sent datagrams arrived"
[ "$sent" -gt 200 ] || fail "the 11211 stream sent only $sent datagrams"
[ "$got" -eq "$sent" ] || fail "allowed untracked datagrams were dropped: $got of $sent arrived"
ok=$(lines "$E2E_TMP/ping.log" "^ok ")
lost=$(lines "$E2E_TMP/ping.log" "^lost ")
echo "MEASURE: ICMP echo flows (allowed by both): $ok answered, $lost lost"
[ "$ok" -gt 20 ] || fail "the echo stream made only $ok exchanges"
[ "$lost" -eq 0 ] || fail "$lost allowed echo flows were dropped during the change"

agentd_stop
sinks_stop
topo_start_services # agent_uninstall_check probes them
agent_uninstall_check
exit 0
