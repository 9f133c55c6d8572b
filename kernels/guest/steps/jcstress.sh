#!/bin/sh
# shellcheck shell=dash
# A short JCStress selection on the real kernel: the tests named in the plan, one JVM configuration.
# shellcheck source=/dev/null # written by kernels/run.sh for each run
. /harness/plan
mkdir -p /tmp/jcstress && cd /tmp/jcstress || exit 1
# shellcheck disable=SC2086
java -jar /work/jcstress.jar $JCSTRESS_ARGS -jvmArgs "-Xss1m $JCSTRESS_JVM_ARGS" > jcstress.log 2>&1
rc=$?
grep -E '^\s*\[(OK|FAILED|ERROR)' jcstress.log | head -60
summary=$(grep -oE 'Results: [0-9]+ planned; [0-9]+ passed, [0-9]+ failed, [0-9]+ soft errs, [0-9]+ hard errs' \
  jcstress.log | tail -1)
echo "==== harness jcstress: ${summary:-no results}"
if [ -z "$summary" ]; then
  tail -40 jcstress.log
  exit 1
fi
# shellcheck disable=SC2046
set -- $(echo "$summary" | grep -oE '[0-9]+')
if [ "$rc" -ne 0 ] || [ "$1" -eq 0 ] || [ "$2" -ne "$1" ] || [ "$3" -ne 0 ] || [ "$4" -ne 0 ] || [ "$5" -ne 0 ]; then
  grep -E 'FAILED|ERROR|FORBIDDEN' jcstress.log | head -40
  exit 1
fi
exit 0
