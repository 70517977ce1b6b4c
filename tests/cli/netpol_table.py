#!/usr/bin/env python3
"""Kubernetes NetworkPolicy truth tables: polctl's offline trace against a small, independent model
of upstream semantics (the k8s API reference and test/e2e/network/netpol), in the style of the
netpol e2e and Cyclonus tables: for each case, every pod of x, y, z (a, b, c each) to every other
pod, on the case's protocol:port probes.

usage: netpol_table.py CASES.yaml   (POLCTL names the binary; prints each mismatch, exits 1 on any)
"""
import concurrent.futures
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

POLCTL = os.environ['POLCTL']
NAMESPACES = {'x': 10, 'y': 11, 'z': 12}
# Namespace labels as the files give them: no kubernetes.io/metadata.name, which the API server
# would add and policies may select by.
NS_LABELS = {n: {'ns': n} for n in NAMESPACES}
SERVE = {f'serve-{port}-{proto.lower()}': (proto, port)
         for port in (80, 81) for proto in ('TCP', 'UDP', 'SCTP')}
# "web" is a different number on a and b, and c has none: named ports resolve per pod.
WEB = {'a': ('TCP', 80), 'b': ('TCP', 81)}


def make_pods():
    pods = []
    for ns, octet in NAMESPACES.items():
        for i, name in enumerate('abc'):
            ports = dict(SERVE)
            if name in WEB:
                ports['web'] = WEB[name]
            pods.append({'ns': ns, 'name': name, 'labels': {'pod': name}, 'ports': ports,
                         'iface': f'cali{ns}{name}',
                         4: f'198.18.{octet}.{i + 1}', 6: f'2001:db8:{octet}::{i + 1}'})
    return pods


PODS = make_pods()


def cluster_yaml():
    docs = []
    for ns in NAMESPACES:
        docs.append({'apiVersion': 'v1', 'kind': 'Namespace',
                     'metadata': {'name': ns, 'labels': NS_LABELS[ns]}})
        docs.append({'apiVersion': 'projectcalico.org/v3', 'kind': 'Profile',
                     'metadata': {'name': f'kns.{ns}'},
                     'spec': {'ingress': [{'action': 'Allow'}], 'egress': [{'action': 'Allow'}]}})
    # A Calico NetworkSet in z holding x's pod addresses, labelled like pod a: Kubernetes peers
    # select pods only (Calico adds projectcalico.org/orchestrator == 'k8s' to every peer), so a
    # podSelector or namespaceSelector that took it in would admit all of x from z's "pod a".
    docs.append({'apiVersion': 'projectcalico.org/v3', 'kind': 'NetworkSet',
                 'metadata': {'name': 'decoy', 'namespace': 'z', 'labels': {'pod': 'a'}},
                 'spec': {'nets': [f'198.18.{NAMESPACES["x"]}.0/24',
                                   f'2001:db8:{NAMESPACES["x"]}::/64']}})
    for p in PODS:
        docs.append({'apiVersion': 'projectcalico.org/v3', 'kind': 'WorkloadEndpoint',
                     'metadata': {'name': f"{p['ns']}-{p['name']}", 'namespace': p['ns'],
                                  'labels': p['labels']},
                     'spec': {'node': 'node1', 'orchestrator': 'k8s', 'pod': p['name'],
                              'interfaceName': p['iface'],
                              'ipNetworks': [f'{p[4]}/32', f'{p[6]}/128'],
                              'profiles': [f"kns.{p['ns']}"],
                              'ports': [{'name': n, 'protocol': pr, 'port': pt}
                                        for n, (pr, pt) in p['ports'].items()]}})
    return yaml.safe_dump_all(docs)


# ---- the model: upstream semantics, written from the API reference ----

