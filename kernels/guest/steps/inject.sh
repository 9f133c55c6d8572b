#!/bin/sh
# shellcheck shell=dash
# Death injection (kernels/c/inject.c): the vDSO try-unlock (64- and 32-bit slot) where the vDSO exports it,
# and the classic sequence with and without the lifetime rule, each reached by a hardware breakpoint and,
# as a cross-check, by single-stepping. The verdict is the host's (kernels/inject-check.sh).
# shellcheck source=/dev/null # written by kernels/run.sh for each run
. /harness/plan
rc=0
for mode in $INJECT_MODES; do
  case $mode in
    vdso) runs="vdso64 vdso32" ;;
    classic) runs="classic classic:--lifetime" ;;
    *) runs="" ;;
  esac
  for run in $runs; do
    what=${run%%:*}
    opt=""
    [ "$run" != "$what" ] && opt=${run#*:}
    # shellcheck disable=SC2086
    /harness/bin/inject "$what" $opt || rc=1
    # shellcheck disable=SC2086
    /harness/bin/inject "$what" $opt --step || rc=1
  done
done
exit $rc
