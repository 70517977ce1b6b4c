# Helpers for the polctl command-line tests. Each test sources this, runs commands, and calls
# `fail MESSAGE` (exit 1) on the first wrong answer.
set -u
fail() { echo "FAIL: $*" >&2; exit 1; }
# expect_rc WANT CMD...: runs CMD, keeps stdout in $out and stderr in $err, checks the exit code.
expect_rc() {
	local want=$1; shift
	local ef; ef=$(mktemp)
	out=$("$@" 2>"$ef"); rc=$?
	err=$(cat "$ef"); rm -f "$ef"
	[ "$rc" -eq "$want" ] || fail "exit $rc, want $want: $*
stdout: $out
stderr: $err"
}
# json_is FILTER WANT: the jq filter applied to $out gives WANT (jq's -r output).
json_is() {
	local got; got=$(printf '%s' "$out" | jq -r "$1") || fail "not JSON: $out"
	[ "$got" = "$2" ] || fail "$1 is \"$got\", want \"$2\" in: $out"
}
contains() { case "$1" in *"$2"*) ;; *) fail "missing \"$2\" in: $1" ;; esac; }
