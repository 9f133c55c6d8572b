#!/usr/bin/env bash
# Runs robust-mutex on a real Linux kernel from Debian's archive under QEMU: fetches the kernel package
# with an isolated apt configuration, builds a busybox initramfs with a Java runtime, the project's jars and
# test classes, boots it, streams the guest's console, and exits non-zero when a step fails or the guest
# does not finish in time. See kernels/README.md.
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
# shellcheck source=lib/common.sh
. "$HERE/lib/common.sh"
# An unexpected failure names its line instead of ending the run silently.
trap 'rc=$?; log "error: line $LINENO: \"$BASH_COMMAND\" failed (exit $rc)"; exit 2' ERR

usage() {
  cat <<'EOF'
Usage: kernels/run.sh [options]

Boots a Debian kernel under QEMU (TCG) and runs robust-mutex inside it.

  --arch x86_64|aarch64     guest architecture (default x86_64)
  --kernel ROW              7.2 (sid), 7.3 (experimental, release candidate), 6.1 (bookworm),
                            5.10 or oldest (bullseye: the oldest Debian kernel the mirror still serves)
                            (default 7.2)
  --suite quick|full        quick: doctor, demo, the real-kernel test classes (the model-only classes
                            io.robustmutex.model.* left out), a JCStress selection, the vDSO check and the
                            death injection; full: the same with every test class of robust-mutex/src/test,
                            a longer JCStress selection and unlock-cost (default quick)
  --steps LIST              comma-separated subset of doctor,demo,tests,jcstress,vdso,inject,ffm,unlock-cost
                            (ffm, x86_64 only: doctor, the demo and the native-binding tests again on JDK 25,
                            which uses the multi-release jar's foreign function and memory classes;
                            unlock-cost: each unlock path the kernel offers against the classic one, as
                            ratios measured in one run, never a time: robust-mutex.jar unlock-cost)
  --unlock-cost-args ARGS   options for the unlock-cost step's command (e.g. "--rounds 9")
  --tests CLASSES           comma-separated test classes (simple or qualified names) instead of the suite's
  --timeout SECONDS         the whole guest run, boot to poweroff (default: by suite and architecture)
  --smp N                   guest CPUs (default: the host's, at most 4)
  --memory MB               guest memory (default 3072)
  --cpu MODEL               QEMU CPU model and flags (default: max, on x86_64 without the AVX family, see
                            kernels/README.md)
  --timeout-scale N         factor for the tests' bounds on child JVMs (default 10 on x86_64, 20 on aarch64)
  --tcg THREADS             multi (one host thread per guest CPU) or single (all guest CPUs in one host
                            thread, round-robin) (default single)
  --java-opts OPTS          JVM options for every JVM in the guest, child JVMs included (JAVA_TOOL_OPTIONS)
  --no-build                use the existing build (target/ folders) instead of running Maven
  --no-debug-symbols        skip the kernel's -dbg package (its unstripped vDSO names the critical-section
                            labels for the vDSO check; about 350 MB, downloaded once)
  --no-boot                 fetch and build everything, then stop before booting
  --keep                    keep the run directory (initramfs, console log) after a passing run
  -h, --help                this text

Environment:
  ROBUST_MUTEX_KERNELS_CACHE   cache for apt state, .debs, runtimes and runs
                               (default ${XDG_CACHE_HOME:-$HOME/.cache}/robust-mutex-kernels)
  ROBUST_MUTEX_DEBIAN_MIRROR   Debian mirror (default: the one the machine's apt uses, else deb.debian.org)
  JAVA_HOME                    the JDK 17 whose jlink builds the x86_64 guest's runtime
  JDK25                        the JDK 25 that builds the project (so that its jars carry the JDK 22
                               classes) and whose jlink builds the x86_64 guest's second runtime, for the
                               ffm step (default /usr/lib/jvm/temurin-25-jdk-amd64 when it exists)

Exit status: 0 when every step passed, 1 when a step failed or the guest did not finish, 2 on a harness
error (a package not found, a tool missing).
EOF
}

# ------------------------------------------------------------------------------------------- arguments
# QEMU 7.2 (bookworm) emulates AVX, AVX2, FMA, F16C and VAES under TCG since that release; with them a guest
# JVM died once of SIGILL in JIT-compiled code (kernels/README.md). The rest of -cpu max stays.
# Test methods the quick suite leaves to the full one (a regular expression over method names).
QUICK_EXCLUDED_TESTS="mutualExclusionBetweenProcesses|killStorm|concurrentCreatorsAgree|aHundredThousandFilesKeepTheMappingsBounded"
# Conditions: the quick suite keeps the thread tests but the bounded queue, and of the child-JVM tests the woken
# waiter killed before it re-locks (the lost wake-up a death causes); the others run on the host and in full.
QUICK_EXCLUDED_TESTS+="|boundedQueueBetweenThreads|aWaiterKilledAsleepLeavesTheConditionWorking"
# The syscall stub's fall-back under PR_SET_MDWE starts an interpreted child JVM; the kernel adds nothing to it
# that the host's 6.18 lacks, so the quick suite leaves it to the host and the full suite.
QUICK_EXCLUDED_TESTS+="|withoutExecutableMemoryTheCLibraryIsUsed"
QUICK_EXCLUDED_TESTS+="|anOwnerDeathDuringAWaitRunsTheRecoveryHandler|anOwnerDeathDuringAWaitIsReportedWithTheMutexHeld"
DEFAULT_CPU_X86_64=max,avx=off,avx2=off,fma=off,f16c=off,vaes=off
ARCH=x86_64
KERNEL=7.2
SUITE=quick
STEPS_OPT=""
JDK25=${JDK25:-/usr/lib/jvm/temurin-25-jdk-amd64}
TESTS_OPT=""
UNLOCK_COST_ARGS=""
TIMEOUT=""
SMP=""
MEMORY=3072
CPU=""
JAVA_TOOL_OPTS=""
TIMEOUT_SCALE=""
# One host thread for all guest CPUs: as fast here as one thread per CPU, and it leaves out multi-threaded
# TCG, under which guest JVMs died of SIGILL and SIGSEGV in JIT-compiled code (kernels/README.md).
TCG_THREADS=single
BUILD=1
DEBUG_SYMBOLS=1
KEEP=0
NO_BOOT=0

parse_args() {
  while [ $# -gt 0 ]; do
    case $1 in
      --arch) ARCH=${2:?--arch needs a value}; shift 2 ;;
      --kernel) KERNEL=${2:?--kernel needs a value}; shift 2 ;;
      --suite) SUITE=${2:?--suite needs a value}; shift 2 ;;
      --steps) STEPS_OPT=${2:?--steps needs a value}; shift 2 ;;
      --tests) TESTS_OPT=${2:?--tests needs a value}; shift 2 ;;
      --unlock-cost-args) UNLOCK_COST_ARGS=${2?--unlock-cost-args needs a value}; shift 2 ;;
      --timeout) TIMEOUT=${2:?--timeout needs a value}; shift 2 ;;
      --smp) SMP=${2:?--smp needs a value}; shift 2 ;;
      --memory) MEMORY=${2:?--memory needs a value}; shift 2 ;;
      --cpu) CPU=${2:?--cpu needs a value}; shift 2 ;;
      --tcg) TCG_THREADS=${2:?--tcg needs a value}; shift 2 ;;
      --timeout-scale) TIMEOUT_SCALE=${2:?--timeout-scale needs a value}; shift 2 ;;
      --java-opts) JAVA_TOOL_OPTS=${2:?--java-opts needs a value}; shift 2 ;;
      --no-build) BUILD=0; shift ;;
      --no-debug-symbols) DEBUG_SYMBOLS=0; shift ;;
      --keep) KEEP=1; shift ;;
      --no-boot) NO_BOOT=1; shift ;;
      -h|--help) usage; exit 0 ;;
      *) usage >&2; die "unknown option $1" ;;
    esac
  done
  case $ARCH in x86_64|aarch64) ;; *) die "--arch must be x86_64 or aarch64, not $ARCH" ;; esac
  case $SUITE in quick|full) ;; *) die "--suite must be quick or full, not $SUITE" ;; esac
  case $TCG_THREADS in single|multi) ;; *) die "--tcg must be single or multi, not $TCG_THREADS" ;; esac
  case $KERNEL in oldest) KERNEL=5.10 ;; esac
  case $KERNEL in 7.2|7.3|6.1|5.10) ;; *) die "--kernel must be 7.2, 7.3, 6.1, 5.10 or oldest, not $KERNEL" ;; esac
  [[ $MEMORY =~ ^[0-9]+$ ]] || die "--memory must be a number of MB"
  if [ -z "$SMP" ]; then
    SMP=$(nproc)
    [ "$SMP" -le 4 ] || SMP=4
  fi
  if [ -z "$TIMEOUT" ]; then
    # Generous bounds for TCG; a run that needs more is a finding, not a reason to wait forever.
    case $ARCH-$SUITE in
      x86_64-quick) TIMEOUT=1800 ;;
      x86_64-full) TIMEOUT=3600 ;;
      aarch64-quick) TIMEOUT=3600 ;;
      aarch64-full) TIMEOUT=7200 ;;
    esac
  fi
  [[ $TIMEOUT =~ ^[0-9]+$ ]] || die "--timeout must be a number of seconds"
  if [ -z "$TIMEOUT_SCALE" ]; then
    case $ARCH in x86_64) TIMEOUT_SCALE=10 ;; aarch64) TIMEOUT_SCALE=20 ;; esac
  fi
  [[ $TIMEOUT_SCALE =~ ^[0-9]+([.][0-9]+)?$ ]] || die "--timeout-scale must be a positive number"
}

