#!/usr/bin/env bash
# Compares the death-injection cases a guest ran (kernels/c/inject.c, lines "==== harness inject: ..." on
# its console) with what the reference model predicts for the same death points
# (kernels/model/DeathPredictions.java): how the mutex ends (released, owner-died), whether the kernel wrote
# into the peer's data mapped over the released lock, whether the waiter was woken. Prints a table per mode;
# the last line is "PASS: ..." or "FAIL: ..." naming the first case that differs.
#
#   kernels/inject-check.sh --console LOG --repo DIR
set -Eeuo pipefail

CONSOLE="" REPO=""
while [ $# -gt 0 ]; do
  case $1 in
    --console) CONSOLE=$2; shift 2 ;;
    --repo) REPO=$2; shift 2 ;;
    *) echo "inject-check: unknown option $1" >&2; exit 2 ;;
  esac
done
fail() { echo "FAIL: $*"; exit 1; }
[ -r "$CONSOLE" ] || fail "no console log $CONSOLE"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

grep -a '^==== harness inject: ' "$CONSOLE" | sed 's/^==== harness inject: //' > "$WORK/real" || true
[ -s "$WORK/real" ] || fail "the guest printed no death-injection result"

# The model's predictions, once per (path, lifetime rule).
CP="$(cat "$REPO/robust-mutex/target/kernels-classpath.txt")"
predict() {
  local path=$1 lifetime=$2 out="$WORK/predict.$1.$2"
  if [ ! -f "$out" ]; then
    local opt=()
    [ "$lifetime" = 1 ] && opt=(--lifetime)
    timeout 300 java -cp "$CP" "$REPO/kernels/model/DeathPredictions.java" x86_64 "$path" "${opt[@]}" > "$out" \
      || fail "the model's predictions for $path could not be computed"
  fi
  echo "$out"
}

# field NAME LINE: the value of NAME=VALUE in a result line.
field() { printf '%s\n' "$2" | grep -oE "(^| )$1=[^ :]*" | head -1 | sed "s/^ *$1=//"; }

cases=0 compared=0 corrupted_real=0 notes=""
declare -A summary
while IFS= read -r line; do
  mode=${line%% *}
  if [[ $line == *" absent:"* ]]; then
    notes+=" $mode absent (${line#*: });"
    echo "  $line"
    continue
  fi
  cases=$((cases + 1))
  method=$(field method "$line")
  point=$(field point "$line")
  k=${point%/*} n=${point#*/}
  waiter=$(field waiter "$line") peer=$(field peer "$line" | head -1)
  lifetime=$(field lifetime "$line")
  # The result part after the colon holds outcome, peer (result), other, waiter (result).
  result=${line#*: }
  reached=$(field reached "$result") outcome=$(field outcome "$result") peer_result=$(field peer "$result")
  other=$(field other "$result") waiter_result=$(field waiter "$result")
  other=${other%%(*}
  [ "$other" = CORRUPTED ] && corrupted_real=$((corrupted_real + 1))
  case $mode in
    vdso64|vdso32) path=vdso ;;
    classic) path=classic ;;
    *) fail "unknown mode in '$line'" ;;
  esac
  file=$(predict "$path" "$lifetime")
  want=$(grep -E "^predict $path point=$k/$n waiter=$waiter peer=$peer lifetime=$lifetime:" "$file" || true)
  [ -n "$want" ] || fail "$mode: the model has no death point $k/$n (its sequence has a different length)"
  # A point the run did not reach (the contended path skips the store) ends as a death just after the
  # function returned; the model is asked for that point then.
  if [ "$reached" = no ] || [ "$(field reached "${want#*: }")" = no ]; then
    want=$(grep -E "^predict $path point=$n/$n waiter=$waiter peer=$peer lifetime=$lifetime:" "$file")
  fi
  want=${want#*: }
  key="$mode lifetime=$lifetime"
  # inject.c's private classic sequence has no contended path (the library's classic unlock wakes through
  # FUTEX_WAKE): with a waiter, only the points before the compare-and-swap are comparable.
  if [ "$path" = classic ] && [ "$waiter" = 1 ] && [ "$k" -gt 2 ]; then
    summary[$key]="${summary[$key]:-}"
    continue
  fi
  compared=$((compared + 1))
  summary[$key]="${summary[$key]:-}"
  for f in outcome peer other waiter; do
    real_value=$(field "$f" "$result")
    real_value=${real_value%%(*}
    want_value=$(field "$f" "$want")
    if [ "$real_value" != "$want_value" ]; then
      fail "$mode ($method) death at point $k/$n, waiter=$waiter peer=$peer lifetime=$lifetime: $f is $real_value on the kernel but the model predicts $want_value (kernel: $result; model: $want)"
    fi
  done
  if [ "$other" = CORRUPTED ]; then
    summary[$key]="${summary[$key]:-}corruption at point $k ($method) as predicted; "
  fi
  summary["$key cases"]=$(( ${summary["$key cases"]:-0} + 1 ))
  : "$reached $outcome $peer_result $waiter_result"
done < "$WORK/real"

echo "  death injection: $cases cases run, $compared compared with the model"
for key in "${!summary[@]}"; do
  [[ $key == *" cases" ]] && continue
  echo "  $key: ${summary["$key cases"]:-0} cases as the model predicts; ${summary[$key]:-no write into the peer data}"
done | sort
[ "$cases" -gt 0 ] || { echo "PASS: nothing to inject on this kernel:${notes}"; exit 0; }
echo "PASS: $compared of $cases cases exactly as the model predicts; the kernel wrote into the peer's data in $corrupted_real cases, all predicted (classic sequence without the lifetime rule);${notes% ;}"
