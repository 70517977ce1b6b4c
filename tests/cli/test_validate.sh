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

# Files and standard input, besides --policy-dir: every input is validated together.
P=$ROOT/policies
expect_rc 0 "$POLCTL" validate --policy-dir "$P" -o json
all=$(printf '%s' "$out" | jq -c .resources)
expect_rc 0 "$POLCTL" validate "$P"/*.yaml -o json       # every file, named one by one
json_is '.resources | tojson' "$all"
expect_rc 0 "$POLCTL" validate -f "$P/00-tiers.yaml" --filename "$P/60-security-tier.yaml" -o json
json_is '"\(.resources.tiers) \(.resources.policies) \(.resources.network_sets)"' "1 1 1"
# Alone, the security tier's policies name a tier no input defines: the error is at spec.tier.
line=$(grep -n '^  tier: security' "$P/60-security-tier.yaml" | head -1 | cut -d: -f1)
expect_rc 1 "$POLCTL" validate "$P/60-security-tier.yaml"
contains "$err" "60-security-tier.yaml:$line:9: error: tier \"security\" does not exist"
contains "$err" "[at spec.tier]"
# Standard input: the example set as one multi-document stream equals the directory.
stream() { for f in "$P"/*.yaml; do cat "$f"; echo ---; done; }
out=$(stream | "$POLCTL" validate -f - -o json) || fail "validate -f - exited $?: $out"
json_is '.resources | tojson' "$all"
out=$(stream | "$POLCTL" validate - -o json) || fail "validate - exited $?: $out"
json_is '.resources | tojson' "$all"
# ... mixed with a directory and a file; errors in it are named <stdin>:LINE:COL.
printf -- '- apiVersion: projectcalico.org/v3\n  kind: GlobalNetworkPolicy\n  metadata: {name: x}\n  spec:\n    selecter: all()\n' >"$tmp/list.yaml"
err=$("$POLCTL" validate --policy-dir "$P" -f - <"$tmp/list.yaml" 2>&1 >/dev/null); rc=$?
[ "$rc" = 1 ] || fail "validate with a bad stdin exited $rc: $err"
contains "$err" "<stdin>:5:5: error: unknown field \"selecter\""
contains "$err" "[at [0].spec.selecter]"
out=$("$POLCTL" validate -f - -o json <"$tmp/list.yaml") && fail "bad stdin valid: $out"
json_is '.errors[0].file' "<stdin>"
json_is '.errors[0].line' 5
# A plain list of resources in a file (as calicoctl takes it) is valid once fixed.
sed -i 's/selecter/selector/' "$tmp/list.yaml"
expect_rc 0 "$POLCTL" validate "$tmp/list.yaml" "$P"
# Empty standard input is an empty policy set.
out=$("$POLCTL" validate -f - -o json </dev/null) || fail "empty stdin exited $?: $out"
json_is .valid true
# Missing file: an error naming it; usage errors exit 2.
expect_rc 1 "$POLCTL" validate "$tmp/missing.yaml"
contains "$err" "$tmp/missing.yaml: error: cannot open"
expect_rc 2 "$POLCTL" validate -f
contains "$err" "-f needs a value"
expect_rc 2 "$POLCTL" validate -f - -
contains "$err" "standard input (-) given twice"