# ------------------------------------------------------------------------------------------- kernel rows
# Each row: the apt suites to search and the package-name patterns; the newest version wins.
kernel_row() {
  local debarch=$1
  case $KERNEL in
    7.2) ROW_SUITES=(sid); ROW_PATTERNS=("^linux-binary-7\\.2\\.[0-9]+[^ ]*-cloud-$debarch\$") ;;
    7.3) ROW_SUITES=(experimental); ROW_PATTERNS=("^linux-binary-7\\.3[^ ]*-cloud-$debarch\$") ;;
    6.1) ROW_SUITES=(bookworm bookworm-security); ROW_PATTERNS=("^linux-image-6\\.1\\.0-[0-9]+-cloud-$debarch\$") ;;
    5.10) ROW_SUITES=(bullseye bullseye-security); ROW_PATTERNS=("^linux-image-5\\.10\\.0-[0-9]+-cloud-$debarch\$") ;;
  esac
}

debian_arch() {
  case $1 in x86_64) echo amd64 ;; aarch64) echo arm64 ;; esac
}

# Finds, downloads and unpacks the kernel; sets KERNEL_IMAGE, KERNEL_PACKAGE, KERNEL_VERSION.
fetch_kernel() {
  local debarch found deb dest
  debarch=$(debian_arch "$ARCH")
  kernel_row "$debarch"
  apt_dir "kernel-${ROW_SUITES[0]}" "$debarch" "${ROW_SUITES[@]}"
  apt_update
  found=$(newest_package "${ROW_PATTERNS[@]}") \
    || die "no package matching ${ROW_PATTERNS[*]} in ${ROW_SUITES[*]} for $debarch on $(debian_mirror)"
  KERNEL_PACKAGE=${found% *}
  KERNEL_VERSION=${found#* }
  log "kernel: $KERNEL_PACKAGE $KERNEL_VERSION (newest match in ${ROW_SUITES[*]}, $debarch)"
  dest="$CACHE/kernels/${KERNEL_PACKAGE}_${KERNEL_VERSION}"
  if [ ! -s "$dest/vmlinuz" ]; then
    deb=$(fetch_deb "$KERNEL_PACKAGE" "$KERNEL_VERSION")
    rm -rf "$dest.tmp"
    mkdir -p "$dest.tmp"
    dpkg-deb -x "$deb" "$dest.tmp/root"
    local image
    image=$(find "$dest.tmp/root/usr/lib/modules" "$dest.tmp/root/boot" -maxdepth 2 \
              \( -name vmlinuz -o -name 'vmlinuz-*' \) -type f 2>/dev/null | head -1 || true)
    [ -n "$image" ] || die "$KERNEL_PACKAGE $KERNEL_VERSION has no usr/lib/modules/*/vmlinuz or boot/vmlinuz-*"
    mv "$image" "$dest.tmp/vmlinuz"
    rm -rf "$dest.tmp/root" "$dest"
    mv "$dest.tmp" "$dest"
    rm -f "$deb"
  fi
  KERNEL_IMAGE="$dest/vmlinuz"
}

# The kernel's -dbg package carries the unstripped vDSO, whose local symbols name the critical-section
# labels. Extracts vdso64.so and vdso32.so only; sets DEBUG_VDSO_DIR (empty when unavailable).
fetch_debug_vdso() {
  DEBUG_VDSO_DIR=""
  # Only x86_64 kernels from 7.2 on have the try-unlock whose labels the check wants.
  case $ARCH-$KERNEL in x86_64-7.*) ;; *) return 0 ;; esac
  [ "$DEBUG_SYMBOLS" -eq 1 ] || return 0
  local dbg dest deb version
  case $KERNEL_PACKAGE in
    linux-binary-*) dbg="linux-image-${KERNEL_PACKAGE#linux-binary-}-dbg" ;;
    *) dbg="$KERNEL_PACKAGE-dbg" ;;
  esac
  dest="$CACHE/kernels/${KERNEL_PACKAGE}_${KERNEL_VERSION}/debug-vdso"
  if [ ! -s "$dest/vdso64.so" ]; then
    version=$(apt_isolated apt-cache madison "$dbg" 2>/dev/null | awk -F'|' -v v="$KERNEL_VERSION" \
              '{gsub(/ /,"",$2); if ($2 == v) print $2}' | head -1)
    if [ -z "$version" ]; then
      log "no $dbg=$KERNEL_VERSION in the archive: the vDSO check will infer the labels from the branch"
      return 0
    fi
    log "fetching $dbg $version for the unstripped vDSO (once; about 350 MB)"
    deb=$(fetch_deb "$dbg" "$version")
    rm -rf "$dest.tmp"
    mkdir -p "$dest.tmp"
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dest.tmp" --wildcards './usr/lib/debug/lib/modules/*/vdso/vdso*.so'
    find "$dest.tmp" -name 'vdso*.so' -exec mv {} "$dest.tmp/" \;
    rm -rf "$dest.tmp/usr" "$dest"
    mv "$dest.tmp" "$dest"
    rm -f "$deb"
  fi
  DEBUG_VDSO_DIR=$dest
}

