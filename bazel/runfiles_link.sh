#!/bin/sh
# usage: runfiles_link.sh TEST-BINARY [ARGS...]   (every test runs through it: --run_under in .bazelrc)
#
# Cargo gives integration tests CARGO_BIN_EXE_<name> and CARGO_TARGET_TMPDIR at compile time, as
# absolute paths, and tests written for Cargo use env!(...) (and may run the binary from another
# working directory). Absolute paths into Bazel's runfiles and test directory are only known at
# run time, so bazel/cargo_package.bzl compiles in fixed ones, /tmp/bazel-runfiles/<package>/<test>
# and /tmp/bazel-target-tmp/<package>/<test>, and this script links them to the test's runfiles
# and $TEST_TMPDIR before running it. With Bazel's sandbox,
# /tmp is private to the test; without it, the path is still unique to the test target, and
# runs of one target at once (--runs_per_test) take turns on a lock, so that one run's links
# are never replaced by another's while it runs.
set -eu
: "${TEST_SRCDIR:?runfiles_link.sh runs tests under bazel test only}"
: "${TEST_TARGET:?runfiles_link.sh runs tests under bazel test only}"
target=${TEST_TARGET#@@}
target=${target#@}
target=${target#//}
name=$(printf '%s' "$target" | tr ':' '/')
# The runfiles, for CARGO_BIN_EXE_<name> (and data files), and the test's scratch directory,
# for CARGO_TARGET_TMPDIR (Cargo: target/tmp); linked and used under the target's lock.
link=/tmp/bazel-runfiles/$name
tmp_link=/tmp/bazel-target-tmp/$name
mkdir -p "$(dirname "$link")" "$(dirname "$tmp_link")"
# shellcheck disable=SC2016 # expanded by the inner shell
exec flock "$link.lock" sh -c 'ln -sfn "$1" "$2" && ln -sfn "$3" "$4" && shift 4 && exec "$@"' \
  sh "$TEST_SRCDIR" "$link" "${TEST_TMPDIR:?}" "$tmp_link" "$@"
