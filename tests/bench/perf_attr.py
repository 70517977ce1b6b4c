#!/usr/bin/env python3
"""Where the live bench's DUT time goes, from a software-clock perf profile of the DUT's CPU
(docs/benchmarks.md "Where an established packet's live nanoseconds go").

  perf record -e cpu-clock -C 1 -g -o pal.data -- \\
      env BENCH_LIVE_HOOKS=0 BENCH_LIVE_MODES=pal-fwd:10000 tests/bench/live.sh fwd 3 2
  tests/bench/perf_attr.py pal.data DUT_NS_PER_PACKET [TID]

The DUT's NAPI kthread is the thread with the most samples unless TID names it (other work on
the CPU, e.g. a compiler, can outnumber it). Each sample is scaled to DUT_NS_PER_PACKET (the
run's figure): a function's share of the thread's samples times that. Prints the inclusive time
of the tc hooks and the leaf functions under tc ingress (tcf_classify below
__netif_receive_skb_core) and tc egress (below __dev_queue_xmit); JITed program bodies whose
symbols perf lost (the bench reloads the programs every round) are "[bpf jit unknown]"."""
import collections
import re
import subprocess
import sys


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    data, ns_pkt = sys.argv[1], float(sys.argv[2])
    out = subprocess.run(['perf', 'script', '-i', data, '-F', 'tid,ip,sym'],
                         capture_output=True, text=True, check=True).stdout
    samples, cur = [], None
    for line in out.split('\n'):
        if not line.strip():
            if cur:
                samples.append(cur)
            cur = None
        elif not line[0].isspace() or (cur is None and line.strip().isdigit()):
            cur = [int(line.split()[0]), []]
        elif cur is not None:
            parts = line.split(None, 1)
            cur[1].append(parts[1] if len(parts) > 1 else parts[0])
    if cur:
        samples.append(cur)
    by_tid = collections.Counter(s[0] for s in samples)
    dut = int(sys.argv[3]) if len(sys.argv) > 3 else by_tid.most_common(1)[0][0]
    stacks = [s[1] for s in samples if s[0] == dut and s[1]]
    n = len(stacks)
    if not n:
        sys.exit(f"no samples of thread {dut}")

    def ns(k):
        return f"{100 * k / n:5.1f}% {ns_pkt * k / n:6.1f} ns"

    print(f"thread {dut}: {n} samples, {ns_pkt} ns/packet")
    for pat in ('tc_run', 'tcf_classify', 'lookup_nulls_elem_raw', 'htab_map_hash',
                'nf_hook_slow', 'nf_conntrack', 'pvclock|ktime'):
        k = sum(1 for st in stacks if any(re.search(pat, f) for f in st))
        print(f"  under {pat:28s} {ns(k)}")
    for side, anc in (('tc ingress', '__netif_receive_skb_core'), ('tc egress', '__dev_queue_xmit')):
        leaves, tot = collections.Counter(), 0
        for st in stacks:
            i = next((j for j, f in enumerate(st) if 'tc_run' in f or 'tcf_classify' in f), None)
            if i is None or not any(anc in f for f in st[i:i + 6]):
                continue
            tot += 1
            leaf = st[0]
            if leaf.startswith('[unknown]') or re.match(r'^[0-9a-f]+ \[unknown\]', leaf) or \
                    leaf.startswith('ffffffffc'):
                leaf = '[bpf jit unknown]'
            leaves[re.sub(r'^[0-9a-f]+ ', '', leaf)] += 1
        print(f"{side}: {ns(tot)}")
        for f, k in leaves.most_common(20):
            print(f"  {f[:60]:60s} {ns(k)}")


if __name__ == '__main__':
    main()
