# polctl validate: the example set is valid; one typo makes it invalid, naming file, line and path.
. "$(dirname "$0")/lib.sh"
expect_rc 0 "$POLCTL" validate --policy-dir "$ROOT/policies"
expect_rc 0 "$POLCTL" validate --policy-dir "$ROOT/policies" -o json
json_is .valid true
json_is '.errors | length' 0

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cp -r "$ROOT/policies" "$tmp/p"
f="$tmp/p/20-bare-metal-host.yaml"
line=$(grep -n '^  selector:' "$f" | cut -d: -f1)
sed -i 's/^  selector:/  selecter:/' "$f"
expect_rc 1 "$POLCTL" validate --policy-dir "$tmp/p"
contains "$err" "20-bare-metal-host.yaml:$line:"
contains "$err" "spec.selecter"
contains "$err" "error:"
expect_rc 1 "$POLCTL" validate --policy-dir "$tmp/p" -o json
json_is '.errors[0].line' "$line"
json_is '.errors[0].path' "spec.selecter"
json_is '.errors[0].file | endswith("20-bare-metal-host.yaml")' true
