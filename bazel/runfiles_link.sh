#!/bin/sh
# usage: runfiles_link.sh TEST-BINARY [ARGS...]   (every test runs through it: --run_under in .bazelrc)
#
# Cargo gives integration tests CARGO_BIN_EXE_<name> at compile time, as an absolute path, and
# tests written for Cargo use env!("CARGO_BIN_EXE_<name>") (and may run the binary from another
# working directory). An absolute path into Bazel's runfiles is only known at run time, so
# bazel/cargo_package.bzl compiles in a fixed one, /tmp/bazel-runfiles/<package>/<test>/..., and
# this script points that path at the test's runfiles before running it. With Bazel's sandbox,
# /tmp is private to the test; without it, the path is still unique to the test target.
set -eu
: "${TEST_SRCDIR:?runfiles_link.sh runs tests under bazel test only}"
: "${TEST_TARGET:?runfiles_link.sh runs tests under bazel test only}"
target=${TEST_TARGET#@@}
target=${target#@}
target=${target#//}
link=/tmp/bazel-runfiles/$(printf '%s' "$target" | tr ':' '/')
mkdir -p "$(dirname "$link")"
ln -sfn "$TEST_SRCDIR" "$link"
exec "$@"
