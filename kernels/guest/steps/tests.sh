#!/bin/sh
# shellcheck shell=dash
# The real-kernel test classes (robust-mutex/src/test), run by the JUnit Platform Console Launcher with
# the same class path layout as Maven Surefire: everything on the JVM's own class path, because the tests
# start child JVMs with this JVM's java.class.path. The working directory is the module's directory, as
# under Surefire (CInteropTest reads src/test/c and writes target/).
# Arguments, all optional (the ffm step passes them): the java launcher, the test selection, extra JVM options.
# shellcheck source=/dev/null # written by kernels/run.sh for each run
. /harness/plan
JAVA=${1:-java}
[ -n "$2" ] && TEST_SELECTION=$2
[ -n "$3" ] && TEST_JVM_ARGS="$TEST_JVM_ARGS $3"
cd /work/robust-mutex || exit 1
rm -rf /tmp/junit-reports
# One line per finished test as it finishes (testfeed), so the console shows progress; a test that hangs
# fails after JUNIT_TEST_TIMEOUT instead of holding the whole run.
# shellcheck disable=SC2086
"$JAVA" $TEST_JVM_ARGS -cp "$TEST_CLASSPATH" org.junit.platform.console.ConsoleLauncher execute \
  --disable-banner --disable-ansi-colors --details=testfeed \
  --config=junit.jupiter.execution.timeout.default="$JUNIT_TEST_TIMEOUT" \
  --reports-dir=/tmp/junit-reports $TEST_SELECTION &
pid=$!
# The launcher's own bound: a thread dump (SIGQUIT) shortly before the step's limit, then SIGKILL.
( sleep "$((T_TESTS - 30))"; echo "==== harness tests: still running after $((T_TESTS - 30))s; thread dump:";
  kill -QUIT "$pid"; sleep 10; kill -KILL "$pid" ) 2>/dev/null &
watchdog=$!
wait "$pid"
rc=$?
kill "$watchdog" 2>/dev/null
# A JVM that died of a fatal error left hs_err_pid*.log in its working directory: show the parts that say
# what and where (signal, address, registers, instructions, the memory map is long and left out).
for f in /work/robust-mutex/hs_err_pid*.log /tmp/hs_err_pid*.log; do
  [ -f "$f" ] || continue
  echo "==== harness tests: fatal error report $f:"
  awk '/^---------------  P R O C E S S/ {exit} {print}' "$f" | head -150
done
# One line per skipped or failed test, with the reason, read from the legacy XML reports.
for report in /tmp/junit-reports/*.xml; do
  [ -f "$report" ] || continue
  awk '
    /<testcase / {
      name = $0; sub(/.*<testcase name="/, "", name); sub(/".*/, "", name)
      cls = $0; sub(/.*classname="/, "", cls); sub(/".*/, "", cls)
    }
    /<skipped/ {
      msg = $0
      if (msg ~ /message="/) { sub(/.*message="/, "", msg); sub(/".*/, "", msg) }
      else { sub(/.*<skipped>(<!\[CDATA\[)?/, "", msg); sub(/\]\]>.*/, "", msg);
             sub(/^org\.opentest4j\.TestAbortedException: /, "", msg) }
      print "==== harness test SKIPPED: " cls "#" name ": " msg
    }
    /<failure|<error/ {
      msg = $0; if (msg ~ /message="/) { sub(/.*message="/, "", msg); sub(/".*/, "", msg) } else msg = ""
      print "==== harness test FAILED: " cls "#" name ": " substr(msg, 1, 400)
    }' "$report"
done
exit $rc
