"""Bazel targets for a Cargo package of this workspace, following Cargo's own conventions.

Each crate's BUILD.bazel calls `cargo_package` once; sources are globbed, so new modules, new
`src/bin/*.rs` binaries and new `tests/*.rs` integration tests are picked up without editing
BUILD files. Third-party dependencies come from the package's Cargo.toml through the vendored
crate_universe output (//third_party/crates, see ci/bazel-vendor).
"""

load("@rules_rust//rust:defs.bzl", "rust_binary", "rust_library", "rust_test")
load("//third_party/crates:defs.bzl", "all_crate_deps")

# [workspace.package] of the root Cargo.toml; ci/bazel-vendor --check fails if they differ.
EDITION = "2024"
VERSION = "0.1.0"

def cargo_bin_env(bins):
    """Run-time `CARGO_BIN_EXE_<name>` variables, for code that resolves them at run time.

    Args:
        bins: dict of binary name to label.

    Returns:
        A dict for `env`: each value is the binary's rlocation path (e.g. `_main/bwrap/bwrap`),
        resolved against `$RUNFILES_DIR` or `$TEST_SRCDIR` (the conformance suite and the
        sandbox launcher's Bazel candidate read it so).
    """
    return {"CARGO_BIN_EXE_" + name: "$(rlocationpath %s)" % label for name, label in bins.items()}

def _compile_time_bin_env(test_name, bins):
    """Compile-time `CARGO_BIN_EXE_<name>` and `CARGO_TARGET_TMPDIR`, absolute paths as Cargo's.

    It lies under /tmp/bazel-runfiles/<package>/<test>, which bazel/runfiles_link.sh (run
    under every test) links to the test's runfiles, so `env!("CARGO_BIN_EXE_<name>")` works
    from any working directory.
    """
    prefix = "/tmp/bazel-runfiles/%s/%s/_main/" % (native.package_name(), test_name)
    env = {"CARGO_BIN_EXE_" + name: prefix + "$(rootpath %s)" % label for name, label in bins.items()}

    # Cargo's target/tmp for integration tests; here the test's $TEST_TMPDIR, linked likewise.
    env["CARGO_TARGET_TMPDIR"] = "/tmp/bazel-target-tmp/%s/%s" % (native.package_name(), test_name)
    return env

def _crate_name(name):
    return name.replace("-", "_")

def _integration_test_roots():
    """Cargo's auto-discovered integration tests: tests/<name>.rs and tests/<name>/main.rs."""
    roots = {}
    for src in native.glob(["tests/*.rs"], allow_empty = True):
        roots[src[len("tests/"):-len(".rs")]] = src
    for src in native.glob(["tests/*/main.rs"], allow_empty = True):
        roots[src.split("/")[1]] = src
    return roots

def _bin_roots(bins, package):
    """Binaries as Cargo sees them: `bins` ([[bin]] entries) plus the auto-discovered
    src/main.rs (named after the package), src/bin/<name>.rs and src/bin/<name>/main.rs."""
    roots = dict(bins)
    found = {}
    for src in native.glob(["src/main.rs"], allow_empty = True):
        found[package] = src
    for src in native.glob(["src/bin/*.rs"], allow_empty = True):
        found[src[len("src/bin/"):-len(".rs")]] = src
    for src in native.glob(["src/bin/*/main.rs"], allow_empty = True):
        found[src.split("/")[2]] = src
    for bin_name, src in found.items():
        if bin_name not in roots and src not in roots.values():
            roots[bin_name] = src
    return roots

