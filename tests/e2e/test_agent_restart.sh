#!/usr/bin/env bash
# kill -9 of the agent under traffic, and its restart (issue 4): the datapath keeps enforcing
# without the agent and across the restart, and the restarted agent adopts the pinned state.
#
# Streams running the whole time (client -> node):
#   - one TCP connection to an echo server on 8443 (allowed), a line every few ms: every line comes
#     back in order, and palisade dropped nothing but the denied probes (all its drop counters
#     add up to exactly the denied datagrams sent);
#   - untracked UDP to 11211 (allowed; classified at XDP on every packet) and a new ICMP echo flow
#     after the other (allowed; each one classified by normal policy): nothing lost;
#   - denied probes: untracked UDP to 11211 from the quarantined 198.18.200.7 (denied at XDP) and
#     UDP to 7781 (normal ingress default deny): nothing delivered.
# Adoption: the same XDP and tc program ids on ext0 before the kill, without the agent and after
# the restart; the XDP drop counter is not reset (it ends at least at the number of denied
# datagrams sent since the start); the generation numbers on from the pinned one.
. "$(dirname "$0")/lib/agentd_test.sh"
. "$here/lib/streams.sh"

# Packets denied at XDP on ext0 (polctl counters: interface -> hooks -> xdp -> verdicts -> deny).
xdp_denies() {
	polctl_json counters | jq -e '.ext0.hooks.xdp.verdicts.deny' ||
		fail "no XDP deny counter for ext0 in polctl counters"
}

# Packets counted by the rule that denies the quarantined source's untracked UDP (per-rule
# counters, pinned like everything else).
quarantine_rule_hits() {
	polctl_json rules | jq '[.[] | select(.interface == "ext0" and .stage == "untracked"
		and .dir == "ingress") | .rules[] | select(.policy == "memcached-untracked"
		and .action == "Deny") | .packets] | add // 0'
}

agentd_test_start --no-services
tcp_echo_server node 8443
udp_sink node 11211 "$E2E_TMP/memcached.rx"
udp_sink node 7781 "$E2E_TMP/u7781.rx"

agentd_start "$E2E_ROOT/policies"
gen1=$(agentd_generation)
ids1=$(agentd_prog_ids)
case "$ids1" in *none*) fail "programs not attached to ext0: $ids1" ;; esac

tcp_stream client 198.18.1.1 8443 "$E2E_TMP/tcp.echo"
udp_stream client 198.18.1.1 11211 - allowed "$E2E_TMP/memcached.sent"
udp_stream client 198.18.1.1 11211 198.18.200.7 denied "$E2E_TMP/quarantined.sent"
udp_stream client 198.18.1.1 7781 - denied7781 "$E2E_TMP/u7781.sent"
ping_stream client 198.18.1.1 "$E2E_TMP/ping.log"
sleep 1
drops1=$(xdp_denies)
hits1=$(quarantine_rule_hits)

t_kill=$(now_ms)
agentd_kill9
log "palisaded killed (-9)"
sleep 1
ids2=$(agentd_prog_ids)
[ "$ids2" = "$ids1" ] || fail "programs changed without the agent: $ids1 -> $ids2"
[ -e "$PINDIR/maps/pal_ifaces" ] || fail "pins gone after kill -9: $(ls -R "$PINDIR")"

t0=$(now_ms)
agentd_start "$E2E_ROOT/policies"
t_ready=$(now_ms)
echo "MEASURE: restarted and ready in $((t_ready - t0)) ms"
grep -q 'adopted the pinned BPF datapath' "$AGENTD_LOG" || fail "the restarted agent did not adopt:
$(tail -n 20 "$AGENTD_LOG")"
ids3=$(agentd_prog_ids)
[ "$ids3" = "$ids1" ] || fail "the restarted agent replaced the programs: $ids1 -> $ids3"
gen2=$(agentd_generation)
[ "$gen2" -gt "$gen1" ] || fail "generation went from $gen1 to $gen2 across the restart"
sleep 1

# The TCP stream's socket, before it closes: no retransmission at all.
ss_out=$(ns client ss -tin dst 198.18.1.1 dport = :8443)
case "$ss_out" in *ESTAB*) ;; *) fail "the TCP stream is not established: $ss_out" ;; esac
retrans=$(printf '%s' "$ss_out" | sed -n 's/.*retrans:[0-9]*\/\([0-9]*\).*/\1/p')
streams_stop

