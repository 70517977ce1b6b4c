#!/usr/bin/env python3
"""A cluster for the Kubernetes datastore benchmark (tests/bench/k8s.sh), as a JSON List:
PODS pods in 100 namespaces spread over 100 nodes (node-0 is the agent's), POLICIES policies: half
networking.k8s.io/v1 NetworkPolicies, a quarter Calico GlobalNetworkPolicies, a quarter Calico
NetworkPolicies (crd.projectcalico.org/v1), each selecting pods by label and admitting a port from
pods of another label. Addresses from 198.18.0.0/15."""
import json
import sys

pods, policies = int(sys.argv[1]), int(sys.argv[2])
items = []
for n in range(100):
    items.append({"apiVersion": "v1", "kind": "Namespace",
                  "metadata": {"name": "ns-%d" % n, "labels": {"tier": "t%d" % (n % 5)}}})
for i in range(pods):
    ip = "198.%d.%d.%d" % (18 + i // 62500, i // 250 % 250, i % 250 + 1)
    items.append({"apiVersion": "v1", "kind": "Pod",
                  "metadata": {"name": "pod-%d" % i, "namespace": "ns-%d" % (i % 100),
                               "labels": {"app": "app-%d" % (i % 50), "role": "r%d" % (i % 7)}},
                  "spec": {"nodeName": "node-%d" % (i // 100 % 100), "serviceAccountName": "default",
                           "containers": [{"name": "c", "image": "i",
                                           "ports": [{"name": "http", "containerPort": 8080}]}]},
                  "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}})
for j in range(policies):
    ns = "ns-%d" % (j % 100)
    sel_app, from_role, port = "app-%d" % (j % 50), "r%d" % (j % 7), 1000 + j % 5000
    if j % 4 < 2:
        items.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                      "metadata": {"name": "np-%d" % j, "namespace": ns},
                      "spec": {"podSelector": {"matchLabels": {"app": sel_app}},
                               "policyTypes": ["Ingress"],
                               "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": from_role}}}],
                                            "ports": [{"protocol": "TCP", "port": port}]}]}})
        continue
    spec = {"tier": "default", "order": j, "selector": "app == '%s'" % sel_app, "types": ["Ingress"],
            "ingress": [{"action": "Allow", "protocol": "TCP",
                         "source": {"selector": "role == '%s'" % from_role},
                         "destination": {"ports": [port]}}]}
    if j % 4 == 2:
        items.append({"apiVersion": "crd.projectcalico.org/v1", "kind": "GlobalNetworkPolicy",
                      "metadata": {"name": "default.gnp-%d" % j}, "spec": spec})
    else:
        items.append({"apiVersion": "crd.projectcalico.org/v1", "kind": "NetworkPolicy",
                      "metadata": {"name": "default.cnp-%d" % j, "namespace": ns}, "spec": spec})
json.dump({"apiVersion": "v1", "kind": "List", "items": items}, sys.stdout)
