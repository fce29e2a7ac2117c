"""Module extension exposing the crate repositories that crates_vendor generated (remote mode)."""

load("//third_party/crates:crates.bzl", "crate_repositories")

def _crates_impl(module_ctx):
    direct_deps = crate_repositories()

    # Dev-dependencies too: MODULE.bazel imports every direct dependency in one use_repo
    # (refreshed by ci/bazel-vendor), which is not a dev_dependency usage.
    return module_ctx.extension_metadata(
        root_module_direct_deps = [d.repo for d in direct_deps],
        root_module_direct_dev_deps = [],
    )

crates = module_extension(implementation = _crates_impl)
