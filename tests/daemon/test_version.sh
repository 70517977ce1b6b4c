# Versions: palisaded --version and polctl --version print the one version of
# include/palisade/version.h; `polctl version` names the running agent's version (read from its
# executable) and the pinned layout, also one polctl cannot read (another layout version).
. "$(dirname "$0")/lib.sh"
: "${POLCTL:?POLCTL must point at the polctl binary}"
VERSION=$(sed -n 's/^#define PALISADE_VERSION "\(.*\)"$/\1/p' "$ROOT/include/palisade/version.h")
LAYOUT=$(sed -n 's/^#define PAL_LAYOUT_VERSION \([0-9]*\)u$/\1/p' "$ROOT/include/palisade/abi.h")
SUMMARY=$(sed -n 's/^#define PAL_SUMMARY_WORDS \([0-9]*\)u$/\1/p' "$ROOT/include/palisade/abi.h")
[ -n "$VERSION" ] && [ -n "$LAYOUT" ] && [ -n "$SUMMARY" ] || fail "cannot read the versions"
trap 'rm -rf "$BPFFS/maps"; cleanup' EXIT

[ "$("$PALISADED" --version)" = "palisaded $VERSION" ] || fail "palisaded --version: $("$PALISADED" --version)"
[ "$("$POLCTL" --version)" = "polctl $VERSION" ] || fail "polctl --version: $("$POLCTL" --version)"

# Nothing running, nothing pinned: the client's part, exit 0.
out=$("$POLCTL" --bpffs "$BPFFS" -o json version) || fail "polctl version exited $?: $out"
[ "$(jq -r '"\(.client.version) \(.client.layout_version) \(.agent.running) \(.datapath.pinned)"' <<<"$out")" = \
	"$VERSION $LAYOUT false false" ] || fail "version without agent: $out"

# A running agent (null backend): its pid and version.
write_policy "$TMP/p"
start_agent --policy-dir "$TMP/p"
out=$("$POLCTL" --bpffs "$BPFFS" -o json version) || fail "polctl version exited $?: $out"
[ "$(jq -r '"\(.agent.running) \(.agent.pid) \(.agent.version)"' <<<"$out")" = "true $AGENT $VERSION" ] ||
	fail "agent $AGENT $VERSION not reported: $out"
out=$("$POLCTL" --bpffs "$BPFFS" version) || fail "polctl version exited $?"
contains "$out" "palisaded  $VERSION (pid $AGENT)"

# A pinned datapath of an older layout: shown, marked incompatible (the live commands refuse it).
mkdir -p "$BPFFS/maps"
bpftool map create "$BPFFS/maps/pal_version" type array key 4 value 16 entries 1 name pal_version ||
	fail "bpftool map create"
le32() { printf '%08x' "$1" | sed 's/\(..\)\(..\)\(..\)\(..\)/0x\4 0x\3 0x\2 0x\1/'; }
pin_layout() {
	# struct pal_version {magic, layout, summary_words, pad}, little-endian
	bpftool map update pinned "$BPFFS/maps/pal_version" key 0 0 0 0 value \
		$(le32 $((0x50414c49))) $(le32 "$1") $(le32 "$SUMMARY") $(le32 0) || fail "bpftool map update"
}
pin_layout $((LAYOUT - 1))
out=$("$POLCTL" --bpffs "$BPFFS" -o json version) || fail "polctl version exited $?: $out"
[ "$(jq -r '"\(.datapath.pinned) \(.datapath.layout_version) \(.datapath.compatible)"' <<<"$out")" = \
	"true $((LAYOUT - 1)) false" ] || fail "old layout not reported: $out"
out=$("$POLCTL" --bpffs "$BPFFS" version)
contains "$out" "layout $((LAYOUT - 1)) at $BPFFS (not the layout this polctl reads)"
pin_layout "$LAYOUT"
out=$("$POLCTL" --bpffs "$BPFFS" -o json version) || fail "polctl version exited $?: $out"
[ "$(jq -r '"\(.datapath.layout_version) \(.datapath.compatible)"' <<<"$out")" = "$LAYOUT true" ] ||
	fail "current layout not reported: $out"
stop_agent || fail "agent exited $?"
exit 0
