#!/usr/bin/env bash
# Runs every row of the kernel matrix with kernels/run.sh, one after the other, and prints a table of the
# results (the rows of the README's "tested on" table). Extra options go to every run, e.g.
#   kernels/matrix.sh --suite full
# The project is built once, before the first row.
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROWS=("x86_64 7.2" "x86_64 7.3" "x86_64 6.1" "x86_64 5.10" "aarch64 7.2" "aarch64 6.1")

results=()
status=0
built=0
for row in "${ROWS[@]}"; do
  read -r arch kernel <<< "$row"
  log=$(mktemp)
  build=()
  [ "$built" -eq 1 ] && build=(--no-build)
  echo "matrix: $arch $kernel"
  rc=0
  "$HERE/run.sh" --arch "$arch" --kernel "$kernel" "${build[@]}" "$@" 2>&1 | tee "$log" || rc=$?
  built=1
  [ "$rc" -eq 0 ] || status=1
  package=$(sed -n 's/^kernel: *//p' "$log" | tail -1 | cut -d' ' -f1-2)
  path=$(grep -a -m1 '^unlock_path:' "$log" | awk '{print $2}' || true)
  tests=$(sed -n 's/^tests: *//p' "$log" | tail -1)
  jcs=$(grep -a '^ *jcstress:' "$log" | tail -1 | sed 's/^ *jcstress: //' || true)
  duration=$(sed -n 's/^total: *\([0-9]*s\).*/\1/p' "$log" | tail -1)
  results+=("| $arch | $package | ${path:-?} | ${tests:-?} | ${jcs:-?} | ${duration:-?} | $([ "$rc" -eq 0 ] && echo PASS || echo FAIL) |")
  rm -f "$log"
done

echo
echo "| arch | kernel package | unlock path | tests | JCStress | duration | result |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${results[@]}"
exit "$status"
