#!/usr/bin/env bash
# Compares the vDSO try-unlock that a guest's process found in its own vDSO (the bytes vdso_dump printed
# on the console) with the register model the architecture module gives the reference model
# (Architecture.unlockCriticalSection): the same instructions in the same order, the branch to cs_end,
# and, when the kernel's -dbg package supplied the unstripped vDSO, the critical-section labels
# [cs_start, cs_end) and cs_success the kernel records for its fixup. Prints the comparison; the last line
# is "PASS: ..." or "FAIL: ..." and names the first instruction that differs.
#
#   kernels/vdso-check.sh --arch x86_64 --console LOG --repo DIR [--debug-vdso DIR]
set -Eeuo pipefail

ARCH=x86_64 CONSOLE="" REPO="" DEBUG_VDSO=""
while [ $# -gt 0 ]; do
  case $1 in
    --arch) ARCH=$2; shift 2 ;;
    --console) CONSOLE=$2; shift 2 ;;
    --repo) REPO=$2; shift 2 ;;
    --debug-vdso) DEBUG_VDSO=$2; shift 2 ;;
    *) echo "vdso-check: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -r "$CONSOLE" ] || { echo "FAIL: no console log $CONSOLE"; exit 1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

fail() { echo "FAIL: $*"; exit 1; }

# The model's description, from the built jars (no Maven call: the harness built them).
listing() {
  local core native
  core=$(find "$REPO/core/target" -maxdepth 1 -name 'robust-mutex-core-*.jar' ! -name '*-tests.jar' \
         ! -name '*-javadoc.jar' ! -name '*-sources.jar' | head -1)
  native=$(find "$REPO/native-$ARCH/target" -maxdepth 1 -name "robust-mutex-native-$ARCH-*.jar" \
           ! -name '*-javadoc.jar' ! -name '*-sources.jar' | head -1)
  if [ -z "$core" ] || [ -z "$native" ]; then
    fail "the core or native-$ARCH jar is not built"
  fi
  timeout 120 java -cp "$core:$native" "$REPO/kernels/model/CriticalSectionListing.java" "$ARCH" > "$WORK/model.txt" \
    || fail "could not list the model's critical section"
}

# Canonical text of one instruction, so that objdump's spelling and the kernel source's compare equal:
# jnz is jne, an operand-size suffix that a register operand already implies is dropped, spaces squeezed.
canonical() {
  sed -E 's/[[:space:]]+/ /g; s/^ //; s/ $//; s/^jnz /jne /; s/^jz /je /; s/^(lock )?(mov|cmpxchg|xor)[bwlq] /\1\2 /'
}

listing
grep -a '^==== harness vdso: export ' "$CONSOLE" | sed 's/^==== harness vdso: export /  vdso export: /' || true
symbols=$(awk '$1 == "symbols" {$1 = ""; sub(/^ +/, ""); print}' "$WORK/model.txt")

if [ "$symbols" = none ]; then
  # The module declares no vDSO try-unlock (aarch64 in Linux 7.2): the real vDSO must export none either.
  exported=$(grep -a '^==== harness vdso: export ' "$CONSOLE" | awk '{print $5}' | grep -i 'try_unlock\|robust' || true)
  grep -aq '^==== harness vdso: ' "$CONSOLE" || fail "the guest printed no vDSO listing"
  if [ -n "$exported" ]; then
    fail "the vDSO exports $(echo "$exported" | tr '\n' ' ')but native-$ARCH declares no vDSO try-unlock"
  fi
  echo "PASS: the $ARCH vDSO exports no robust try-unlock, as native-$ARCH declares (the model's sequence is $(awk '$1=="section" && $2=="64" {print $3}' "$WORK/model.txt"))"
  exit 0
fi