def selects(sel, labels):
    """A LabelSelector; None (absent) selects everything, as {} does."""
    if sel is None:
        return True
    for k, v in (sel.get('matchLabels') or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get('matchExpressions') or []:
        k, op, vals = e['key'], e['operator'], e.get('values') or []
        if (op == 'In' and labels.get(k) not in vals) or \
           (op == 'NotIn' and k in labels and labels[k] in vals) or \
           (op == 'Exists' and k not in labels) or (op == 'DoesNotExist' and k in labels):
            return False
    return True


def peer_matches(peer, policy_ns, other, fam):
    if 'ipBlock' in peer:
        ip = ipaddress.ip_address(other[fam])
        block = peer['ipBlock']
        if ip.version != ipaddress.ip_network(block['cidr'], strict=False).version or \
           ip not in ipaddress.ip_network(block['cidr'], strict=False):
            return False
        return not any(ip.version == ipaddress.ip_network(e, strict=False).version and
                       ip in ipaddress.ip_network(e, strict=False)
                       for e in block.get('except') or [])
    ns_labels = dict(NS_LABELS[other['ns']], **{'kubernetes.io/metadata.name': other['ns']})
    if 'namespaceSelector' in peer:
        if not selects(peer['namespaceSelector'] or {}, ns_labels):
            return False
    elif other['ns'] != policy_ns:
        return False
    return selects(peer.get('podSelector') or {}, other['labels'])


def port_matches(ports, proto, port, dst):
    """Named ports are the destination pod's, on ingress and on egress."""
    if not ports:
        return True
    for p in ports:
        if p.get('protocol', 'TCP') != proto:
            continue
        if 'port' not in p:
            return True
        if isinstance(p['port'], str):
            if dst['ports'].get(p['port']) == (proto, port):
                return True
        elif p['port'] <= port <= p.get('endPort', p['port']):
            return True
    return False


def policy_types(pol):
    types = pol.get('spec', {}).get('policyTypes')
    if not types:
        types = ['Ingress'] + (['Egress'] if pol.get('spec', {}).get('egress') else [])
    return types


def direction_allows(policies, me, other, proto, port, fam, ingress):
    rules_key, peers_key, ptype = ('ingress', 'from', 'Ingress') if ingress else \
        ('egress', 'to', 'Egress')
    dst = me if ingress else other
    selecting = [p for p in policies
                 if p['metadata'].get('namespace', 'default') == me['ns'] and
                 ptype in policy_types(p) and
                 selects(p.get('spec', {}).get('podSelector') or {}, me['labels'])]
    if not selecting:
        return True
    for pol in selecting:
        for rule in pol['spec'].get(rules_key) or []:
            peers = rule.get(peers_key) or []
            if peers and not any(peer_matches(x, pol['metadata']['namespace'], other, fam)
                                 for x in peers):
                continue
            if port_matches(rule.get('ports'), proto, port, dst):
                return True
    return False


def model(policies, src, dst, proto, port, fam):
    return direction_allows(policies, src, dst, proto, port, fam, False) and \
        direction_allows(policies, dst, src, proto, port, fam, True)


# ---- palisade ----

def trace(pdir, src, dst, proto, port, fam):
    r = subprocess.run([POLCTL, '-o', 'json', 'trace', '--policy-dir', pdir, '--node', 'node1',
                        '--from-pod', f"{src['ns']}/{src['name']}", '--dst', dst[fam],
                        '--out-iface', dst['iface'], '--dir', 'forward', '--proto', proto.lower(),
                        '--sport', '40000', '--dport', str(port)],
                       capture_output=True, text=True, check=False)
    try:
        answer = json.loads(r.stdout)
    except ValueError:
        answer = {'error': r.stdout + r.stderr}
    if 'verdict' not in answer:
        raise RuntimeError(f"polctl: {answer.get('error')}")
    return answer['verdict'] == 'allow'


def run_case(case, workdir):
    pdir = os.path.join(workdir, case['name'])
    os.makedirs(pdir)
    with open(os.path.join(pdir, 'cluster.yaml'), 'w') as f:
        f.write(cluster_yaml())
    with open(os.path.join(pdir, 'policies.yaml'), 'w') as f:
        yaml.safe_dump_all(case['policies'], f)
    wrong = []
    for fam in case.get('families', [4]):
        for probe in case['probes']:
            proto, port = probe.split(':')
            for src in PODS:
                for dst in PODS:
                    if src is dst:
                        continue
                    want = model(case['policies'], src, dst, proto, int(port), fam)
                    try:
                        got = trace(pdir, src, dst, proto, int(port), fam)
                    except RuntimeError as e:
                        return [f"{case['name']}: {e}"]
                    if got != want:
                        wrong.append(f"{case['name']}: IPv{fam} {probe} {src['ns']}/{src['name']}"
                                     f" -> {dst['ns']}/{dst['name']}: Kubernetes "
                                     f"{'allows' if want else 'denies'}, palisade "
                                     f"{'allows' if got else 'denies'}")
    return wrong


def main():
    with open(sys.argv[1]) as f:
        cases = yaml.safe_load(f)
    workdir = tempfile.mkdtemp(prefix='netpol-table.')
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(lambda c: run_case(c, workdir), cases))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    wrong = [line for r in results for line in r]
    for line in wrong:
        print(line)
    return 1 if wrong else 0


if __name__ == '__main__':
    sys.exit(main())
