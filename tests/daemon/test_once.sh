# --once: the example policies apply and exit 0; a typo exits 1 naming file:line and applies
# nothing; JSON logs carry file, line, column and path. --uninstall reaches the backend.
. "$(dirname "$0")/lib.sh"

"$PALISADED" --once --policy-dir "$ROOT/policies" --node demo-node --bpffs "$BPFFS" \
	>"$TMP/out" 2>&1 || fail "--once on policies/ exited $?: $(cat "$TMP/out")"
[ "$(gen)" = 1 ] || fail "--once did not apply generation 1: $(cat "$TMP/record.json" 2>&1)"
rm -f "$TMP/record.json"

write_policy "$TMP/p"
f="$TMP/p/20-policy.yaml"
line=$(grep -n '^  selector:' "$f" | cut -d: -f1)
sed -i 's/^  selector:/  selecter:/' "$f"
"$PALISADED" --once --policy-dir "$TMP/p" --node test-node --bpffs "$BPFFS" >"$TMP/out" 2>&1
rc=$?
[ "$rc" = 1 ] || fail "--once with a typo exited $rc, want 1: $(cat "$TMP/out")"
contains "$(cat "$TMP/out")" "20-policy.yaml:$line:"
contains "$(cat "$TMP/out")" "spec.selecter"
[ ! -e "$TMP/record.json" ] || fail "--once with errors programmed something: $(cat "$TMP/record.json")"

"$PALISADED" --once --policy-dir "$TMP/p" --node test-node --bpffs "$BPFFS" --log-format json \
	>"$TMP/out" 2>&1
[ $? = 1 ] || fail "--once --log-format json with a typo did not exit 1"
grep '"path":"spec.selecter"' "$TMP/out" | jq -e --argjson l "$line" \
	'.file | endswith("20-policy.yaml")' >/dev/null || fail "no JSON diagnostic: $(cat "$TMP/out")"
grep '"path":"spec.selecter"' "$TMP/out" | jq -e --argjson l "$line" '.line == $l and .column > 0' \
	>/dev/null || fail "JSON diagnostic without line/column: $(cat "$TMP/out")"
grep -v '^{' "$TMP/out" && fail "non-JSON line in JSON log"
# --uninstall: the backend is asked to remove everything; exit 0.
rm -f "$TMP/record.json"
"$PALISADED" --uninstall --bpffs "$BPFFS" >"$TMP/out" 2>&1 || fail "--uninstall: $(cat "$TMP/out")"
[ "$(rec .uninstalled)" = true ] || fail "--uninstall did not reach the backend"
exit 0
