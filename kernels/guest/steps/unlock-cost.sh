#!/bin/sh
# shellcheck shell=dash
# The unlock paths this kernel offers, each against the classic path: `robust-mutex.jar unlock-cost` runs
# child JVMs on each path in alternating rounds and prints ratios only (nothing measured under TCG is a
# time). Its result lines ("unlock-cost: syscall/classic PI ..." or "...: nothing to compare") are repeated
# as markers for the host's summary; a failure's message too. UNLOCK_COST_ARGS (kernels/run.sh
# --unlock-cost-args) are the command's options.
# shellcheck source=/dev/null # written by kernels/run.sh for each run
. /harness/plan
start=$(date +%s)
# Streamed to the console as it runs (a round's line after each round), and kept for the markers.
# shellcheck disable=SC2086
{ java -jar /work/robust-mutex.jar unlock-cost $UNLOCK_COST_ARGS; echo $? > /tmp/unlock-cost.rc; } 2>&1 \
  | tee /tmp/unlock-cost.out
rc=$(cat /tmp/unlock-cost.rc)
# The result lines, or the error (the tool prints "unlock-cost: MESSAGE" on standard error when it fails).
results=$(grep '^unlock-cost: ' /tmp/unlock-cost.out)
if [ "$rc" -ne 0 ] || [ -z "$results" ]; then
  echo "==== harness unlock-cost: FAILED (exit $rc) ${results:-(no result line)}"
  [ "$rc" -ne 0 ] || rc=1
  exit "$rc"
fi
echo "$results" | sed 's/^/==== harness /'
# The step's duration, JVM starts included, for the harness's budget (not a measurement: the console only).
echo "unlock-cost step: $(( $(date +%s) - start )) s on the guest's clock"
exit 0
