//! `--help` and `--version` texts. The option column matches upstream's layout so that
//! launchers can detect features with `bwrap --help | grep -- '--argv0 '`; the lines come
//! from the option table.

use super::table::OPTIONS;

/// Upstream release whose command-line contract this implementation follows.
pub(crate) const UPSTREAM_VERSION: &str = "0.12.0";

/// The usage text; `argv0` is printed exactly as the program was invoked.
pub(crate) fn usage(argv0: &str) -> String {
    let mut text = format!("usage: {argv0} [OPTIONS...] [--] COMMAND [ARGS...]\n\n");
    for spec in OPTIONS {
        let synopsis = std::iter::once(spec.name)
            .chain(spec.values.iter().copied())
            .collect::<Vec<_>>()
            .join(" ");
        for (i, line) in spec.help.iter().enumerate() {
            let synopsis = if i == 0 { synopsis.as_str() } else { "" };
            text.push_str(&format!("    {synopsis:<29}{line}\n"));
        }
    }
    text
}

/// The `--version` line: upstream's format, then which implementation answers.
pub(crate) fn version() -> String {
    format!(
        "bubblewrap {UPSTREAM_VERSION} (bwrap-rs {}, a Rust implementation)\n",
        env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_upstream_layout_byte_for_byte() {
        assert_eq!(usage("bwrap"), include_str!("usage.golden"));
    }

    #[test]
    fn usage_lists_every_option_once_with_column_layout() {
        let text = usage("/x/bwrap");
        assert!(text.starts_with("usage: /x/bwrap [OPTIONS...] [--] COMMAND [ARGS...]\n\n"));
        let lines: Vec<_> = text.lines().filter(|l| l.starts_with("    --")).collect();
        assert_eq!(lines.len(), 68);
        assert!(
            lines
                .iter()
                .all(|l| l.as_bytes()[33] != b' ' || l.len() == 33)
        );
    }
}
