#!/usr/bin/env bash
# Builds and runs every benchmark side by side and prints one table with ratios to glibc's robust PI mutex
# measured in the same run. Usage: benchmarks/run.sh [--quick] [--other-jdk JAVA_HOME]
# The suite runs on the JDK of JAVA_HOME (else the java on the PATH), which also builds the jar (a JDK 22+
# build carries the foreign function and memory classes); --other-jdk runs the lock and native-call
# benchmarks again in forks of a second JDK, so that both JDK families are in one table. Takes about nine
# minutes (three with --quick). The table is also written to benchmarks/target/results.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

java=java
if [ -n "${JAVA_HOME:-}" ]; then
  java="$JAVA_HOME/bin/java"
fi
mvn -B -q -pl benchmarks -am package -DskipTests
gcc -O2 -Wall -Wextra -Werror -pthread -o benchmarks/target/glibc_robust_bench \
    benchmarks/src/main/c/glibc_robust_bench.c
"$java" -jar benchmarks/target/benchmarks.jar \
    --glibc-bench benchmarks/target/glibc_robust_bench --out benchmarks/target/results.txt "$@"
