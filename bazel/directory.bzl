"""`files_directory`: copies files into one directory output (a tree artifact).

Runfiles are symlinks, one per file, and some code walks a directory without following them
(e.g. walkdir's `file_type().is_file()` is false for a symlink). In the runfiles, a tree
artifact is one link to a directory of real files, so such walks see the files.
"""

def _files_directory_impl(ctx):
    out = ctx.actions.declare_directory(ctx.attr.name)
    strip = ctx.label.package + "/" + ctx.attr.strip_prefix
    pairs = []
    for f in ctx.files.srcs:
        if not f.short_path.startswith(strip):
            fail("%s is not under %s" % (f.short_path, strip))
        pairs.append((f.path, f.short_path[len(strip):].lstrip("/")))
    cmds = ["set -e"]
    for src, rel in pairs:
        cmds.append('mkdir -p "$(dirname "{o}/{r}")" && cp -L "{s}" "{o}/{r}"'.format(o = out.path, r = rel, s = src))
    ctx.actions.run_shell(
        inputs = ctx.files.srcs,
        outputs = [out],
        command = "\n".join(cmds),
        mnemonic = "FilesDirectory",
        progress_message = "Copying %d files into %s" % (len(pairs), out.short_path),
    )
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles([out]))]

files_directory = rule(
    implementation = _files_directory_impl,
    doc = "Copies `srcs` into a directory named after the target, paths kept below `strip_prefix`.",
    attrs = {
        "srcs": attr.label_list(allow_files = True, mandatory = True),
        "strip_prefix": attr.string(doc = "Package-relative prefix removed from each path."),
    },
)
