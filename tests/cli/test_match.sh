# polctl match: exit codes 0 (match), 1 (no match), 2 (malformed, with the column).
. "$(dirname "$0")/lib.sh"
sel='app in {"web","api"} && !has(canary)'
expect_rc 0 "$POLCTL" match "$sel" app=web
contains "$out" "match"
expect_rc 1 "$POLCTL" match "$sel" app=web canary=1
expect_rc 1 "$POLCTL" match "$sel" app=db
expect_rc 0 "$POLCTL" match "$sel" app=api -o json
json_is .match true
expect_rc 2 "$POLCTL" match 'app == "web" &&& x'
contains "$err" "column"
expect_rc 2 "$POLCTL" -o json match 'app =='
json_is '.error | test("column [0-9]+")' true
expect_rc 2 "$POLCTL" match
expect_rc 2 "$POLCTL" match 'has(a)' notalabel