read -r sym64 sym32 _version <<< "$symbols"
checked=0 absent=0 notes=""
for width in 64 32; do
  sym=$sym64
  [ "$width" = 32 ] && sym=$sym32
  hex=$(grep -a "^==== harness vdso: bytes $sym " "$CONSOLE" | tail -1 | awk '{print $6}' || true)
  value=$(grep -a "^==== harness vdso: export $sym " "$CONSOLE" | tail -1 | sed -E 's/.*value=(0x[0-9a-f]+).*/\1/' || true)
  if [ -z "$hex" ]; then
    absent=$((absent + 1))
    echo "  $sym: not exported by this kernel's vDSO"
    continue
  fi
  echo "  $sym at $value, $(( ${#hex} / 2 )) bytes: $hex"
  perl -e 'print pack("H*", $ARGV[0])' "$hex" > "$WORK/$sym.bin"   # perl-base is in every Debian
  # Real instructions: address, canonical text.
  objdump -D -b binary -m i386:x86-64 --adjust-vma="$value" "$WORK/$sym.bin" \
    | awk -F'\t' '/^ *[0-9a-f]+:\t/ && NF >= 3 {addr=$1; sub(/^ */, "", addr); sub(/:$/, "", addr); print addr "\t" $3}' \
    > "$WORK/real.$width"
  : > "$WORK/real.canon.$width"
  while IFS=$'\t' read -r addr text; do
    printf '%s\t%s\n' "$addr" "$(printf '%s' "$text" | canonical)" >> "$WORK/real.canon.$width"
  done < "$WORK/real.$width"
  sed 's/^/    objdump: /' "$WORK/real.$width"

  # Model instructions in order, and its labels.
  awk -v w="$width" '$1 == "instruction" && $2 == w {$1=$2=$3=$4=""; sub(/^ +/, ""); print}' "$WORK/model.txt" \
    > "$WORK/model.$width"
  n_model=$(wc -l < "$WORK/model.$width")
  n_real=$(wc -l < "$WORK/real.canon.$width")
  label_index() { awk -v w="$width" -v l="$1" '$1 == "label" && $2 == w && $3 == l {print $4}' "$WORK/model.txt"; }
  cs_start=$(label_index cs_start) cs_success=$(label_index cs_success) cs_end=$(label_index cs_end)
  mapfile -t addrs < <(cut -f1 "$WORK/real.canon.$width")

  i=0
  while read -r model_text; do
    real_line=$(sed -n "$((i + 1))p" "$WORK/real.canon.$width")
    [ -n "$real_line" ] || fail "$sym: the model has instruction $i '$model_text' but the vDSO function ends after $n_real instructions"
    real_addr=${real_line%%$'\t'*}
    real_text=${real_line#*$'\t'}
    want=$(printf '%s' "$model_text" | canonical)
    if [[ $want =~ ^(j[a-z]+|b\.[a-z]+)\ (cs_[a-z]+)$ ]]; then
      # A branch to a label: the real branch must go to the instruction the label names.
      target_index=$(label_index "${BASH_REMATCH[2]}")
      target_addr=${addrs[$target_index]:-}
      [ -n "$target_addr" ] || fail "$sym: label ${BASH_REMATCH[2]} (instruction $target_index) is past the function"
      want="${BASH_REMATCH[1]} 0x$target_addr"
    fi
    if [ "$want" != "$real_text" ]; then
      fail "$sym: instruction $i differs: the model has '$model_text', the vDSO has '$real_text' at 0x$real_addr"
    fi
    echo "    instruction $i: '$model_text' = '$real_text' at 0x$real_addr"
    i=$((i + 1))
  done < "$WORK/model.$width"
  if [ "$n_real" -gt "$n_model" ]; then
    # The symbol's size may cover padding after the final ret (int3 on x86): never executed, allowed.
    extra=$(sed -n "$((n_model + 1)),\$p" "$WORK/real.canon.$width" | cut -f2 | sort -u)
    if [ "$extra" = int3 ]; then
      echo "    after the ret: $((n_real - n_model)) int3 of padding inside the symbol's size"
    else
      extra=$(sed -n "$((n_model + 1))p" "$WORK/real.canon.$width")
      fail "$sym: the vDSO function has more instructions than the model: '${extra#*$'\t'}' at 0x${extra%%$'\t'*}"
    fi
  fi

  # The labels the kernel records for the fixup, from the unstripped vDSO of the same build.
  dbg="$DEBUG_VDSO/vdso64.so"
  if [ -n "$DEBUG_VDSO" ] && [ -r "$dbg" ]; then
    func=$(nm "$dbg" | awk -v s="$sym" '$3 == s {print $1}')
    [ -n "$func" ] || fail "$sym is not in the unstripped vDSO $dbg"
    # Same build: the unstripped file's bytes at the symbol equal what the guest process mapped.
    load=$(readelf -lW "$dbg" | awk '$1 == "LOAD" {print $2, $3; exit}')
    file_hex=$(od -An -v -tx1 -j $(( 0x$func - ${load#* } + ${load% *} )) -N $(( ${#hex} / 2 )) "$dbg" | tr -d ' \n')
    [ "$file_hex" = "$hex" ] || fail "$sym: the -dbg vDSO's bytes ($file_hex) differ from the running vDSO's ($hex)"
    for label in cs_start cs_success cs_end; do
      real=$(nm "$dbg" | awk -v w="list${width}_" -v l="_$label" \
             'index($3, w) && substr($3, length($3) - length(l) + 1) == l {print $1}' | head -1)
      [ -n "$real" ] || fail "$sym: no ${label} label for list$width in $dbg"
      model_index=$(label_index "$label")
      model_addr=${addrs[$model_index]}
      real_offset=$(( 0x$real - 0x$func ))
      model_offset=$(( 0x$model_addr - value ))
      if [ "$real_offset" -ne "$model_offset" ]; then
        fail "$sym: $label is at +$real_offset in the kernel's vDSO but the model puts it before instruction $model_index (+$model_offset)"
      fi
      echo "    label $label: +$real_offset = before model instruction $model_index"
    done
    notes+=" labels of list$width checked against the -dbg vDSO;"
  else
    notes+=" labels of list$width not checked (no -dbg vDSO), branch target only;"
  fi
  echo "    model [cs_start, cs_end) = instructions [$cs_start, $cs_end), cs_success = $cs_success"
  checked=$((checked + 1))
done

if [ "$checked" -eq 0 ]; then
  echo "PASS: this kernel's vDSO exports neither $sym64 nor $sym32 (no Linux 7.2 try-unlock); nothing to compare"
  exit 0
fi
[ "$absent" -eq 0 ] || fail "the vDSO exports only one of $sym64 and $sym32"
echo "PASS: $sym64 and $sym32 match the model instruction by instruction;${notes%;}"