# ------------------------------------------------------------------------------------------- host tools
ensure_tools() {
  local pairs=(cmd:cpio cpio file:/bin/busybox busybox-static cmd:gcc gcc cmd:objdump binutils
               cmd:zstd zstd cmd:dpkg-deb dpkg file:/usr/share/keyrings/debian-archive-keyring.gpg
               debian-archive-keyring cmd:java openjdk-17-jdk-headless cmd:mvn maven)
  case $ARCH in
    x86_64) pairs+=(cmd:qemu-system-x86_64 qemu-system-x86) ;;
    aarch64) pairs+=(cmd:qemu-system-aarch64 qemu-system-arm cmd:aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu
                     file:/usr/aarch64-linux-gnu/lib/libc.a libc6-dev-arm64-cross) ;;
  esac
  ensure_host_packages "${pairs[@]}"
  # QEMU must say "no" fast rather than later: -cpu max and TCG are what the run relies on.
  case $ARCH in
    x86_64) QEMU=qemu-system-x86_64 ;;
    aarch64) QEMU=qemu-system-aarch64 ;;
  esac
  command -v "$QEMU" >/dev/null || die "$QEMU is missing"
}

# ------------------------------------------------------------------------------------------- the build
build_project() {
  if [ "$BUILD" -eq 1 ]; then
    log "building the project (mvn -DskipTests package) and writing its test class path"
    # On JDK 25 when there is one, so that core's jar carries the classes JDK 22 and later load (--release 17
    # keeps every other class a Java 17 class).
    local build_env=()
    if [ -x "$JDK25/bin/java" ]; then build_env=(JAVA_HOME="$JDK25"); fi
    (cd "$REPO" && env "${build_env[@]}" timeout 1200 mvn -B -q -DskipTests package \
        org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath \
        -Dmdep.includeScope=test -Dmdep.outputFile=target/kernels-classpath.txt) \
      || die "the Maven build failed"
  fi
  for f in examples/target/robust-mutex.jar jcstress-tests/target/jcstress.jar robust-mutex/target/test-classes \
           robust-mutex/target/kernels-classpath.txt; do
    [ -e "$REPO/$f" ] || die "$f is missing: run kernels/run.sh once without --no-build (it builds the project and writes the test class path)"
  done
  JUNIT_VERSION=$(sed -n 's:.*<junit.version>\(.*\)</junit.version>.*:\1:p' "$REPO/pom.xml" | head -1)
  [ -n "$JUNIT_VERSION" ] || die "cannot read junit.version from pom.xml"
  # JUnit Jupiter 5.x pairs with JUnit Platform 1.x of the same minor and patch.
  local platform="1.${JUNIT_VERSION#5.}"
  CONSOLE_JAR="$CACHE/maven/junit-platform-console-standalone-$platform.jar"
  if [ ! -f "$CONSOLE_JAR" ]; then
    log "fetching junit-platform-console-standalone $platform from Maven Central"
    (cd "$REPO" && timeout 600 mvn -B -q org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
        -Dartifact="org.junit.platform:junit-platform-console-standalone:$platform" \
        -DoutputDirectory="$CACHE/maven") \
      || die "could not fetch junit-platform-console-standalone $platform from Maven Central"
  fi
  [ -f "$CONSOLE_JAR" ] || die "junit-platform-console-standalone $platform not found at $CONSOLE_JAR"
}

