#!/usr/bin/env python3
"""usage: bazel/vendor_stamp.py REPO_DIR

Prints the stamp that ties third_party/crates (crates_vendor's output) to the Cargo files it
was generated from; `ci/bazel-vendor` writes it to third_party/crates/VENDOR_STAMP and
`ci/bazel-vendor --check` compares. Two lines:

  inputs  <sha256>  Cargo.lock, third_party/BUILD.bazel, and what crates_vendor reads from each
                    manifest listed there: package name, [workspace] members/exclude and
                    dependencies, every dependency table (also under [target.*]), [features],
                    [patch] and [replace]. Other edits (a new [[test]], a description) don't
                    count, so they need no re-vendoring.
  outputs <sha256>  every generated file, so that hand edits are caught as well.

Needs only Python 3.11 or newer (tomllib), no cargo and no network.
"""

import hashlib
import json
import re
import sys
import tomllib
from pathlib import Path

VENDOR_DIR = Path("third_party/crates")
STAMP = "VENDOR_STAMP"
DEP_TABLES = ("dependencies", "dev-dependencies", "build-dependencies")


def manifests(repo: Path) -> list[Path]:
    """The Cargo.toml files listed in crates_vendor's `manifests` (labels //pkg:Cargo.toml)."""
    build = (repo / "third_party/BUILD.bazel").read_text()
    labels = re.findall(r'"//([^":]*):Cargo\.toml"', build)
    if not labels:
        sys.exit("error: no //...:Cargo.toml manifests in third_party/BUILD.bazel")
    return sorted(repo / pkg / "Cargo.toml" for pkg in labels)


def dependency_view(manifest: dict) -> dict:
    """The parts of a manifest that decide crates_vendor's output."""
    view = {
        "package": manifest.get("package", {}).get("name"),
        "features": manifest.get("features", {}),
        "patch": manifest.get("patch", {}),
        "replace": manifest.get("replace", {}),
    }
    for table in DEP_TABLES:
        view[table] = manifest.get(table, {})
    view["target"] = {
        cfg: {t: spec.get(t, {}) for t in DEP_TABLES}
        for cfg, spec in manifest.get("target", {}).items()
    }
    workspace = manifest.get("workspace", {})
    view["workspace"] = {
        k: workspace.get(k) for k in ("members", "exclude", "dependencies", "default-members")
    }
    return view


def digest(parts: list[tuple[str, bytes]]) -> str:
    h = hashlib.sha256()
    for name, data in parts:
        h.update(name.encode() + b"\0" + hashlib.sha256(data).hexdigest().encode() + b"\n")
    return h.hexdigest()


def inputs_digest(repo: Path) -> str:
    parts = [
        ("Cargo.lock", (repo / "Cargo.lock").read_bytes()),
        ("third_party/BUILD.bazel", (repo / "third_party/BUILD.bazel").read_bytes()),
    ]
    for path in manifests(repo):
        with path.open("rb") as f:
            view = dependency_view(tomllib.load(f))
        parts.append((str(path.relative_to(repo)), json.dumps(view, sort_keys=True).encode()))
    return digest(parts)


def outputs_digest(repo: Path) -> str:
    root = repo / VENDOR_DIR
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != STAMP)
    return digest([(str(p.relative_to(root)), p.read_bytes()) for p in files])


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__.splitlines()[0])
    repo = Path(sys.argv[1])
    print(f"inputs {inputs_digest(repo)}")
    print(f"outputs {outputs_digest(repo)}")


if __name__ == "__main__":
    main()
