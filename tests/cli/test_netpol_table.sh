# Kubernetes NetworkPolicy conformance tables: for every case of netpol_cases.yaml, polctl trace's
# verdict for each pod pair and probe equals the one upstream semantics give (netpol_table.py's
# model). The cluster's Namespaces lack kubernetes.io/metadata.name, as policy files often do.
. "$(dirname "$0")/lib.sh"
here=$(dirname "$0")
expect_rc 0 python3 "$here/netpol_table.py" "$here/netpol_cases.yaml"
