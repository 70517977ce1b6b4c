# Flags and the config file: bad flags exit 2 with a message; --help lists every flag and key;
# the config file's keys take effect and flags override them; a bad key names file:line.
. "$(dirname "$0")/lib.sh"

expect_rc() {
	local want=$1; shift
	"$@" >"$TMP/out" 2>&1
	local rc=$?
	[ "$rc" = "$want" ] || fail "exit $rc, want $want: $* -> $(cat "$TMP/out")"
}
expect_rc 2 "$PALISADED" --bogus
contains "$(cat "$TMP/out")" "unknown option --bogus"
expect_rc 2 "$PALISADED" --policy-dir x --xdp-mode fast
contains "$(cat "$TMP/out")" "xdp mode must be auto, native, generic or off"
expect_rc 2 "$PALISADED" --policy-dir x --health localhost
expect_rc 2 "$PALISADED" --policy-dir x --failsafe-in tcp:99999
expect_rc 2 "$PALISADED" --policy-dir x --endpoint-to-host-action maybe
expect_rc 2 "$PALISADED" --policy-dir x --log-level loud
expect_rc 2 "$PALISADED" --policy-dir x --bpffs relative/dir
expect_rc 2 "$PALISADED" --policy-dir x stray-argument
expect_rc 2 "$PALISADED" --once --uninstall --policy-dir x
expect_rc 2 "$PALISADED"
contains "$(cat "$TMP/out")" "no policy directory"
[ ! -e "$BPFFS" ] || fail "a usage error created $BPFFS"

expect_rc 0 "$PALISADED" --help
for f in config policy-dir node bpffs interfaces xdp-mode failsafe-in failsafe-out health metrics \
	endpoint-to-host-action log-format log-level once uninstall; do
	contains "$(cat "$TMP/out")" "--$f"
done
for k in policyDirs node bpffs interfaces xdpMode failsafeIn failsafeOut health metrics \
	endpointToHostAction logFormat logLevel; do
	contains "$(cat "$TMP/out")" "[$k]"
done
# Every option of the table (the lines of "options") is in the synopsis, and docs/operations.md
# shows the same synopsis and a table row for each option with its config key.
: "${ROOT:?}"
opsdoc=$ROOT/docs/operations.md
awk '/^$/ { exit } { print }' "$TMP/out" >"$TMP/synopsis"
sed -n '/^options /,/^$/p' "$TMP/out" | grep -- '^  --' >"$TMP/options"
[ "$(wc -l <"$TMP/options")" -ge 30 ] || fail "--help lists only $(wc -l <"$TMP/options") options"
awk '/^## Command line/ { sec = 1 } sec && /^```/ { if (in_block) exit; in_block = 1; next }
	in_block { print }' "$opsdoc" >"$TMP/doc-synopsis"
diff -u "$TMP/doc-synopsis" "$TMP/synopsis" >"$TMP/diff" ||
	fail "docs/operations.md's synopsis is not palisaded --help's: $(cat "$TMP/diff")"
while read -r flag _; do
	grep -qF -- "[$flag" "$TMP/synopsis" || fail "$flag missing from the --help synopsis"
	grep -qF -- "| \`$flag" "$opsdoc" || grep -qF -- ", \`$flag\`" "$opsdoc" ||
		fail "$flag has no row in docs/operations.md's option table"
done <"$TMP/options"
grep -o '\[[a-zA-Z]*\]$' "$TMP/options" | tr -d '[]' | while read -r key; do
	grep -qF -- "| \`$key\`" "$opsdoc" || fail "config key $key missing from docs/operations.md's table"
done || exit 1
expect_rc 0 "$PALISADED" --version

# The config file sets the policy directory, the node and JSON logs.
write_policy "$TMP/p"
cat >"$TMP/cfg.yaml" <<YAML
policyDirs: ["$TMP/p"]
node: test-node
bpffs: $BPFFS
logFormat: json
failsafeIn: [tcp:22, "udp:68"]
interfaces: "pt-fwd*,pt-x*"
YAML
expect_rc 0 "$PALISADED" --config "$TMP/cfg.yaml" --once
head -n1 "$TMP/out" | jq -e '.msg == "palisaded starting" and .node == "test-node"' >/dev/null ||
	fail "config file not applied: $(head -n1 "$TMP/out")"
# A flag overrides the file.
expect_rc 0 "$PALISADED" --config "$TMP/cfg.yaml" --once --log-format text --node other
contains "$(head -n1 "$TMP/out")" "node=other"
# The same in JSON.
printf '{"policyDirs": ["%s"], "node": "test-node", "bpffs": "%s", "logLevel": "warn"}\n' \
	"$TMP/p" "$BPFFS" >"$TMP/cfg.json"
expect_rc 0 "$PALISADED" --config "$TMP/cfg.json" --once
grep -q "palisaded starting" "$TMP/out" && fail "logLevel: warn from JSON config not applied"
# Unknown keys are errors with file:line:col.
printf 'node: a\npolicyDir: /x\n' >"$TMP/bad.yaml"
expect_rc 2 "$PALISADED" --config "$TMP/bad.yaml"
contains "$(cat "$TMP/out")" "bad.yaml:2:1: unknown key \"policyDir\""
expect_rc 2 "$PALISADED" --config "$TMP/missing.yaml"
exit 0
