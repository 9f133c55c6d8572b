#!/usr/bin/env bash
# Compares benchmark jars of two (or more) revisions on this machine, in one sitting.
#
#   benchmarks/compare.sh [--rounds N] [--benchmarks REGEX] LABEL=JAR LABEL=JAR ...
#
# Each JAR is a benchmarks/target/benchmarks.jar built from one revision. The jars are run in turn, round
# after round (one JMH fork each time), so that a slow spell of a shared machine falls on all of them
# alike; every measurement iteration is kept. Give the same jar twice under two labels to see what the
# machine's noise alone makes of one revision. Prints, per benchmark and label, the number of iterations,
# their minimum, 10th percentile, median and mean in ns/op. Needs java on the PATH (or JAVA_HOME) and
# python3.
set -euo pipefail

rounds=5
benchmarks='UncontendedBenchmark.robust(Pi|Normal)Lock'
while [[ $# -gt 0 ]]; do
    case "$1" in
        --rounds) rounds="$2"; shift 2 ;;
        --benchmarks) benchmarks="$2"; shift 2 ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        --) shift; break ;;
        -*) echo "compare.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) break ;;
    esac
done
if [[ $# -lt 2 ]]; then
    echo "compare.sh: give at least two LABEL=JAR arguments (see --help)" >&2
    exit 2
fi
if ! [[ "$rounds" =~ ^[1-9][0-9]*$ ]]; then
    echo "compare.sh: --rounds takes a positive number, not '$rounds'" >&2
    exit 2
fi
for spec in "$@"; do
    label=${spec%%=*}
    jar=${spec#*=}
    if [[ "$spec" != *=* || -z "$label" || ! "$label" =~ ^[A-Za-z0-9._-]+$ ]]; then
        echo "compare.sh: '$spec' is not LABEL=JAR with a label of letters, digits, '.', '_' or '-'" >&2
        exit 2
    fi
    if [[ ! -f "$jar" ]]; then
        echo "compare.sh: $jar (for $label) is not a file" >&2
        exit 2
    fi
done
command -v python3 >/dev/null || { echo "compare.sh: python3 is needed for the summary" >&2; exit 2; }
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for round in $(seq 1 "$rounds"); do
    for spec in "$@"; do
        label=${spec%%=*}
        jar=${spec#*=}
        echo "round $round of $rounds: $label" >&2
        "$java" -cp "$jar" org.openjdk.jmh.Main -f 1 -wi 4 -w 1s -i 10 -r 500ms -tu ns \
            -rf json -rff "$out/$label.$round.json" "$benchmarks" > "$out/$label.$round.log" 2>&1 \
            || { echo "compare.sh: the run of $label failed:" >&2; tail -20 "$out/$label.$round.log" >&2; exit 1; }
    done
done

python3 - "$out" "$@" <<'PY'
import collections, glob, json, os, statistics, sys
out, labels = sys.argv[1], [spec.split('=', 1)[0] for spec in sys.argv[2:]]
values = collections.defaultdict(list)
for path in glob.glob(os.path.join(out, '*.json')):
    label = os.path.basename(path).rsplit('.', 2)[0]
    for result in json.load(open(path)):
        name = result['benchmark'].rsplit('.', 1)[-1]
        for fork in result['primaryMetric']['rawData']:
            values[(name, label)].extend(fork)
print(f"{'benchmark':24s} {'label':16s} {'n':>4s} {'min':>8s} {'p10':>8s} {'median':>8s} {'mean':>8s}  (ns/op)")
for name in sorted({name for name, _ in values}):
    for label in labels:
        x = sorted(values.get((name, label), []))
        if not x:
            continue
        print(f"{name:24s} {label:16s} {len(x):4d} {x[0]:8.2f} {x[len(x) // 10]:8.2f}"
              f" {statistics.median(x):8.2f} {statistics.mean(x):8.2f}")
PY
