# shellcheck shell=bash
# Fetching one version of a Debian source package through a temporary apt configuration, for
# ci/upstream-bwrap-suite and ci/bwrap-versions (sourced, not run).
#
#   debian_source_fetch RELEASE PACKAGE VERSION DSC_SHA256 ORIG_SHA256 DEST [orig-only]
#
# Downloads PACKAGE=VERSION from Debian RELEASE (its main, -updates and -security suites) into
# DEST/dl and unpacks it, Debian patches applied, into DEST/src. With `orig-only` (for a
# version whose Debian patch tarball the archive no longer serves) only the .dsc and the
# .orig tarball are downloaded and the .orig tarball is unpacked as it is: upstream's release. The host's apt sources, lists
# and caches are never touched: every list, cache and source file lives in a temporary
# directory. apt checks the download against the archive's signed indexes (keyring
# debian-archive-keyring); the .dsc and the .orig tarball are checked once more against the
# pinned SHA-256s. Messages go to stderr prefixed with $DEBIAN_SOURCE_LOG (default the
# script's name); a failure ends the script with exit status 2.

DEBIAN_ARCHIVE_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

_ds_say() { echo "${DEBIAN_SOURCE_LOG:-$(basename "$0")}: $*" >&2; }
_ds_die() {
  _ds_say "$*"
  exit 2
}

debian_source_fetch() {
  local release="$1" package="$2" version="$3" dsc_sha="$4" orig_sha="$5" dest="$6" mode="${7:-full}"
  local tmp list part opts=() found='' suites parts=("")
  [ "$mode" = orig-only ] && parts=(--dsc-only --tar-only)
  [ -r "$DEBIAN_ARCHIVE_KEYRING" ] || _ds_die "missing $DEBIAN_ARCHIVE_KEYRING; install debian-archive-keyring (ci/setup)"
  command -v dpkg-source > /dev/null || _ds_die "missing dpkg-source; install dpkg-dev (ci/setup)"
  suites=(
    "http://deb.debian.org/debian ${release}"
    "http://deb.debian.org/debian ${release}-updates"
    "http://deb.debian.org/debian-security ${release}-security"
  )
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/debian-source-apt.XXXXXX")
  chmod 755 "$tmp" # apt's download sandbox user (_apt) has to reach it
  mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/parts" "$tmp/dl"
  if [ "$(id -u)" = 0 ] && id _apt > /dev/null 2>&1; then chown _apt "$tmp/dl"; fi
  for list in "${suites[@]}"; do
    echo "deb-src [signed-by=$DEBIAN_ARCHIVE_KEYRING] $list main"
  done > "$tmp/all.list"
  # The host's apt.conf.d stays in force (proxies, date checks), but not its hooks: the update
  # of these temporary lists must not run the host's cache cleaners or catalogue refreshers.
  printf '#clear %s;\n' APT::Update::Pre-Invoke APT::Update::Post-Invoke APT::Update::Post-Invoke-Success \
    DPkg::Pre-Invoke DPkg::Post-Invoke > "$tmp/no-hooks.conf"
  opts=(-c "$tmp/no-hooks.conf" -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache" -o "Dir::Etc::SourceParts=$tmp/parts"
    -o "Dir::Etc::Preferences=$tmp/none" -o "Dir::Etc::PreferencesParts=$tmp/parts" -o Debug::NoLocking=1
    -o Acquire::Languages=none)
  _ds_say "fetching ${package} ${version} source indexes from Debian ${release} (temporary apt config in $tmp)"
  apt-get -qq "${opts[@]}" -o "Dir::Etc::SourceList=$tmp/all.list" update > "$tmp/update.log" 2>&1 ||
    { cat "$tmp/update.log" >&2; rm -rf "$tmp"; _ds_die "apt-get update (temporary ${release} deb-src config) failed"; }
  # Tell whoever maintains the pin when the release has moved on.
  local newest
  newest=$(apt-cache "${opts[@]}" -o "Dir::Etc::SourceList=$tmp/all.list" showsrc "$package" 2> /dev/null |
    sed -n 's/^Version: //p' | sort -V | tail -n1)
  if [ -n "$newest" ] && [ "$newest" != "$version" ] && dpkg --compare-versions "$newest" gt "$version"; then
    _ds_say "note: Debian ${release} now carries ${package} $newest; the pin is $version"
  fi
  # A mirror may lack one of the files, so try each suite carrying the version in turn.
  for list in "${suites[@]}"; do
    echo "deb-src [signed-by=$DEBIAN_ARCHIVE_KEYRING] $list main" > "$tmp/one.list"
    rm -f "$tmp/dl"/*
    found=1
    for part in "${parts[@]}"; do
      (cd "$tmp/dl" && apt-get -q "${opts[@]}" -o "Dir::Etc::SourceList=$tmp/one.list" \
        source --download-only ${part:+"$part"} "${package}=${version}") >> "$tmp/source.log" 2>&1 || found=
    done
    [ -n "$found" ] && break
  done
  if [ -z "$found" ]; then
    cat "$tmp/source.log" >&2
    rm -rf "$tmp"
    _ds_die "apt-get source --download-only ${package}=${version} failed from every ${release} suite"
  fi
  local dsc="$tmp/dl/${package}_${version#*:}.dsc" upstream=${version#*:}
  upstream=${upstream%-*}
  local orig
  orig=$(find "$tmp/dl" -maxdepth 1 -name "${package}_${upstream}.orig.tar.*" ! -name '*.asc' | head -n1)
  [ -n "$orig" ] || { rm -rf "$tmp"; _ds_die "no ${package}_${upstream}.orig.tar.* among the downloaded files"; }
  echo "$dsc_sha  $dsc" | sha256sum -c --quiet - ||
    { rm -rf "$tmp"; _ds_die "$dsc does not match the pinned sha256 $dsc_sha"; }
  echo "$orig_sha  $orig" | sha256sum -c --quiet - ||
    { rm -rf "$tmp"; _ds_die "$orig does not match the pinned sha256 $orig_sha"; }
  # The .dsc (pinned) must list the .orig tarball's hash, so that both pins agree.
  grep -q "^ $orig_sha [0-9]* $(basename "$orig")\$" "$dsc" ||
    { rm -rf "$tmp"; _ds_die "$(basename "$dsc") does not list $(basename "$orig") with sha256 $orig_sha"; }
  rm -rf "$dest"
  mkdir -p "$dest/dl"
  cp "$tmp/dl"/* "$dest/dl/"
  if [ "$mode" = orig-only ]; then
    _ds_say "unpacking upstream's $(basename "$orig") unpatched (Debian's patch tarball is not used)"
    mkdir -p "$dest/src"
    tar -xf "$dest/dl/$(basename "$orig")" -C "$dest/src" --strip-components=1 ||
      { rm -rf "$tmp"; _ds_die "tar -xf $(basename "$orig") failed"; }
  else
    dpkg-source --no-copy -x "$dest/dl/$(basename "$dsc")" "$dest/src" > "$tmp/extract.log" 2>&1 ||
      { cat "$tmp/extract.log" >&2; rm -rf "$tmp"; _ds_die "dpkg-source -x $(basename "$dsc") failed"; }
  fi
  rm -rf "$tmp"
}
