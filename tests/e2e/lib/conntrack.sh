# shellcheck shell=bash
# Assertions on the kernel's conntrack table of the node namespace (`conntrack -L` run inside it;
# every namespace has its own table, so another run's flows never show up here). Source after
# topology.sh.
#
#   ct_list FAMILY [FILTERS...]       the matching entries (FAMILY ipv4|ipv6; FILTERS are
#                                     conntrack(8)'s: -p tcp --dport 8443 -s 198.18.1.50 ...)
#   ct_count FAMILY [FILTERS...]      how many
#   ct_flush                          empty the table (before a scenario, so old entries never count)
#   expect_ct_entry WHAT FAMILY [FILTERS...]   at least one entry; WHAT names the flow in messages
#   expect_ct_none  WHAT FAMILY [FILTERS...]   no entry at all (an untracked flow)
#
# Filters refer to the original direction (-s/-d/--sport/--dport), as conntrack(8) does.

ct_list() {
	local fam=$1; shift
	local out errf
	errf=$(mktemp)
	# The "N flow entries have been shown" summary goes to stderr; only entries reach stdout. A
	# failing conntrack must not read as an empty table (that would pass every "untracked" check).
	out=$(ns node conntrack -L -f "$fam" "$@" 2>"$errf") ||
		{ cat "$errf" >&2; rm -f "$errf"; fail "conntrack -L -f $fam $* failed"; }
	grep -q 'flow entries have been shown' "$errf" ||
		{ cat "$errf" >&2; rm -f "$errf"; fail "conntrack -L -f $fam $*: unexpected output"; }
	rm -f "$errf"
	[ -n "$out" ] && printf '%s\n' "$out"
	return 0
}

# Called as n=$(ct_count ...): a failure inside exits only the subshell, so check the result.
ct_count() {
	local out
	out=$(ct_list "$@") || exit 1
	printf '%s\n' "$out" | grep -c .
	return 0
}

ct_flush() {
	ns node conntrack -F -f ipv4 >/dev/null 2>&1
	ns node conntrack -F -f ipv6 >/dev/null 2>&1
	return 0
}

expect_ct_entry() {
	local what=$1; shift
	local n
	n=$(ct_count "$@") || fail "conntrack failed"
	[ "$n" -ge 1 ] || fail "conntrack: no entry for $what (conntrack -L -f $*); table:
$(ct_list "$1")"
}

expect_ct_none() {
	local what=$1; shift
	local got
	got=$(ct_list "$@") || fail "conntrack failed"
	[ -z "$got" ] || fail "conntrack: $what must be untracked, found:
$got"
}

# The kernel's conntrack state of the node's IPv4 TCP connection SPORT -> DPORT ("" when none).
ct_tcp_state() { ct_list ipv4 -p tcp --sport "$1" --dport "$2" | awk '{print $4}' | head -n1; }

# A field of palisade's entry for the TCP connection with port PORT on either side (polctl flows;
# "null" when there is none). Needs agent.sh's polctl_json.
tcp_flow_field() {
	polctl_json flows | jq -r --arg f "$2" --argjson p "$1" \
		'[.[] | select(.proto == "tcp" and (.sport == $p or .dport == $p))][0][$f]'
}

# After WHO's abort (an RST) of the connection SPORT -> DPORT: palisade's entry is in close and
# the kernel's conntrack entry CLOSE or gone.
expect_abort_closed() {
	local sport=$1 dport=$2 who=$3 cs
	[ "$(tcp_flow_field "$sport" state)" = close ] ||
		fail "$who's abort did not close the entry: $(polctl_json flows | jq -c .) rst_ignored $(polctl_json status | jq '.flows.rst_ignored')"
	cs=$(ct_tcp_state "$sport" "$dport")
	[ -z "$cs" ] || [ "$cs" = CLOSE ] || fail "conntrack after $who's abort: $cs"
	log "$who's abort closed the entry (conntrack: ${cs:-gone})"
}
