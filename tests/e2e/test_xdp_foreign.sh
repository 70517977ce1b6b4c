#!/usr/bin/env bash
# Another program's XDP on a host endpoint's interface is never replaced (issue 7, defect 12): a
# trivial foreign XDP program (XDP_PASS) is attached to ext0 before palisaded starts. palisaded
# must refuse with an error naming ext0, leave the foreign program attached (same id, also after
# --uninstall), still police ext0 through tc (tc ingress evaluates the XDP stages itself: the
# host's deny of tcp 9999 and the untracked deny of udp 11211 from 198.18.200.7 hold) and /readyz
# must answer 503 naming ext0. The code before the fix replaced the foreign program silently.
. "$(dirname "$0")/lib/agentd_test.sh"

command -v clang >/dev/null 2>&1 || fail "missing command: clang (make deps)"
agentd_test_start

xdp_id() { ns node ip -d link show dev ext0 | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p' | head -n 1; }

cat >"$E2E_TMP/xdp_foreign.c" <<'EOF'
/* tests/e2e/test_xdp_foreign.sh: someone else's XDP program; passes everything. */
#include <linux/bpf.h>
__attribute__((section("xdp"), used)) int foreign_pass(struct xdp_md *ctx) { (void)ctx; return XDP_PASS; }
char LICENSE[] __attribute__((section("license"), used)) = "GPL";
EOF
clang -O2 -target bpf -I/usr/include/"$(uname -m)"-linux-gnu -c "$E2E_TMP/xdp_foreign.c" \
	-o "$E2E_TMP/xdp_foreign.o" || fail "cannot build the foreign XDP program"
ns node ip link set dev ext0 xdpdrv obj "$E2E_TMP/xdp_foreign.o" sec xdp ||
	fail "cannot attach the foreign XDP program to ext0"
foreign=$(xdp_id)
[ -n "$foreign" ] || fail "no XDP program on ext0 after attaching the foreign one"
log "foreign XDP program id $foreign on ext0"

# Not agentd_start: it waits for 200 on /readyz, which must not come.
dir=$(policy_dir_copy)
AGENTD_LOG=$E2E_TMP/palisaded.log
TOPO_AGENT_USED=1
nf_snapshot >"$E2E_TMP/nf.before"
nsenter --net="/var/run/netns/${PFX}node" -- "$PALISADED" --policy-dir "$dir" \
	--node demo-node --bpffs "$PINDIR" --health "127.0.0.1:$AGENTD_PORT" \
	--events-socket "$E2E_TMP/events.sock" \
	</dev/null >>"$AGENTD_LOG" 2>&1 &
AGENTD_PID=$!
ready=""
for i in $(seq 100); do
	ready=$(agentd_readyz)
	case "$ready" in 503\ *generation*) break ;; esac
	kill -0 "$AGENTD_PID" 2>/dev/null || fail "palisaded exited: $(tail -n 20 "$AGENTD_LOG")"
	sleep 0.1
done
echo "MEASURE: /readyz with a foreign XDP program on ext0: $ready"
case "$ready" in
503\ *ext0*) ;;
*) fail "/readyz does not answer 503 naming ext0: $ready" ;;
esac
grep -q 'ext0.*already has XDP program .*foreign_pass.*refusing to replace it' "$AGENTD_LOG" ||
	fail "no clear error naming ext0 and the foreign program in the log:
$(tail -n 20 "$AGENTD_LOG")"
[ "$(xdp_id)" = "$foreign" ] || fail "the foreign XDP program (id $foreign) was replaced by id $(xdp_id)"

# tc polices ext0: the host policy and the untracked deny hold without palisade's XDP.
ns node tc filter show dev ext0 ingress | grep -q tc_ingress || fail "no tc_ingress on ext0"
expect_tcp client 198.18.1.1 8443 - node:8443
expect_tcp_blocked client 198.18.1.1 9999 -
expect_udp_blocked client 198.18.1.1 11211 198.18.200.7
# the other host endpoint is attached as usual (tc; no XDP: it has no untracked ingress policy)
ns node tc filter show dev mgmt0 ingress | grep -q tc_ingress || fail "no tc_ingress on mgmt0"
ns node ip -d link show dev mgmt0 | grep -q 'prog/xdp' && fail "an XDP program on mgmt0, which has no untracked ingress policy"
# the agent retries unattached interfaces every 10 s: a retry must not count ext0 attached
sleep 11
case "$(agentd_readyz)" in
503\ *ext0*) ;;
*) fail "after the agent's retry, /readyz no longer names ext0: $(agentd_readyz)" ;;
esac
[ "$(xdp_id)" = "$foreign" ] || fail "the retry replaced the foreign XDP program: id $(xdp_id)"

agentd_stop
timeout 30 nsenter --net="/var/run/netns/${PFX}node" -- "$PALISADED" --uninstall --bpffs "$PINDIR" \
	>"$E2E_TMP/uninstall-1.log" 2>&1 || fail "palisaded --uninstall: $(cat "$E2E_TMP/uninstall-1.log")"
[ "$(xdp_id)" = "$foreign" ] || fail "--uninstall removed the foreign XDP program (now: '$(xdp_id)')"
ns node ip link set dev ext0 xdpdrv off || fail "detaching the foreign XDP program"
agent_uninstall_check
exit 0
