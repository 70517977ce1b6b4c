# palisaded under systemd's notification protocol, with a stand-in for systemd's socket
# (notify_listen.py): READY=1 only once the first policy is applied (not while the initial policy
# is broken), STATUS= lines for degraded and applied, STOPPING=1 on SIGTERM.
. "$(dirname "$0")/lib.sh"
use_netns
# One host endpoint interface; the workload lives on another node (no forward watch).
WEP_NODE=elsewhere
ip -n "$NS" link add pt-eth0 type veth peer name pp-eth0 || fail "cannot create pt-eth0"
ip -n "$NS" link set pt-eth0 up

export NOTIFY_SOCKET=$TMP/notify.sock
python3 "$(dirname "$0")/notify_listen.py" "$NOTIFY_SOCKET" "$TMP/notify.log" "$TMP/record.json" &
EXTRA_PIDS=$!
wait_until 5 test -e "$TMP/notify.log.bound" || fail "notify listener did not start"
notes() { cat "$TMP/notify.log" 2>/dev/null; }
has_note() { grep -q -- "$1" "$TMP/notify.log" 2>/dev/null; }

# A broken initial policy: degraded, and no READY=1 (networking must wait for policy).
write_policy "$TMP/p"
sed -i 's/^  selector:/  selecter:/' "$TMP/p/20-policy.yaml"
ip netns exec "$NS" "$PALISADED" --bpffs "$BPFFS" --node test-node --policy-dir "$TMP/p" \
	--events-socket "$TMP/events.sock" \
	>"$TMP/agent.log" 2>&1 &
AGENT=$!
wait_until 5 has_note "STATUS=degraded: 1 errors, no policy applied yet" ||
	fail "no degraded STATUS: $(notes)"
sleep 0.3
has_note "READY=1" && fail "READY=1 sent while no policy was applied: $(notes)"

# The fix is the first apply: READY=1 now, sent after the backend recorded generation 1.
sed -i 's/^  selecter:/  selector:/' "$TMP/p/20-policy.yaml"
wait_until 5 has_note "READY=1" || fail "no READY=1 after the first apply: $(notes)"
ready=$(grep -- "READY=1" "$TMP/notify.log")
[ "$(echo "$ready" | wc -l)" = 1 ] || fail "READY=1 sent more than once: $(notes)"
[ "${ready%% *}" -ge 1 ] || fail "READY=1 came before the first apply: $(notes)"
has_note "STATUS=enforcing generation 1 on 1 of 1 interfaces" || fail "no applied STATUS: $(notes)"

# Later applies update STATUS only.
kill -HUP "$AGENT"
wait_until 5 has_note "STATUS=enforcing generation 2" || fail "no STATUS after reload: $(notes)"
[ "$(grep -c -- "READY=1" "$TMP/notify.log")" = 1 ] || fail "READY=1 repeated: $(notes)"

stop_agent || fail "agent exited $? on SIGTERM"
wait_until 5 has_note "STOPPING=1" || fail "no STOPPING=1 on SIGTERM: $(notes)"

# A fresh start with a good policy: READY=1 after the first apply.
rm -f "$TMP/notify.log" "$TMP/record.json"
start_agent --policy-dir "$TMP/p"
wait_until 5 has_note "READY=1" || fail "no READY=1 on a good start: $(notes)"
[ "$(grep -- "READY=1" "$TMP/notify.log" | cut -d' ' -f1)" -ge 1 ] ||
	fail "READY=1 came before the first apply: $(notes)"
exit 0