sent=$(lines "$E2E_TMP/memcached.sent")
got=$(grep -c '^allowed ' "$E2E_TMP/memcached.rx")
echo "MEASURE: allowed untracked udp: $got of $sent arrived"
[ "$sent" -gt 300 ] || fail "the allowed UDP stream sent only $sent datagrams"
[ "$got" -eq "$sent" ] || fail "allowed untracked datagrams lost across kill -9 and restart: $got of $sent"
echoed=$(lines "$E2E_TMP/tcp.echo")
echo "MEASURE: tcp stream: $echoed lines echoed"
[ "$echoed" -gt 300 ] || fail "the TCP stream echoed only $echoed lines: $(tail -n 3 "$E2E_TMP/tcp.echo.err")"
tail -n 1 "$E2E_TMP/tcp.echo" | grep -q "^line $echoed\$" ||
	fail "the TCP stream's echoes are not complete and in order: $(tail -n 2 "$E2E_TMP/tcp.echo")"
ok=$(lines "$E2E_TMP/ping.log" "^ok ")
lost=$(lines "$E2E_TMP/ping.log" "^lost ")
echo "MEASURE: ICMP echo flows: $ok answered, $lost lost"
[ "$ok" -gt 50 ] && [ "$lost" -eq 0 ] || fail "ICMP echo flows: $ok answered, $lost lost (kill at $t_kill,
restart at $t0, ready at $t_ready): $(grep lost "$E2E_TMP/ping.log" | head -n 5)
$(polctl_json counters | jq -c '.ext0')"

quarantined=$(lines "$E2E_TMP/quarantined.sent")
leaked=$(grep -c '^denied ' "$E2E_TMP/memcached.rx")
leaked7781=$(lines "$E2E_TMP/u7781.rx")
echo "MEASURE: denied probes: $quarantined quarantined datagrams ($leaked delivered)," \
	"$(lines "$E2E_TMP/u7781.sent") to 7781 ($leaked7781 delivered)"
[ "$quarantined" -gt 300 ] || fail "the denied stream sent only $quarantined datagrams"
[ "$leaked" -eq 0 ] || fail "$leaked quarantined datagrams were delivered"
[ "$leaked7781" -eq 0 ] || fail "$leaked7781 datagrams to 7781 were delivered"

# Every drop palisade counted (all interfaces, hooks and reasons) is one of the denied datagrams:
# nothing allowed was dropped by the datapath. A TCP retransmission is a failure only if palisade
# dropped something it should not have (on a loaded 2-core machine a starved ACK can also make
# TCP retransmit; that is reported, not failed).
d7781=$(udp_datagrams "$E2E_TMP/u7781.sent")
dq=$(udp_datagrams "$E2E_TMP/quarantined.sent")
all_drops=$(polctl_json counters | jq '[.[] | objects | .drops // {} | .[]] | add // 0')
unexpected=$((all_drops - dq - d7781))
echo "MEASURE: palisade drops: $all_drops = $dq quarantined + $d7781 to 7781 + $unexpected others;" \
	"TCP retransmissions: ${retrans:-0}"
[ "$unexpected" -le 0 ] || fail "palisade dropped $unexpected packets that were not denied probes:
$(polctl_json counters | jq -c 'map_values(.drops)')"

# Counters continue: every quarantined datagram was counted at XDP and by its rule, before and
# after the restart (a reset would lose the ones counted before the kill).
dgrams=$(udp_datagrams "$E2E_TMP/quarantined.sent")
drops2=$(xdp_denies)
echo "MEASURE: XDP drops on ext0: $drops1 before the kill, $drops2 at the end, $dgrams quarantined datagrams sent"
[ "$drops2" -gt "$drops1" ] && [ "$drops2" -ge "$dgrams" ] ||
	fail "XDP drop counter reset or short: $drops1 before the kill, $drops2 at the end, $dgrams denied datagrams sent"
hits2=$(quarantine_rule_hits)
echo "MEASURE: quarantine rule hits: $hits1 before the kill, $hits2 at the end"
[ "$hits2" -gt "$hits1" ] && [ "$hits2" -ge "$dgrams" ] ||
	fail "rule counter reset or short: $hits1 before the kill, $hits2 at the end, $dgrams denied datagrams sent"

agentd_stop
sinks_stop
topo_start_services # agent_uninstall_check probes them
agent_uninstall_check
exit 0
