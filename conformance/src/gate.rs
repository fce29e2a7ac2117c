//! Keeping trials of targets that would break each other apart.
//!
//! Codex creates empty mount points for `.git`, `.agents` and `.aws` in every writable root
//! while its command runs, the shared `/tmp` included, and removes them afterwards. Our
//! sandbox treats a mount target that disappears during its launch as a change it must not
//! paper over (it refuses the run), so a Codex trial and one of ours running at the same
//! time make ours fail for a reason that is not the case's. The gate lets any number of
//! trials of one group run together and holds the other group back until they are done.

use std::sync::{Condvar, Mutex};

/// Which trials may run together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// This project's targets, whatever their bwrap.
    Ours,
    /// Codex, whose mount points in shared directories come and go with its runs.
    Codex,
}

/// A lock held by any number of trials of one group at a time.
#[derive(Debug, Default)]
pub struct Gate {
    state: Mutex<Option<(Group, usize)>>,
    changed: Condvar,
}

/// Membership of a group; dropping it lets the other group in once the last one leaves.
pub struct Pass<'a> {
    gate: &'a Gate,
}

impl Gate {
    /// Waits until no trial of another group runs, then joins `group`.
    pub fn enter(&self, group: Group) -> Pass<'_> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            match *state {
                None => {
                    *state = Some((group, 1));
                    break;
                }
                Some((current, ref mut n)) if current == group => {
                    *n += 1;
                    break;
                }
                Some(_) => {
                    state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
                }
            }
        }
        Pass { gate: self }
    }
}

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        let mut state = self.gate.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, n)) = state.as_mut() {
            *n -= 1;
            if *n == 0 {
                *state = None;
                self.gate.changed.notify_all();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn groups_never_overlap_and_members_of_one_group_do() {
        let gate = Gate::default();
        let (ours, codex, overlap, together) = (
            AtomicUsize::new(0),
            AtomicUsize::new(0),
            AtomicUsize::new(0),
            AtomicUsize::new(0),
        );
        std::thread::scope(|s| {
            for i in 0..8 {
                let group = if i % 2 == 0 {
                    Group::Ours
                } else {
                    Group::Codex
                };
                let (gate, ours, codex, overlap, together) =
                    (&gate, &ours, &codex, &overlap, &together);
                s.spawn(move || {
                    for _ in 0..20 {
                        let _pass = gate.enter(group);
                        let (mine, other) = match group {
                            Group::Ours => (ours, codex),
                            Group::Codex => (codex, ours),
                        };
                        if mine.fetch_add(1, Ordering::SeqCst) > 0 {
                            together.fetch_add(1, Ordering::SeqCst);
                        }
                        if other.load(Ordering::SeqCst) > 0 {
                            overlap.fetch_add(1, Ordering::SeqCst);
                        }
                        std::thread::sleep(Duration::from_micros(200));
                        mine.fetch_sub(1, Ordering::SeqCst);
                    }
                });
            }
        });
        assert_eq!(overlap.load(Ordering::SeqCst), 0, "the groups overlapped");
        assert!(
            together.load(Ordering::SeqCst) > 0,
            "one group's trials never ran together"
        );
    }
}