def cargo_package(
        name,
        deps = [],
        bins = {},
        lib_rustc_env = {},
        lib_rustc_env_files = [],
        test_bins = {},
        test_data = [],
        test_env = {},
        test_args = {},
        test_tags = {},
        no_harness = [],
        visibility = ["//visibility:public"]):
    """Declares the library, binaries, unit tests and integration tests of one Cargo package.

    Targets (in the calling package):
      * `lib`: the library, if `src/lib.rs` exists (crate name = the package name);
      * one `rust_binary` per binary Cargo would build: `bins`, plus src/main.rs (named after
        the package), src/bin/<name>.rs and src/bin/<name>/main.rs;
      * `<target>_unit_test`: the `#[cfg(test)]` tests of the library and of each binary;
      * `<name>_test`: one `rust_test` per integration test `tests/<name>.rs` or
        `tests/<name>/main.rs` (every other file under `tests/` is available to it as a module),
        with the package's binaries and `test_bins` in its runfiles, `CARGO_BIN_EXE_<bin>` set
        for each at compile time (an absolute path, like Cargo) and at run time (an rlocation
        path), and `CARGO_MANIFEST_DIR` (set by rules_rust at run time) pointing at the package
        relative to the working directory.

    Args:
        name: the Cargo package name.
        deps: the workspace's own crates it depends on (e.g. `//uapi:lib`); crate_universe
            provides only the third-party ones.
        bins: `[[bin]]` targets of Cargo.toml whose name or path Cargo would not discover,
            name -> path of the crate root.
        lib_rustc_env: extra compile-time environment of the library (and its unit tests).
        lib_rustc_env_files: files of KEY=VALUE lines added to the library's environment.
        test_bins: more binaries for the integration tests, name -> label.
        test_data: more run-time files for the integration tests.
        test_env: more run-time environment for the integration tests.
        test_args: integration test name -> arguments for it (e.g. `--skip NAME`).
        test_tags: integration test name -> tags for it (e.g. `no-sandbox`).
        no_harness: integration tests declared with `harness = false` in Cargo.toml.
        visibility: of the library and binaries.
    """
    srcs = native.glob(["src/**/*.rs"])

    # Non-Rust files under src/ (include_str!), and the manifests: proc-macros such as rstest
    # read $CARGO_MANIFEST_DIR/Cargo.toml and the workspace's to find their crates.
    manifests = ["Cargo.toml", "//:Cargo.toml"]
    compile_data = native.glob(["src/**"], exclude = ["src/**/*.rs"], allow_empty = True) + manifests
    common = dict(
        edition = EDITION,
        version = VERSION,
        compile_data = compile_data,
        proc_macro_deps = all_crate_deps(proc_macro = True),
    )
    pkg_env = {"CARGO_PKG_NAME": name}
    all_bins = _bin_roots(bins, name)

    lib_deps = []
    if native.glob(["src/lib.rs"], allow_empty = True):
        rust_library(
            name = "lib",
            crate_name = _crate_name(name),
            crate_root = "src/lib.rs",
            srcs = srcs,
            rustc_env = pkg_env | lib_rustc_env,
            rustc_env_files = lib_rustc_env_files,
            deps = deps + all_crate_deps(normal = True),
            visibility = visibility,
            **common
        )
        rust_test(
            name = "lib_unit_test",
            crate = ":lib",
            deps = all_crate_deps(normal_dev = True),
            proc_macro_deps = all_crate_deps(proc_macro_dev = True),
        )
        lib_deps = [":lib"]

    for bin_name, root in all_bins.items():
        rust_binary(
            name = bin_name,
            crate_name = _crate_name(bin_name),
            crate_root = root,
            srcs = srcs,
            rustc_env = pkg_env | {"CARGO_BIN_NAME": bin_name},
            deps = lib_deps + deps + all_crate_deps(normal = True),
            visibility = visibility,
            **common
        )
        rust_test(
            name = bin_name + "_unit_test",
            crate = ":" + bin_name,
            deps = all_crate_deps(normal_dev = True),
            proc_macro_deps = all_crate_deps(proc_macro_dev = True),
        )

    run_bins = {b: ":" + b for b in all_bins} | test_bins
    test_srcs = native.glob(["tests/**/*.rs"], allow_empty = True)
    for test_name, root in _integration_test_roots().items():
        target = test_name + "_test"
        rust_test(
            name = target,
            crate_name = _crate_name(test_name),
            crate_root = root,
            srcs = test_srcs,
            compile_data = native.glob(["tests/**"], exclude = ["tests/**/*.rs"], allow_empty = True) + manifests,
            edition = EDITION,
            version = VERSION,
            rustc_env = pkg_env | _compile_time_bin_env(target, run_bins),
            data = run_bins.values() + test_data,
            env = cargo_bin_env(run_bins) | test_env,
            args = test_args.get(test_name, []),
            tags = test_tags.get(test_name, []),
            use_libtest_harness = test_name not in no_harness,
            deps = lib_deps + deps + all_crate_deps(normal = True, normal_dev = True),
            proc_macro_deps = all_crate_deps(proc_macro = True, proc_macro_dev = True),
        )
