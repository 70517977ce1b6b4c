# deploy/systemd/palisaded.service: `systemd-analyze verify` accepts it, it is a firewall unit
# (Type=notify, ordered before network-pre.target) with the hardening docs/operations.md lists,
# and `systemd-analyze security` scores it no worse than the exposure recorded there.
. "$(dirname "$0")/lib.sh"
unit=$ROOT/deploy/systemd/palisaded.service
command -v systemd-analyze >/dev/null || fail "systemd-analyze missing (make deps installs systemd)"
# verify checks that ExecStart exists: point it at the binary under test.
sed "s#/usr/local/sbin/palisaded#$PALISADED#" "$unit" >"$TMP/palisaded.service"
systemd-analyze verify "$TMP/palisaded.service" >"$TMP/verify" 2>&1 ||
	fail "systemd-analyze verify: $(cat "$TMP/verify")"
[ ! -s "$TMP/verify" ] || fail "systemd-analyze verify warns: $(cat "$TMP/verify")"

for want in Type=notify NotifyAccess=main Before=network-pre.target Wants=network-pre.target \
	Restart=always PrivateTmp=yes NoNewPrivileges=yes LockPersonality=yes \
	MemoryDenyWriteExecute=yes SystemCallArchitectures=native ProtectKernelModules=yes \
	ProtectKernelLogs=yes ProtectControlGroups=yes \
	"RestrictAddressFamilies=AF_UNIX AF_NETLINK AF_INET AF_INET6" \
	"CapabilityBoundingSet=CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_ADMIN" \
	"ReadWritePaths=/sys/fs/bpf /run" RuntimeDirectory=palisade RuntimeDirectoryPreserve=yes; do
	grep -qx -- "$want" "$unit" || fail "$unit lacks the line $want"
done
grep -q '^After=network-pre.target' "$unit" && fail "After=network-pre.target contradicts Before="

systemd-analyze security --offline=true "$TMP/palisaded.service" >"$TMP/security" 2>&1 ||
	fail "systemd-analyze security: $(cat "$TMP/security")"
got=$(sed -n 's/.*Overall exposure level for palisaded.service: \([0-9.]*\).*/\1/p' "$TMP/security")
documented=$(sed -n 's/.*`systemd-analyze security` exposure: \([0-9.]*\).*/\1/p' \
	"$ROOT/docs/operations.md")
[ -n "$got" ] || fail "no exposure level in: $(cat "$TMP/security")"
[ -n "$documented" ] || fail "docs/operations.md does not record the exposure level"
awk -v g="$got" -v d="$documented" 'BEGIN { exit !(g <= d) }' ||
	fail "exposure $got is worse than the $documented docs/operations.md records"
echo "systemd-analyze security exposure: $got (documented: $documented)"
exit 0
