# shellcheck shell=bash
# Keep-going mode for bubblewrap's shell tests (appended by ci/upstream-bwrap-suite to a COPY of
# tests/libtest-core.sh; never to the source tree).
#
# Upstream runs under `set -e`, so its first failing command ends the script and every later test
# goes unreported. Here errexit is off, and the ERR trap (inherited by functions and subshells via
# errtrace) records a failure at exactly the commands where errexit would have aborted: bash runs
# ERR traps in the same places errexit acts, so `!`, `if`, `while` conditions and all but the last
# command of `&&`/`||` lists stay unchecked, as upstream; failures inside command substitutions
# count only through the substitution's own status, as upstream. `fatal` records instead of exiting.
# `_kg_ok` (which the patched `ok` calls) prints `not ok N` when anything failed since the last
# test, and the failing commands as TAP diagnostics.

set +e
set -E

# One file per script run, shared with subshells and command substitutions through the
# environment; `_kg_end` (run on EXIT) reports failures after the last test and removes it.
KG_FAILFILE=$(mktemp /var/tmp/kg-fail.XXXXXX)
export KG_FAILFILE
: "${KG_WAIT:=10}"

_kg_fail() {
    printf '%s\n' "$*" >> "$KG_FAILFILE"
}

fatal() {
    echo "$@" 1>&2
    _kg_fail "fatal: $*"
    return 1
}

report_err() {
    local exit_status="$?"
    # Inside $(...) errexit is off upstream (no inherit_errexit): only the status of the whole
    # substitution counts, where the outer command sees it. The scripts have no checked ( ) subshells.
    [ "$BASH_SUBSHELL" = 0 ] || return 0
    { { local BASH_XTRACEFD=3; } 2> /dev/null
    echo "keep-going: exit status $exit_status from: $BASH_COMMAND" >&2
    _kg_fail "exit status $exit_status from: $BASH_COMMAND"
    } 3> /dev/null
}
trap report_err ERR

# _kg_ok NUMBER DESCRIPTION...: the patched `ok`. A test marked as skipped after a failure is
# reported as failed (its directive is dropped so that TAP counts it as a failure).
_kg_ok() {
    { { local BASH_XTRACEFD=3; } 2> /dev/null
    local n="$1"
    shift
    if [ -s "$KG_FAILFILE" ]; then
        local desc="$*"
        echo "not ok $n ${desc//# SKIP/(would skip)}"
        sed 's/^/# failed: /' "$KG_FAILFILE"
        : > "$KG_FAILFILE"
    else
        echo "ok $n $*"
    fi
    } 3> /dev/null
}

# Failures after the last test would have ended the script upstream before its plan line.
_kg_end() {
    { { local BASH_XTRACEFD=3; } 2> /dev/null
    if [ -s "$KG_FAILFILE" ]; then
        echo "not ok - failures after the last test"
        sed 's/^/# failed: /' "$KG_FAILFILE"
    fi
    rm -f "$KG_FAILFILE"
    } 3> /dev/null
}

# _kg_wait_file PATH: a bounded `while ! test -f PATH; do sleep 1; done`.
_kg_wait_file() {
    local i
    for ((i = 0; i < KG_WAIT * 10; i++)); do
        test -f "$1" && return 0
        sleep 0.1
    done
    echo "keep-going: gave up waiting ${KG_WAIT}s for $1" >&2
    return 1
}