# Static helpers for the guest, built from kernels/c and the test peer; sets HELPERS_DIR.
build_helpers() {
  local cc
  case $ARCH in
    x86_64) cc=gcc ;;
    aarch64) cc=aarch64-linux-gnu-gcc ;;
  esac
  HELPERS_DIR="$RUN/helpers"
  mkdir -p "$HELPERS_DIR"
  # The C programs the tests compile at run time (src/test/c), built here because the guest has no compiler.
  local source name
  # A source without main() is a library the tests load in-process (SharedRobustListTest's glibc helper): it
  # is built shared, against the C library the guest's JVM uses.
  for source in "$REPO"/robust-mutex/src/test/c/*.c; do
    name=$(basename "$source" .c)
    if grep -q '^int main(' "$source"; then
      "$cc" -O2 -Wall -Werror -static -pthread -o "$HELPERS_DIR/$name" "$source" \
        || die "could not build $name (robust-mutex/src/test/c) for $ARCH"
    else
      "$cc" -O2 -Wall -Werror -shared -fPIC -pthread -o "$HELPERS_DIR/$name.so" "$source" \
        || die "could not build the shared library $name (robust-mutex/src/test/c) for $ARCH"
    fi
  done
  "$cc" -O2 -Wall -Werror -static -o "$HELPERS_DIR/vdso_dump" "$HERE/c/vdso_dump.c" \
    || die "could not build vdso_dump for $ARCH"
  if [[ " $STEPS " == *" inject "* ]]; then
    "$cc" -O2 -Wall -Werror -static -no-pie -pthread -o "$HELPERS_DIR/inject" "$HERE/c/inject.c" \
      || die "could not build inject"
  fi
}

# ------------------------------------------------------------------------------------------- the runtime
# jlink_image JAVA_HOME NAME COMPRESS: a jlink image of that JDK in the cache (made once per JDK build), with
# the modules the tests, the launcher, the CLI and JCStress use (jdeps --print-module-deps over their jars),
# plus jdk.unsupported for sun.misc.Unsafe and jdk.management for the launcher's MXBeans, and a CDS archive,
# which shortens every JVM start under TCG. Prints the image's directory.
jlink_image() {
  local java_home=$1 name=$2 compress=$3 key dir
  key=$("$java_home/bin/java" -version 2>&1 | head -2 | md5sum | cut -c1-12)
  dir="$CACHE/runtime/$name-$key"
  if [ ! -x "$dir/bin/java" ]; then
    log "jlink: a runtime for the guest from $java_home"
    rm -rf "$dir.tmp"
    "$java_home/bin/jlink" --add-modules \
        java.base,java.logging,java.management,jdk.management,java.naming,jdk.unsupported,java.xml,java.sql,java.desktop,jdk.compiler,java.scripting,jdk.zipfs \
        --strip-debug --no-man-pages --no-header-files --compress="$compress" --generate-cds-archive \
        --output "$dir.tmp" >&2 || die "jlink of $java_home failed"
    mv "$dir.tmp" "$dir"
  fi
  echo "$dir"
}

# x86_64: a jlink image of the build JDK 17, plus the host's glibc libraries it loads, and for the ffm step
# one of JDK 25. Sets JRE_DIR (copied to /opt/java) and JRE25_DIR (to /opt/java25, or empty).
runtime_x86_64() {
  local java_home
  java_home=${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}
  [ -x "$java_home/bin/jlink" ] || die "no jlink in $java_home (set JAVA_HOME to a JDK 17)"
  "$java_home/bin/java" -version 2>&1 | grep -q 'version "17' \
    || log "warning: $java_home is not JDK 17; the guest runs what jlink of this JDK produces"
  JRE_DIR=$(jlink_image "$java_home" x86_64-jlink 2)
  JAVA_GUEST_HOME=/opt/java
  JRE25_DIR=""
  if [[ " $STEPS " == *" ffm "* ]]; then
    [ -x "$JDK25/bin/jlink" ] || die "the ffm step needs a JDK 25: set JDK25 (no jlink in ${JDK25:-(unset)})"
    JRE25_DIR=$(jlink_image "$JDK25" x86_64-jlink25 zip-6)
  fi
}

# aarch64: bookworm's arm64 OpenJDK 17 and the libraries it loads, unpacked into a root directory.
runtime_aarch64() {
  local packages=(openjdk-17-jre-headless libc6 libstdc++6 libgcc-s1 zlib1g busybox-static) p found deb
  apt_dir runtime-bookworm arm64 bookworm bookworm-security
  apt_update
  local versions=""
  for p in "${packages[@]}"; do
    found=$(newest_package "^${p//+/\\+}\$") || die "package $p not found in bookworm for arm64"
    versions+="$found"$'\n'
  done
  local key
  key=$(printf '%s' "$versions" | md5sum | cut -c1-12)
  ARM_ROOT="$CACHE/runtime/aarch64-bookworm-$key"
  if [ ! -x "$ARM_ROOT/bin/busybox" ]; then
    rm -rf "$ARM_ROOT.tmp"
    mkdir -p "$ARM_ROOT.tmp"
    while read -r p v; do
      [ -n "$p" ] || continue
      log "aarch64 runtime: $p $v"
      deb=$(fetch_deb "$p" "$v")
      dpkg-deb -x "$deb" "$ARM_ROOT.tmp"
    done <<< "$versions"
    # No usrmerge in the extracted tree: busybox-static installs bin/busybox.
    [ -x "$ARM_ROOT.tmp/bin/busybox" ] || die "busybox-static for arm64 did not provide bin/busybox"
    rm -rf "$ARM_ROOT.tmp/usr/share/doc" "$ARM_ROOT.tmp/usr/share/man" "$ARM_ROOT.tmp/usr/share/locale"
    mv "$ARM_ROOT.tmp" "$ARM_ROOT"
  fi
  JAVA_GUEST_HOME=$(cd "$ARM_ROOT" && find usr/lib/jvm -maxdepth 1 -name 'java-17-openjdk-*' -type d | head -1)
  [ -n "$JAVA_GUEST_HOME" ] || die "no usr/lib/jvm/java-17-openjdk-* in the arm64 runtime"
  JAVA_GUEST_HOME=/$JAVA_GUEST_HOME
}

# ------------------------------------------------------------------------------------------- the guest
copy_with_libs_x86_64() {
  # The dynamic libraries the runtime loads (AWT's are left out: nothing graphical runs), from the host.
  local root=$1 lib
  local objects=("$JRE_DIR"/bin/java "$JRE_DIR"/lib/server/libjvm.so)
  if [ -n "${JRE25_DIR:-}" ]; then objects+=("$JRE25_DIR"/bin/java "$JRE25_DIR"/lib/server/libjvm.so); fi
  for lib in "$JRE_DIR"/lib/*.so ${JRE25_DIR:+"$JRE25_DIR"/lib/*.so}; do
    case $(basename "$lib") in
      libawt*|libfontmanager.so|libjsound.so|liblcms.so|libjavajpeg.so|libmlib_image.so|libsplashscreen.so|libjawt.so) ;;
      *) objects+=("$lib") ;;
    esac
  done
  ldd "${objects[@]}" 2>/dev/null | awk '/=> \// {print $3} /^\t\/lib/ {print $1}' | sort -u | while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
  mkdir -p "$root/lib64"
  cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"
  # The host's C.UTF-8 locale (the guest's init sets LANG=C.UTF-8), so that JVMs encode file names in UTF-8.
  if [ -d /usr/lib/locale/C.utf8 ]; then
    mkdir -p "$root/usr/lib/locale"
    cp -a /usr/lib/locale/C.utf8 "$root/usr/lib/locale/"
  fi
  # util-linux's setpriv and unshare, which tests run to start child JVMs as another user and in a new PID
  # namespace (busybox has neither with those options).
  local tool
  for tool in setpriv unshare; do
    if [ -x "/usr/bin/$tool" ]; then
      mkdir -p "$root/usr/bin"
      cp -L "/usr/bin/$tool" "$root/usr/bin/"
      ldd "/usr/bin/$tool" | awk '/=> \// {print $3}' | while read -r lib; do
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
      done
    fi
  done
}

# Test selection for the launcher: explicit --tests, else every class of the suite.
test_selection() {
  if [ -n "$TESTS_OPT" ]; then
    local c sel=""
    mapfile -t classes < <(tr ',' '\n' <<< "$TESTS_OPT" | grep -v '^$')
    for c in "${classes[@]}"; do
      if [[ $c != *.* ]]; then
        c=$(cd "$REPO/robust-mutex/target/test-classes" && find . -name "$c.class" | sed 's:^\./::; s:\.class$::; s:/:.:g' | head -1)
        [ -n "$c" ] || die "no test class named as in --tests $TESTS_OPT"
      fi
      sel+=" --select-class=$c"
    done
    echo "$sel"
  elif [ "$SUITE" = quick ]; then
    # Every real-kernel test except, for the full suite: the model-only classes (io.robustmutex.model.*,
    # kernel-independent, run by mvn verify on the host) and the tests that take many minutes under TCG:
    # three child JVMs at once (mutual exclusion over 100,000 increments, the kill storm, concurrent
    # creation) and 100,000 files opened and closed.
    echo "--scan-class-path=/work/robust-mutex/target/test-classes --exclude-package=io.robustmutex.model" \
         "--exclude-methodname=.*#($QUICK_EXCLUDED_TESTS)"
  else
    echo "--scan-class-path=/work/robust-mutex/target/test-classes"
  fi
}

build_initramfs() {
  local root="$RUN/root"
  rm -rf "$root"
  mkdir -p "$root"/{bin,dev,proc,sys,tmp,run,etc,harness/bin,harness/steps,work/cp,work/robust-mutex/target,work/robust-mutex/src/test}
  if [ "$ARCH" = x86_64 ]; then
    cp /bin/busybox "$root/bin/busybox"
    mkdir -p "$root/opt"
    cp -a "$JRE_DIR" "$root/opt/java"
    if [ -n "${JRE25_DIR:-}" ]; then cp -a "$JRE25_DIR" "$root/opt/java25"; fi
    copy_with_libs_x86_64 "$root"
  else
    cp -a "$ARM_ROOT"/. "$root/"
  fi
  if command -v file >/dev/null && ! file -L "$root/bin/busybox" | grep -q 'statically linked'; then
    log "warning: bin/busybox does not look statically linked"
  fi
  cp "$HERE/guest/init" "$root/init"
  cp "$HERE/guest/steps/"*.sh "$root/harness/steps/"
  cp "$HELPERS_DIR"/* "$root/harness/bin/"
  # Tests compile the C programs of src/test/c with gcc at run time (CInteropTest's peer, VanishedOwnerTest's
  # zombie leader); the guest has no compiler, so this gcc stands in for it with the static build of the same
  # source made on the host, after checking that the source it is asked to compile is that file.
  for source in "$REPO"/robust-mutex/src/test/c/*.c; do
    sha256sum "$source" | cut -d' ' -f1 > "$root/harness/$(basename "$source" .c).sha256"
  done
  cat > "$root/harness/bin/gcc" <<'EOF'
#!/bin/sh
# Stand-in for gcc in the guest: "compiles" a program of robust-mutex/src/test/c by copying its static build
# from the host (or, with -shared, its shared library).
out="" src="" suffix=""
while [ $# -gt 0 ]; do
  case $1 in -o) out=$2; shift 2 ;; *.c) src=$1; shift ;; -shared) suffix=.so; shift ;; *) shift ;; esac
done
[ -n "$out" ] && [ -n "$src" ] || { echo "gcc (guest stand-in): need -o OUT and a .c file" >&2; exit 1; }
name=$(basename "$src" .c)
[ -f "/harness/$name.sha256" ] && [ "$(sha256sum "$src" | cut -d' ' -f1)" = "$(cat "/harness/$name.sha256")" ] \
  || { echo "gcc (guest stand-in): $src is not a source built on the host" >&2; exit 1; }
cp "/harness/bin/$name$suffix" "$out" && chmod +x "$out"
EOF
  chmod +x "$root/harness/bin/gcc" "$root/init" "$root/harness/steps/"*.sh
  # root, and nobody for the tests that run a child JVM as another user.
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' > "$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
  printf '127.0.0.1 localhost guest\n::1 localhost\n' > "$root/etc/hosts"
  mkdir -p "$root/root"

  # The project: jars of the test class path, the test classes, the C peer's source, the CLI and JCStress.
  local cp="" jar name
  mapfile -t jars < <(tr ':' '\n' < "$REPO/robust-mutex/target/kernels-classpath.txt" | grep -v '^$')
  for jar in "${jars[@]}" "$CONSOLE_JAR"; do
    name=$(basename "$jar")
    cp "$jar" "$root/work/cp/$name"
    cp+="/work/cp/$name:"
  done
  cp -a "$REPO/robust-mutex/target/test-classes" "$root/work/robust-mutex/target/"
  cp -a "$REPO/robust-mutex/src/test/c" "$root/work/robust-mutex/src/test/"
  cp "$REPO/examples/target/robust-mutex.jar" "$root/work/robust-mutex.jar"
  cp "$REPO/jcstress-tests/target/jcstress.jar" "$root/work/jcstress.jar"
  cp+="/work/robust-mutex/target/test-classes"

  local jcstress_args
  if [ "$SUITE" = quick ]; then
    jcstress_args="-m sanity -sc false -t RobustMutexMutexTests.(PI|NORMAL).L_L"
  else
    jcstress_args="-m quick -sc false -t RobustMutex"
  fi
  {
    echo "# Written by kernels/run.sh for this run."
    echo "ARCH=$ARCH"
    echo "JAVA_HOME=$JAVA_GUEST_HOME"
    echo "JAVA25_HOME=/opt/java25"
    # The ffm step's tests: the binding (syscalls, errno, the vDSO try-unlock by address), the capabilities,
    # threads, the C peer and the memory lifetime, on JDK 25's foreign function and memory classes.
    echo "FFM_SELECTION=\"--select-class=io.robustmutex.internal.RobustListSelftestsOnKernelTest --select-class=io.robustmutex.internal.LinuxSyscallsTest --select-class=io.robustmutex.KernelSupportTest --select-class=io.robustmutex.RobustMutexThreadsTest --select-class=io.robustmutex.CInteropTest --select-class=io.robustmutex.SharedRobustListTest --select-class=io.robustmutex.LmdbInteropTest\""
    echo "STEPS=\"$STEPS\""
    echo "TEST_CLASSPATH=\"$cp\""
    echo "TEST_SELECTION=\"$(test_selection)\""
    # Tests bound their waits on child JVMs; under TCG a JVM starts 10-20 times more slowly (ChildProcess
    # multiplies its bounds by this property).
    echo "TEST_JVM_ARGS=\"-Xss1m -Drobustmutex.test.timeoutScale=$TIMEOUT_SCALE\""
    echo "JAVA_TOOL_OPTIONS=\"$JAVA_TOOL_OPTS\""
    echo "JCSTRESS_ARGS=\"$jcstress_args\""
    echo "JCSTRESS_JVM_ARGS=\"\""
    echo "UNLOCK_COST_ARGS=\"$UNLOCK_COST_ARGS\""
    echo "INJECT_MODES=\"$INJECT_MODES\""
    # Per-step bounds inside the guest, so that a stuck step still lets the guest report and power off.
    echo "T_DOCTOR=$((TIMEOUT / 8))"
    echo "T_DEMO=$((TIMEOUT / 6))"
    echo "T_TESTS=$((TIMEOUT * 3 / 5))"
    echo "JUNIT_TEST_TIMEOUT=${JUNIT_TEST_TIMEOUT:-10m}"
    echo "T_JCSTRESS=$((TIMEOUT / 4))"
    echo "T_VDSO=120"
    echo "T_INJECT=$((TIMEOUT / 6))"
    echo "T_FFM=$((TIMEOUT / 3))"
    echo "T_UNLOCK_COST=$((TIMEOUT / 4))"
  } > "$root/harness/plan"

  INITRD="$RUN/initramfs.cpio.zst"
  (cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0) \
    | zstd -q -T0 -3 > "$INITRD"
  log "initramfs: $(du -h "$INITRD" | cut -f1) ($(du -sh "$root" | cut -f1) unpacked)"
  rm -rf "$root"
}

# ------------------------------------------------------------------------------------------- boot
boot_guest() {
  local qemu_args console
  case $ARCH in
    x86_64)
      console=ttyS0
      qemu_args=(-M pc -cpu "${CPU:-$DEFAULT_CPU_X86_64}") ;;
    aarch64)
      console=ttyAMA0
      # pauth-impdef: QEMU's own pointer-authentication hash, much cheaper under TCG than the architected one.
      qemu_args=(-M virt -cpu "${CPU:-max,pauth-impdef=on}") ;;
  esac
  # shellcheck disable=SC2054 # commas belong to QEMU's option syntax
  qemu_args+=(-accel "tcg,thread=$TCG_THREADS" -smp "$SMP" -m "$MEMORY" -nodefaults -no-user-config -display none
              -serial stdio -no-reboot -kernel "$KERNEL_IMAGE" -initrd "$INITRD"
              -append "console=$console panic=-1 oops=panic loglevel=4 rdinit=/init")
  log "booting $KERNEL_PACKAGE under $QEMU (TCG $TCG_THREADS-threaded, $SMP cpus, $MEMORY MB, -cpu ${qemu_args[3]}), timeout ${TIMEOUT}s; console:"
  CONSOLE_LOG="$RUN/console.log"
  local start rc=0
  start=$(date +%s)
  # The console is streamed and kept; stdin is closed so that QEMU never waits for a terminal.
  timeout -k 20 "$TIMEOUT" "$QEMU" "${qemu_args[@]}" < /dev/null 2>&1 | sed -u 's/\r$//' | tee "$CONSOLE_LOG" || rc=$?
  DURATION=$(( $(date +%s) - start ))
  QEMU_STATUS=$rc
}

# ------------------------------------------------------------------------------------------- results
# Prints a summary from the console log; returns non-zero when the guest did not pass.
summarize() {
  local log=$CONSOLE_LOG result status=0
  result=$(grep -a '^==== harness RESULT:' "$log" | tail -1 || true)
  echo
  echo "==================== kernels/run.sh summary ===================="
  echo "arch:          $ARCH"
  echo "kernel:        $KERNEL_PACKAGE $KERNEL_VERSION ($(grep -a -m1 '^==== harness guest:' "$log" | sed 's/^==== harness guest: //' || true))"
  echo "doctor:        $(grep -a -m1 '^unlock_path:' "$log" || echo '(no unlock_path line)') | $(grep -a -m1 '^vdso_try_unlock:' "$log" || true) | $(grep -a -m1 '^futex_robust_unlock:' "$log" || true) | $(grep -a -m1 '^futex_lock_pi2:' "$log" || true)"
  # One line per run of the JUnit launcher: the tests step (JDK 17) and the ffm step (JDK 25), in that order.
  local found ok failed skipped aborted labels=() i
  mapfile -t found < <(grep -aoE '\[ *[0-9]+ tests found' "$log" | grep -oE '[0-9]+' || true)
  mapfile -t ok < <(grep -aoE '\[ *[0-9]+ tests successful' "$log" | grep -oE '[0-9]+' || true)
  mapfile -t failed < <(grep -aoE '\[ *[0-9]+ tests failed' "$log" | grep -oE '[0-9]+' || true)
  mapfile -t skipped < <(grep -aoE '\[ *[0-9]+ tests skipped' "$log" | grep -oE '[0-9]+' || true)
  mapfile -t aborted < <(grep -aoE '\[ *[0-9]+ tests aborted' "$log" | grep -oE '[0-9]+' || true)
  [[ " $STEPS " == *" tests "* ]] && labels+=("tests:       ")
  [[ " $STEPS " == *" ffm "* ]] && labels+=("tests (ffm): ")
  for i in "${!found[@]}"; do
    # JUnit counts a test whose assumption failed as aborted, one disabled by a condition as skipped.
    echo "${labels[$i]:-tests:       }  found ${found[$i]}, successful ${ok[$i]:-?}, failed ${failed[$i]:-?}, skipped ${skipped[$i]:-?}, aborted (assumption not met) ${aborted[$i]:-?}"
  done
  if [ "${#found[@]}" -gt 0 ]; then
    grep -a '^==== harness test \(SKIPPED\|FAILED\)' "$log" | sed 's/^==== harness test /               /' || true
  fi
  grep -a '^==== harness jcstress:' "$log" | sed 's/^==== harness /               /' || true
  # Ratios to the classic path measured in one guest, never a time (kernels/README.md, "The unlock cost").
  grep -a '^==== harness unlock-cost:' "$log" | sed 's/^==== harness /               /' || true
  grep -a '^==== harness step ' "$log" | grep -v ': begin$' | sed 's/^==== harness step /step           /' || true
  [ -n "${VDSO_RESULT:-}" ] && echo "vdso check:    $VDSO_RESULT"
  [ -n "${INJECT_RESULT:-}" ] && echo "death inject:  $INJECT_RESULT"
  echo "duration:      ${DURATION}s on the host (boot to poweroff), console log $CONSOLE_LOG"
  if [ -z "$result" ]; then
    if [ "$QEMU_STATUS" -eq 124 ] || [ "$QEMU_STATUS" -eq 137 ]; then
      echo "result:        FAIL: the guest did not finish within ${TIMEOUT}s (no result line); QEMU was stopped"
    else
      echo "result:        FAIL: the guest stopped without a result line (QEMU exit $QEMU_STATUS; a kernel panic or a crash of init?)"
    fi
    status=1
  else
    echo "result:        ${result#==== harness RESULT: }"
    [[ $result == *'RESULT: PASS'* ]] || status=1
  fi
  [ "${VDSO_STATUS:-0}" -eq 0 ] || status=1
  [ "${INJECT_STATUS:-0}" -eq 0 ] || status=1
  [ "$status" -eq 0 ] && echo "overall:       PASS" || echo "overall:       FAIL"
  return "$status"
}

main() {
  parse_args "$@"
  CACHE=${ROBUST_MUTEX_KERNELS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/robust-mutex-kernels}
  mkdir -p "$CACHE"
  local run_start
  run_start=$(date +%s)

  if [ -n "$STEPS_OPT" ]; then
    STEPS=${STEPS_OPT//,/ }
  else
    STEPS="doctor demo tests jcstress vdso inject ffm"
    [ "$SUITE" = quick ] || STEPS+=" unlock-cost"
    if [ "$ARCH" = x86_64 ] && [ ! -x "$JDK25/bin/jlink" ]; then
      log "no JDK 25 at ${JDK25:-(unset)}: the ffm step is left out (set JDK25)"
      STEPS=${STEPS//ffm/}
    fi
  fi
  [ "$ARCH" = x86_64 ] || STEPS=${STEPS//inject/}
  [ "$ARCH" = x86_64 ] || STEPS=${STEPS//ffm/}
  INJECT_MODES="vdso classic"

  ensure_tools
  build_project
  fetch_kernel
  if [[ " $STEPS " == *" vdso "* ]]; then
    fetch_debug_vdso
  fi
  RUN="$CACHE/runs/$(date +%Y%m%d-%H%M%S)-$ARCH-$KERNEL"
  mkdir -p "$RUN"
  build_helpers
  if [ "$ARCH" = x86_64 ]; then runtime_x86_64; else runtime_aarch64; fi
  build_initramfs
  if [ "$NO_BOOT" -eq 1 ]; then
    log "--no-boot: kernel $KERNEL_IMAGE, initramfs $INITRD"
    exit 0
  fi
  boot_guest
  VDSO_STATUS=0 INJECT_STATUS=0
  if [[ " $STEPS " == *" vdso "* ]]; then
    VDSO_STATUS=0
    VDSO_RESULT=$("$HERE/vdso-check.sh" --arch "$ARCH" --console "$CONSOLE_LOG" --repo "$REPO" \
                  ${DEBUG_VDSO_DIR:+--debug-vdso "$DEBUG_VDSO_DIR"} 2>&1 | tee "$RUN/vdso-check.txt" | tail -1) \
      || VDSO_STATUS=1
    cat "$RUN/vdso-check.txt"
  fi
  if [[ " $STEPS " == *" inject "* ]]; then
    INJECT_RESULT=$("$HERE/inject-check.sh" --console "$CONSOLE_LOG" --repo "$REPO" 2>&1 \
                    | tee "$RUN/inject-check.txt" | tail -1) || INJECT_STATUS=1
    cat "$RUN/inject-check.txt"
  fi
  local status=0
  summarize || status=$?
  echo "total:         $(( $(date +%s) - run_start ))s for kernels/run.sh (fetch, build, boot, checks)"
  if [ "$status" -eq 0 ] && [ "$KEEP" -eq 0 ]; then
    rm -f "$INITRD"
  fi
  exit "$status"
}

main "$@"
