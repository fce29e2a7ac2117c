//! `{name}` placeholders in case text: fixture paths, binaries and host resource ids.

use std::collections::BTreeMap;

/// Known placeholders and their values; text in braces that is not a known name is kept.
#[derive(Debug, Clone, Default)]
pub struct Placeholders {
    values: BTreeMap<String, String>,
}

impl Placeholders {
    /// Defines (or redefines) `{name}`.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.values.insert(name.into(), value.into());
    }

    /// The value of `{name}`, if defined.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Replaces every known `{name}` in `text`.
    pub fn expand(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let known = after
                .find('}')
                .and_then(|close| Some((close, self.values.get(&after[..close])?)));
            match known {
                Some((close, value)) => {
                    out.push_str(value);
                    rest = &after[close + 1..];
                }
                None => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// Expands every element.
    pub fn expand_all(&self, items: &[String]) -> Vec<String> {
        items.iter().map(|s| self.expand(s)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_names_are_replaced_and_others_kept() {
        let mut p = Placeholders::default();
        p.set("ws", "/tmp/x/ws");
        p.set("shm.a.id", "7");
        assert_eq!(
            p.expand("cat {ws}/f; awk '{print}' ${HOME} {shm.a.id}{"),
            "cat /tmp/x/ws/f; awk '{print}' ${HOME} 7{"
        );
    }
}
