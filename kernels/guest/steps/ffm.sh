#!/bin/sh
# shellcheck shell=dash
# JDK 25 on the guest kernel: the multi-release jar's foreign function and memory classes (docs/design.md
# section 8). doctor must say ffm and segment with native access enabled by the CLI jar's manifest and print
# nothing on standard error; then the demo, then the binding's real-kernel tests (on Linux 7.2 they call the
# vDSO try-unlock by address through the downcall).
# shellcheck source=/dev/null # written by kernels/run.sh for each run
. /harness/plan
java25="$JAVA25_HOME/bin/java"
[ -x "$java25" ] || { echo "==== harness ffm: no JDK 25 in the guest"; exit 1; }
"$java25" -jar /work/robust-mutex.jar doctor > /tmp/ffm-doctor.out 2> /tmp/ffm-doctor.err
rc=$?
cat /tmp/ffm-doctor.out
sed 's/^/stderr: /' /tmp/ffm-doctor.err
[ "$rc" -eq 0 ] || { echo "==== harness ffm: doctor exited $rc"; exit 1; }
for line in "native_access: ffm (native access enabled)" "memory_access: segment"; do
  grep -qx "$line" /tmp/ffm-doctor.out || { echo "==== harness ffm: doctor did not print '$line'"; exit 1; }
done
[ -s /tmp/ffm-doctor.err ] && { echo "==== harness ffm: doctor printed on standard error"; exit 1; }
"$java25" -jar /work/robust-mutex.jar demo || { echo "==== harness ffm: the demo failed"; exit 1; }
exec /harness/steps/tests.sh "$java25" "$FFM_SELECTION" "--enable-native-access=ALL-UNNAMED"
