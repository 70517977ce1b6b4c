#!/usr/bin/env python3
"""Checks a Prometheus text exposition (format 0.0.4) against the naming rules palisade follows
(Prometheus' "Metric and label naming" and promtool's lint, which Debian 12 only ships inside the
96 MB prometheus server package):

  - metric and label names are valid, every metric starts with palisade_;
  - every family has one # HELP and one # TYPE, before its samples; no series twice;
  - counters end in _total, and nothing else does;
  - units are base units and come last: _seconds, _bytes (never _ms, _milliseconds, _minutes,
    _hours, _kb, _mb, _kilobytes, _megabytes); timestamps end in _timestamp_seconds;
  - histograms have cumulative _bucket series with an le="+Inf" bucket equal to _count, and _sum;
  - palisade_build_info{version="..."} 1 is there.

usage: promlint.py FILE (or - for stdin). Prints one line per problem; exit 1 when there is one.
"""
import re
import sys

NAME = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)')
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
BAD_UNITS = ('_ms', '_milliseconds', '_microseconds', '_minutes', '_hours', '_days', '_kb',
             '_mb', '_gb', '_kilobytes', '_megabytes')


def family_of(name, types):
    for suffix in ('_bucket', '_sum', '_count'):
        if name.endswith(suffix) and types.get(name[:-len(suffix)]) == 'histogram':
            return name[:-len(suffix)]
    return name


def lint(text):
    problems, types, helps, seen, hist = [], {}, set(), set(), {}
    build_info = False
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if line.startswith('# HELP '):
            name = line.split(' ', 3)[2]
            if name in helps:
                problems.append(f'{n}: second HELP for {name}')
            helps.add(name)
            continue
        if line.startswith('# TYPE '):
            parts = line.split(' ')
            name, typ = parts[2], parts[3] if len(parts) > 3 else ''
            if name in types:
                problems.append(f'{n}: second TYPE for {name}')
            if typ not in ('counter', 'gauge', 'histogram', 'summary', 'untyped'):
                problems.append(f'{n}: unknown type {typ} for {name}')
            types[name] = typ
            if not NAME.match(name) or not name.startswith('palisade_'):
                problems.append(f'{n}: bad metric name {name}')
            if (typ == 'counter') != name.endswith('_total'):
                problems.append(f'{n}: {name}: counters and only counters end in _total')
            base = name[:-6] if name.endswith('_total') else name
            if base.endswith(BAD_UNITS):
                problems.append(f'{n}: {name}: use base units (_seconds, _bytes)')
            for unit in ('_seconds', '_bytes'):
                if unit + '_' in base + '_' and not base.endswith(unit):
                    problems.append(f'{n}: {name}: the unit {unit} must come last')
            if 'timestamp' in name and not base.endswith('_timestamp_seconds'):
                problems.append(f'{n}: {name}: timestamps end in _timestamp_seconds')
            if name not in helps:
                problems.append(f'{n}: {name}: TYPE without a HELP before it')
            continue
        if line.startswith('#'):
            continue
        m = SAMPLE.match(line)
        if not m:
            problems.append(f'{n}: not a sample line: {line}')
            continue
        name, labels, value = m.group(1), m.group(3) or '', m.group(4)
        fam = family_of(name, types)
        if fam not in types:
            problems.append(f'{n}: {name}: sample before (or without) its # TYPE')
        parsed = LABEL.findall(labels)
        if labels and ','.join(f'{k}="{v}"' for k, v in parsed) != labels:
            problems.append(f'{n}: bad labels {{{labels}}}')
        key = (name, labels)
        if key in seen:
            problems.append(f'{n}: series twice: {name}{{{labels}}}')
        seen.add(key)
        try:
            v = float(value)
        except ValueError:
            problems.append(f'{n}: bad value {value}')
            continue
        if name == 'palisade_build_info' and 'version' in dict(parsed) and v == 1:
            build_info = True
        if types.get(fam) == 'histogram':
            h = hist.setdefault(fam, {'buckets': [], 'count': None, 'sum': False})
            if name.endswith('_bucket'):
                h['buckets'].append((dict(parsed).get('le'), v))
            elif name.endswith('_count'):
                h['count'] = v
            elif name.endswith('_sum'):
                h['sum'] = True
    for fam, h in hist.items():
        les = [le for le, _ in h['buckets']]
        counts = [c for _, c in h['buckets']]
        if '+Inf' not in les or not h['sum'] or h['count'] is None:
            problems.append(f'{fam}: histogram without +Inf bucket, _sum or _count')
        elif counts != sorted(counts) or counts[-1] != h['count']:
            problems.append(f'{fam}: buckets not cumulative or +Inf != _count')
    if not build_info:
        problems.append('palisade_build_info{version="..."} 1 is missing')
    return problems


def main():
    text = sys.stdin.read() if sys.argv[1:] in ([], ['-']) else open(sys.argv[1]).read()
    problems = lint(text)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
