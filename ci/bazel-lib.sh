# shellcheck shell=bash
# usage: . ci/bazel-lib.sh   (sourced by ci/bazel and ci/bazel-*; not meant to be run)
#
# Shared by the Bazel scripts: where the Debian root lives, a lock for provisioning, and
# inroot(), which runs a command inside the root with bubblewrap: a private mount namespace
# plus pivot_root, NOT chroot. Inside a chroot the kernel refuses unshare(CLONE_NEWUSER), Bazel's
# linux-sandbox silently falls back to the processwrapper sandbox, and every test that creates
# namespaces fails. Nothing is ever mounted on the host side, so no stale mounts pile up below
# the root (stacked /dev mounts made linux-sandbox remount /dev nodev: /dev/null gave EACCES).
#
# Settings (environment):
#   BAZEL_DEBIAN_ROOT    the root (default /var/cache/agent-sandbox/bazel-root): a per-machine
#                        cache outside the repository, shared by every checkout and CI run
#   NO_NET=1             run without network (bwrap --unshare-net), for offline checks
#   BAZEL_ROOT_PASSENV   extra variable names to pass into the root (space-separated)
#   BAZEL_ROOT_BINDS     extra host paths to bind read-write at the same path (space-separated)
#   BAZEL_ROOT_RO_BINDS  extra host paths to bind read-only at the same path (space-separated)

ROOT=${BAZEL_DEBIAN_ROOT:-/var/cache/agent-sandbox/bazel-root}
ROOT=${ROOT%/}
# The repository: the directory above ci/.
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)

die() { echo "error: $*" >&2; exit 1; }

# Serialises provisioning steps between concurrent jobs on one machine (fd 9 stays open, so the
# lock is held until the calling script exits).
lock_root() {  # usage: lock_root [name]  (default: the provisioning lock)
  mkdir -p "$(dirname "$ROOT")"
  exec 9>"$ROOT.${1:-provision}.lock"
  flock 9
}

# usage: [WS=host-dir [CWD=dir]] inroot command args...
# WS is bound at the same path and is the working directory (or CWD, which must lie inside WS).
inroot() {
  [ -x "$ROOT/usr/bin/apt-get" ] || die "$ROOT is not a provisioned root (run ci/bazel-provision)"
  command -v bwrap >/dev/null || die "bubblewrap (bwrap) is not installed on the host"
  if awk -v r="$ROOT/" 'index($2, r) == 1 {found = 1} END {exit !found}' /proc/mounts; then
    die "something is mounted below $ROOT on the host; unmount it first"
  fi
  local binds=() envs=() net=() v p ws=${WS:-} cwd=/
  if [ -n "$ws" ]; then
    ws=$(readlink -f "$ws")
    case "$ws" in
      /) die "refusing to bind / into the root" ;;
      "$ROOT" | "$ROOT"/*) die "the workspace $ws lies inside the root $ROOT" ;;
    esac
    case "$ROOT/" in "$ws"/*) die "the root $ROOT lies inside the workspace $ws" ;; esac
    binds+=(--bind "$ws" "$ws")
    cwd=${CWD:-$ws}
  fi
  # A rustup installation, read-only at the same path, so that
  # --repo_env=LOCAL_RUST_SYSROOT=<rustup toolchain dir> also works inside the root.
  local rustup=${RUSTUP_HOME:-${HOME:-/root}/.rustup}
  if [ -d "$rustup/toolchains" ]; then binds+=(--ro-bind "$rustup" "$rustup"); fi
  # The host's system bwrap (Debian 12: bubblewrap 0.8.0, without --argv0), so that tests in
  # the root see the same /usr/bin/bwrap as Cargo's tests on the host: the same conformance
  # matrix (system and old-bwrap targets) and the same launcher cases.
  if [ -x /usr/bin/bwrap ]; then binds+=(--ro-bind /usr/bin/bwrap /usr/bin/bwrap); fi
  for p in ${BAZEL_ROOT_BINDS:-}; do binds+=(--bind "$p" "$p"); done
  for p in ${BAZEL_ROOT_RO_BINDS:-}; do binds+=(--ro-bind "$p" "$p"); done
  for v in LOCAL_RUST_SYSROOT CARGO_HOME CARGO_TARGET_DIR DEBIAN_FRONTEND \
           http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY ${BAZEL_ROOT_PASSENV:-}; do
    if [ -n "${!v:-}" ]; then envs+=(--setenv "$v" "${!v}"); fi
  done
  if [ -n "${NO_NET:-}" ]; then net=(--unshare-net); fi
  # /proc is bind-mounted from the host on purpose: bwrap's own --proc over-mounts parts of
  # /proc, and `unshare --mount-proc` inside tests then fails with EPERM.
  bwrap "${net[@]}" \
    --bind "$ROOT" / --dev-bind /dev /dev --bind /proc /proc --bind /sys /sys \
    "${binds[@]}" --cap-add ALL --clearenv \
    --setenv HOME /root --setenv USER root --setenv LANG C.UTF-8 --setenv TERM dumb \
    --setenv PATH /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    "${envs[@]}" --chdir "$cwd" "$@"
}

# usage: inws command args...   runs the command inside the root, in $PWD if that lies inside
# the repository (else at its top), with the repository bound at the same path.
inws() {
  local here
  here=$(pwd -P)
  case "$here/" in "$TOP"/*) ;; *) here=$TOP ;; esac
  WS=$TOP CWD=$here inroot "$@"
}
