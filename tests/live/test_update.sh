# Traces while the policy changes: a background loop re-programs the datapath, alternating two
# policies (generation after generation); every live trace meanwhile must be one policy's answer
# or the other's, never an internal error or a mix (the trace re-runs when an interface flipped
# to new lists during its walk).
. "$(dirname "$0")/lib.sh"
A="$ROOT/tests/live/policy"
B=$(mktemp -d)
trap 'cleanup; rm -rf "$B"' EXIT
sed 's/ports: \[9999\]/ports: [8080]/' "$A/live.yaml" >"$B/live.yaml"
grep -q 'ports: \[8080\]' "$B/live.yaml" || fail "variant policy not made"
setup_ns ext0
program --node live-node --policy-dir "$A" --generation 1

q=(--iface ext0 --dir ingress --proto tcp --src 198.19.99.2 --sport 40000 --dst 198.19.99.1 --dport 8080)
# A: no rule for 8080 -> end of the default tier; B: untracked deny by block-9999 rule 0
want_a='deny normal default null null'
want_b='deny untracked default block-9999 0'
expect_rc 0 pc -o json trace "${q[@]}"
ans() { jq -r '[.verdict, .stage, (.tier // "null"), (.policy // "null"), (.rule // "null" | tostring)] | join(" ")' <<<"$out"; }
[ "$(ans)" = "$want_a" ] || fail "policy A answers $(ans)"

(
	for g in $(seq 2 41); do
		d=$A; [ $((g % 2)) = 0 ] && d=$B
		in_ns "$PAL_PROGRAM" --bpffs "$PIN" --node live-node --policy-dir "$d" --generation "$g" \
			--no-attach >/dev/null 2>&1 || exit 1
	done
) &
writer=$!
seen_a=0 seen_b=0
while kill -0 "$writer" 2>/dev/null; do
	expect_rc 0 pc -o json trace "${q[@]}"
	case "$(ans)" in
	"$want_a") seen_a=$((seen_a + 1)) ;;
	"$want_b") seen_b=$((seen_b + 1)) ;;
	*) fail "an answer of neither policy during updates: $(ans)
$out" ;;
	esac
done
wait "$writer" || fail "the re-programming loop failed"
[ "$seen_a" -gt 0 ] && [ "$seen_b" -gt 0 ] || fail "traces saw only one policy (A $seen_a, B $seen_b)"
# the last generation (41, odd) is A's
expect_rc 0 pc -o json trace "${q[@]}"
[ "$(ans)" = "$want_a" ] || fail "after the updates: $(ans)"
json_is .generation 41
