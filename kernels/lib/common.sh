# shellcheck shell=bash
# Shared helpers of the kernel harness: messages, bounded commands, host packages, and the isolated apt
# configuration that fetches Debian kernel and runtime packages without touching the machine's apt state.

log() { printf 'kernels: %s\n' "$*" >&2; }
die() { printf 'kernels: error: %s\n' "$*" >&2; exit 2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs the Debian packages among "$@" whose command or file test fails, with the machine's own apt
# (like .ci/run does). Arguments are pairs: a test ("cmd:NAME" or "file:PATH") and a package name.
ensure_host_packages() {
  local missing=() check package
  while [ $# -ge 2 ]; do
    check=$1 package=$2
    shift 2
    case $check in
      cmd:*) command -v "${check#cmd:}" >/dev/null 2>&1 || missing+=("$package") ;;
      file:*) [ -e "${check#file:}" ] || missing+=("$package") ;;
      *) die "internal: bad check $check" ;;
    esac
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
    die "need root or sudo to install ${missing[*]}"
  fi
  # Bounded: a mirror that does not answer must not hang the harness.
  timeout 900 env DEBIAN_FRONTEND=noninteractive bash -c "$(declare -f as_root); as_root apt-get update -q" \
    || die "apt-get update failed"
  timeout 1800 bash -c "$(declare -f as_root); as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends $(printf '%q ' "${missing[@]}")" \
    || die "could not install ${missing[*]}"
}

# ---------------------------------------------------------------------------------------------------------
# Isolated apt. Every call names its own state, cache, lists and sources, so the machine's configuration
# (/etc/apt, /var/lib/apt, /var/cache/apt) is neither read for sources nor written. Release files are
# verified against the Debian archive keyring installed on the machine (debian-archive-keyring), named with
# signed-by in our own sources list; verification stays on.

# The mirror the machine's own apt uses for Debian (first deb.debian.org-like URI found), else the default.
debian_mirror() {
  local uri
  uri=$(grep -rhoE '^(URIs:|deb)[[:space:]]+(\[[^]]*\][[:space:]]+)?https?://[^[:space:]]+/debian/?([[:space:]]|$)' \
        /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
        | grep -oE 'https?://[^[:space:]]+/debian/?' | head -1 || true)
  printf '%s\n' "${ROBUST_MUTEX_DEBIAN_MIRROR:-${uri:-http://deb.debian.org/debian}}"
}

# apt_dir NAME DEBARCH SUITE... : prepares $APT_ROOT for a set of suites and one Debian architecture.
# Suites named "*-security" come from the security archive next to the mirror.
apt_dir() {
  local name=$1 debarch=$2
  shift 2
  APT_ROOT="$CACHE/apt/$name-$debarch"
  APT_DEBARCH=$debarch
  local keyring=${ROBUST_MUTEX_DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
  [ -r "$keyring" ] || die "the Debian archive keyring $keyring is missing (apt-get install debian-archive-keyring)"
  mkdir -p "$APT_ROOT"/state/lists/partial "$APT_ROOT"/cache/archives/partial \
           "$APT_ROOT"/etc/sources.list.d "$APT_ROOT"/etc/preferences.d "$APT_ROOT"/etc/apt.conf.d
  touch "$APT_ROOT/state/status"
  local mirror security suite sources
  mirror=$(debian_mirror)
  security="${mirror%/debian*}/debian-security"
  sources=""
  for suite in "$@"; do
    case $suite in
      *-security) sources+="deb [signed-by=$keyring] $security $suite main"$'\n' ;;
      *) sources+="deb [signed-by=$keyring] $mirror $suite main"$'\n' ;;
    esac
  done
  if [ ! -f "$APT_ROOT/etc/sources.list" ] || [ "$(cat "$APT_ROOT/etc/sources.list")" != "${sources%$'\n'}" ]; then
    printf '%s' "$sources" > "$APT_ROOT/etc/sources.list"
    rm -f "$APT_ROOT/updated"
  fi
}

