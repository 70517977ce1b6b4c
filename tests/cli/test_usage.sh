# Usage errors exit 2; --help exits 0; global options may follow the command.
. "$(dirname "$0")/lib.sh"
expect_rc 0 "$POLCTL" --help
contains "$out" "validate"
expect_rc 2 "$POLCTL"
expect_rc 2 "$POLCTL" frobnicate
expect_rc 2 "$POLCTL" -o xml match 'all()'
expect_rc 0 "$POLCTL" -o yaml match 'all()'    # -o yaml prints the -o json document as YAML
contains "$out" "match: true"
expect_rc 2 "$POLCTL" -o json frobnicate
json_is '.error | test("unknown command")' true
expect_rc 0 "$POLCTL" mat 'all()'          # unique prefix
expect_rc 0 "$POLCTL" match 'all()' -o json  # global option after the command
json_is .match true
expect_rc 2 "$POLCTL" validate
expect_rc 2 "$POLCTL" trace --policy-dir "$ROOT/policies" --iface ext0 --dir sideways --proto tcp --src 198.18.1.5 --dst 198.18.1.1
expect_rc 2 "$POLCTL" trace --policy-dir "$ROOT/policies" --iface ext0 --dir ingress --proto icmp --src 2001:db8::1 --dst 2001:db8::2
expect_rc 2 "$POLCTL" trace --policy-dir "$ROOT/policies" --iface ext0 --dir forward --proto tcp --src 198.18.1.5 --dst 198.18.1.1
