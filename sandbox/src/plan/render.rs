//! Operations to bwrap options: the one place that knows bwrap's spelling of each [`Op`].

use std::ffi::OsString;

use super::op::{Namespace, Op};

/// The bwrap options for `ops`, in order.
pub fn render<'a>(ops: impl IntoIterator<Item = &'a Op>) -> Vec<OsString> {
    let mut out = Vec::new();
    for op in ops {
        push(&mut out, op);
    }
    out
}

/// Appends the options of one operation.
fn push(out: &mut Vec<OsString>, op: &Op) {
    let mut emit = |tokens: &[&std::ffi::OsStr]| out.extend(tokens.iter().map(|t| t.into()));
    match op {
        Op::AsPid1 => emit(&["--as-pid-1".as_ref()]),
        Op::NewSession => emit(&["--new-session".as_ref()]),
        Op::DieWithParent => emit(&["--die-with-parent".as_ref()]),
        Op::Bind { src, dest } => emit(&["--bind".as_ref(), src.as_ref(), dest.as_ref()]),
        Op::RoBind { src, dest } => emit(&["--ro-bind".as_ref(), src.as_ref(), dest.as_ref()]),
        Op::Dev { dest } => emit(&["--dev".as_ref(), dest.as_ref()]),
        Op::Proc { dest } => emit(&["--proc".as_ref(), dest.as_ref()]),
        Op::Tmpfs { dest, perms, size } => {
            if let Some(mode) = perms {
                emit(&["--perms".as_ref(), format!("{mode:03o}").as_ref()]);
            }
            if let Some(bytes) = size {
                emit(&["--size".as_ref(), bytes.to_string().as_ref()]);
            }
            emit(&["--tmpfs".as_ref(), dest.as_ref()]);
        }
        Op::Dir { dest } => emit(&["--dir".as_ref(), dest.as_ref()]),
        Op::Symlink { target, dest } => {
            emit(&["--symlink".as_ref(), target.as_ref(), dest.as_ref()]);
        }
        Op::RemountRo { dest } => emit(&["--remount-ro".as_ref(), dest.as_ref()]),
        Op::Unshare(ns) => emit(&[match ns {
            Namespace::User => "--unshare-user",
            Namespace::Pid => "--unshare-pid",
            Namespace::Ipc => "--unshare-ipc",
            Namespace::Net => "--unshare-net",
        }
        .as_ref()]),
        Op::Chdir(dir) => emit(&["--chdir".as_ref(), dir.as_ref()]),
        Op::Uid(uid) => emit(&["--uid".as_ref(), uid.to_string().as_ref()]),
        Op::Gid(gid) => emit(&["--gid".as_ref(), gid.to_string().as_ref()]),
        Op::CapDropAll => emit(&["--cap-drop".as_ref(), "ALL".as_ref()]),
        Op::CapAdd(cap) => emit(&["--cap-add".as_ref(), cap.as_ref()]),
        Op::SetEnv { name, value } => emit(&["--setenv".as_ref(), name, value]),
        Op::InfoFd(fd) => emit(&["--info-fd".as_ref(), fd.to_string().as_ref()]),
        Op::Argv0(name) => emit(&["--argv0".as_ref(), name.as_ref()]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(op: Op) -> Vec<String> {
        render([&op])
            .iter()
            .map(|t| t.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn tmpfs_modifiers_precede_it_and_modes_are_three_octal_digits_at_least() {
        let shm = Op::Tmpfs {
            dest: "/dev/shm".into(),
            perms: Some(0o1777),
            size: Some(4096),
        };
        assert_eq!(
            tokens(shm),
            ["--perms", "1777", "--size", "4096", "--tmpfs", "/dev/shm"]
        );
        let mask = Op::Tmpfs {
            dest: "/d".into(),
            perms: Some(0),
            size: None,
        };
        assert_eq!(tokens(mask), ["--perms", "000", "--tmpfs", "/d"]);
        let plain = Op::Tmpfs {
            dest: "/".into(),
            perms: None,
            size: None,
        };
        assert_eq!(tokens(plain), ["--tmpfs", "/"]);
    }

    #[test]
    fn operations_keep_their_order_and_arguments() {
        let ops = [
            Op::RoBind {
                src: "/EMPTY".into(),
                dest: "/ws/f".into(),
            },
            Op::Symlink {
                target: "usr/lib64".into(),
                dest: "/lib64".into(),
            },
            Op::Unshare(Namespace::Net),
            Op::Uid(0),
            Op::CapAdd("CAP_SYS_ADMIN"),
            Op::SetEnv {
                name: "A".into(),
                value: "b c".into(),
            },
        ];
        assert_eq!(
            render(&ops),
            [
                "--ro-bind",
                "/EMPTY",
                "/ws/f",
                "--symlink",
                "usr/lib64",
                "/lib64",
                "--unshare-net",
                "--uid",
                "0",
                "--cap-add",
                "CAP_SYS_ADMIN",
                "--setenv",
                "A",
                "b c"
            ]
            .map(OsString::from)
        );
    }
}