# apt-get / apt-cache with the isolated configuration of the last apt_dir call.
apt_isolated() {
  local tool=$1
  shift
  local sandbox=()
  # As root apt drops to the _apt user for downloads, which cannot enter a cache under a private home.
  # The cache is ours, so download as root there instead of weakening the directory's permissions.
  [ "$(id -u)" -eq 0 ] && sandbox=(-o APT::Sandbox::User=root)
  timeout "${APT_TIMEOUT:-900}" "$tool" \
    -o Dir::State="$APT_ROOT/state" -o Dir::State::status="$APT_ROOT/state/status" \
    -o Dir::Cache="$APT_ROOT/cache" \
    -o Dir::Etc::SourceList="$APT_ROOT/etc/sources.list" -o Dir::Etc::SourceParts="$APT_ROOT/etc/sources.list.d" \
    -o Dir::Etc::Parts="$APT_ROOT/etc/apt.conf.d" -o Dir::Etc::Preferences="$APT_ROOT/etc/preferences" \
    -o Dir::Etc::PreferencesParts="$APT_ROOT/etc/preferences.d" \
    -o APT::Architecture="$APT_DEBARCH" -o APT::Architectures::="$APT_DEBARCH" \
    -o Acquire::Languages=none \
    "${sandbox[@]}" "$@"
}

# Refreshes the package lists of the isolated configuration at most every 6 hours.
apt_update() {
  local stamp="$APT_ROOT/updated"
  if [ -f "$stamp" ] && [ -z "$(find "$stamp" -mmin +360)" ]; then
    return 0
  fi
  log "apt (isolated, $APT_ROOT): update $(awk '{print $4}' "$APT_ROOT/etc/sources.list" | tr '\n' ' ')"
  if ! apt_isolated apt-get -q update > "$APT_ROOT/update.log" 2>&1; then
    cat "$APT_ROOT/update.log" >&2
    die "apt-get update of the isolated configuration failed (see above)"
  fi
  if grep -qE '^(W|E): ' "$APT_ROOT/update.log"; then
    grep -E '^(W|E): ' "$APT_ROOT/update.log" >&2
  fi
  touch "$stamp"
}

# newest_package REGEX...: prints "NAME VERSION" of the newest version among packages whose name matches
# one of the extended regexes, over every suite of the configuration. Fails when nothing matches.
newest_package() {
  local regex name version best_name="" best_version=""
  for regex in "$@"; do
    while read -r name; do
      [ -n "$name" ] || continue
      while read -r version; do
        if [ -z "$best_version" ] || dpkg --compare-versions "$version" gt "$best_version"; then
          best_name=$name best_version=$version
        fi
      done < <(apt_isolated apt-cache madison "$name" 2>/dev/null | awk -F'|' '{gsub(/ /,"",$2); print $2}')
    done < <(apt_isolated apt-cache pkgnames 2>/dev/null | grep -E "$regex" | sort -u)
  done
  [ -n "$best_name" ] || return 1
  printf '%s %s\n' "$best_name" "$best_version"
}

# fetch_deb NAME VERSION: downloads (or reuses) the .deb into $CACHE/debs and prints its path. apt checks
# its hash against the signed Release file.
fetch_deb() {
  local name=$1 version=$2 file
  mkdir -p "$CACHE/debs"
  file=$(find "$CACHE/debs" -maxdepth 1 -name "${name}_${version//:/%3a}_*.deb" | head -1)
  if [ -z "$file" ]; then
    (cd "$CACHE/debs" && apt_isolated apt-get -q download "$name=$version" >&2) \
      || die "could not download $name=$version"
    file=$(find "$CACHE/debs" -maxdepth 1 -name "${name}_${version//:/%3a}_*.deb" | head -1)
  fi
  [ -n "$file" ] || die "downloaded $name=$version but cannot find its .deb in $CACHE/debs"
  printf '%s\n' "$file"
}
