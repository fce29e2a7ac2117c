#!/usr/bin/env bash
# usage: bundled_bwrap_test.sh debug|release SANDBOX BWRAP   (//sandbox:bundled_bwrap_test runs it)
#
# The digest of the Bazel-built bwrap compiled into the Bazel-built sandbox, end to end:
#  1. sandbox with its bundled bwrap next to it, no bwrap on PATH: the command runs;
#  2. the same with one byte appended to the bundled bwrap: refused with exit status 122,
#     naming the digest mismatch, and the command does not run;
# and the runfiles candidate CARGO_BIN_EXE_bwrap, honoured by debug Bazel builds only:
#  3. outside a runfiles environment it is ignored: no bwrap at all, exit status 125;
#  4. with RUNFILES_DIR set, a debug build uses it and checks its digest: the Bazel-built bwrap
#     runs, 5. a tampered copy is refused with 122; a release build (-c opt) ignores it (125).
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 debug|release SANDBOX BWRAP" >&2; exit 2; }
mode=$1
sandbox=$(readlink -f "$2")
bwrap=$(readlink -f "$3")
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/bundled-bwrap.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/empty-path" "$tmp/ws"
failures=0

# install DIR [tampered]: a copy of sandbox in DIR, with a bundled bwrap next to it unless
# DIR ends in -alone; "tampered" appends one byte to that bwrap.
install() {
  mkdir -p "$1"
  cp "$sandbox" "$1/sandbox"
  case "$1" in *-alone) return ;; esac
  cp "$bwrap" "$1/bwrap"
  if [ "${2:-}" = tampered ]; then printf '\n' >> "$1/bwrap"; fi
}

# expect NAME STATUS PATTERN DIR [VAR=VALUE...]: runs DIR/sandbox with a clean environment (PATH
# without any bwrap, plus the given variables) and checks the exit status and the output.
expect() {
  local name=$1 want=$2 pattern=$3 dir=$4 status=0
  shift 4
  env -i PATH="$tmp/empty-path" "$@" "$dir/sandbox" run --cwd "$tmp/ws" -- /bin/sh -c 'echo ran-inside' \
    > "$tmp/out" 2>&1 || status=$?
  if [ "$status" = "$want" ] && grep -q -- "$pattern" "$tmp/out"; then
    echo "ok: $name (exit $status)"
  else
    echo "FAIL: $name: exit $status (want $want), output should match '$pattern':"
    sed 's/^/    /' "$tmp/out"
    failures=$((failures + 1))
  fi
  if [ "$want" != 0 ] && grep -q ran-inside "$tmp/out"; then
    echo "FAIL: $name: the command ran"
    failures=$((failures + 1))
  fi
}

install "$tmp/intact"
install "$tmp/tampered" tampered
install "$tmp/runfiles-alone"
cp "$bwrap" "$tmp/bwrap-tampered" && printf '\n' >> "$tmp/bwrap-tampered"

expect "untampered bundled bwrap runs the command" 0 ran-inside "$tmp/intact"
expect "tampered bundled bwrap is refused" 122 "digest mismatch" "$tmp/tampered"
expect "CARGO_BIN_EXE_bwrap is ignored outside runfiles" 125 "bwrap" "$tmp/runfiles-alone" \
  CARGO_BIN_EXE_bwrap="$bwrap"
case "$mode" in
  debug)
    expect "CARGO_BIN_EXE_bwrap is used in debug Bazel runfiles" 0 ran-inside "$tmp/runfiles-alone" \
      CARGO_BIN_EXE_bwrap="$bwrap" RUNFILES_DIR="$tmp"
    expect "a tampered CARGO_BIN_EXE_bwrap is refused" 122 "digest mismatch" "$tmp/runfiles-alone" \
      CARGO_BIN_EXE_bwrap="$tmp/bwrap-tampered" RUNFILES_DIR="$tmp" ;;
  release)
    expect "a release build ignores CARGO_BIN_EXE_bwrap even in runfiles" 125 "bwrap" \
      "$tmp/runfiles-alone" CARGO_BIN_EXE_bwrap="$bwrap" RUNFILES_DIR="$tmp" ;;
  *) echo "unknown mode $mode (debug or release)" >&2; exit 2 ;;
esac

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
