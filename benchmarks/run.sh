#!/usr/bin/env bash
# Builds and runs every benchmark side by side and prints one table with ratios to glibc's robust PI mutex
# measured in the same run. Usage: benchmarks/run.sh [--quick]
# Takes about five minutes (two with --quick). The table is also written to benchmarks/target/results.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

mvn -B -q -pl benchmarks -am package -DskipTests
gcc -O2 -Wall -Wextra -Werror -pthread -o benchmarks/target/glibc_robust_bench \
    benchmarks/src/main/c/glibc_robust_bench.c
java -jar benchmarks/target/benchmarks.jar --glibc-bench benchmarks/target/glibc_robust_bench \
    --out benchmarks/target/results.txt "$@"
