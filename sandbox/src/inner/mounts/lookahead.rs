//! Opening the targets on a second thread, ahead of the mounts.
//!
//! One mask is five system calls: opening its target (`openat` under the held directory),
//! `fstat` to check it, `open_tree` to clone the mask and `move_mount` to attach it, then
//! closing both descriptors. With many operations a second thread opens and checks the
//! targets (and closes the descriptors of the mounts done) while this one mounts, in the
//! list's order. Opening is the cheaper half, so when the opener is [`AHEAD`] operations or
//! more ahead it also makes the mask's clone: the work evens out whichever thread the
//! scheduler favours. A clone carries nothing of its target; it is attached, like every
//! mount, by this thread only and only on the target checked for it.
//!
//! The order still holds where it changes what a target is: a mount on a directory (a
//! directory mask, a read-only carve-out) covers the paths below it, so the target after
//! such an operation is opened only once it is mounted, and the held directory is let go
//! when the mount covers it, exactly as one thread does. A file mask covers nothing (no path
//! lies below a file; one planned below it fails to open), so the opener runs ahead of those,
//! at most [`window`] operations. Every target is still opened without following a symlink
//! and checked against its planned identity before it is mounted on; any failure on either
//! thread stops both, and the run, before the command exists.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::mpsc::{Receiver, Sender, channel};

use nix::sys::resource::{Resource, getrlimit};

use super::{Mounter, MountsError, Parent};
use crate::plan::mounts::{Action, MountOp};

/// Below this many operations one thread is as fast (a thread costs tens of microseconds).
const MIN_OPS: usize = 64;

/// Targets handed over at a time.
const BATCH: usize = 16;

/// How far ahead of the mounts the opener must be to make a mask's clone as well.
const AHEAD: usize = 2 * BATCH;

/// The most operations the opener runs ahead of the mounts.
const MAX_WINDOW: usize = 256;

/// Descriptors left to the rest of the stage when the window is sized to the limit.
const SPARE_FDS: u64 = 64;

/// Descriptors reserved beyond those of the operations in flight (fewer than [`SPARE_FDS`],
/// so the reservation stays below the limit).
const RESERVE_MARGIN: usize = 32;

/// How far ahead the opener may run, or `None` to mount on one thread: few operations, one
/// CPU to run on, or too low a descriptor limit (every operation in flight holds two).
pub(super) fn window(ops: usize) -> Option<usize> {
    if ops < MIN_OPS {
        return None;
    }
    let cpus = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0))
        .map(|set| {
            (0..nix::sched::CpuSet::count())
                .filter(|&cpu| set.is_set(cpu).unwrap_or(false))
                .count()
        })
        .unwrap_or(1);
    let (soft, _) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    let spare = SPARE_FDS + 2 * BATCH as u64;
    let fit = usize::try_from(soft.saturating_sub(spare) / 2).unwrap_or(MAX_WINDOW);
    let window = fit.min(MAX_WINDOW);
    (cpus >= 2 && window >= 2 * BATCH).then_some(window)
}

/// Applies `ops` in order as [`super::apply`] does on one thread, with the targets opened
/// and checked ahead on a second one.
pub(super) fn apply(ops: &[MountOp], window: usize, mounter: &Mounter) -> Result<(), MountsError> {
    reserve_descriptors(2 * (window + BATCH) + RESERVE_MARGIN);
    let (hand_over, targets) = channel();
    let (report, done) = channel();
    std::thread::scope(|scope| {
        let opener = scope.spawn(move || open_ahead(ops, window, mounter, hand_over, done));
        let mounted = mount_in_order(ops, mounter, targets, report);
        let opened = opener
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        // The mounts' own failure first: the opener stops without one when they stop.
        let complete = mounted?;
        opened?;
        assert!(
            complete,
            "the opener stopped without handing over every target"
        );
        Ok(())
    })
}

/// Grows this process's descriptor table to hold `count` descriptors while it has one
/// thread: the kernel grows the table of a process with several threads only after an RCU
/// grace period (milliseconds) each time. Best effort: a table left small is only slower.
fn reserve_descriptors(count: usize) {
    let Ok(count) = i32::try_from(count) else {
        return;
    };
    let stderr = std::io::stderr();
    if let Ok(high) =
        nix::fcntl::fcntl(stderr.as_fd(), nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(count))
    {
        // SAFETY: fcntl just made this descriptor, which nothing else knows.
        drop(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(high) });
    }
}

/// A target opened and checked for its operation, with the mask's clone if the opener made it.
struct Target {
    fd: OwnedFd,
    mask: Option<OwnedFd>,
}

/// What the mounter has done: the operations before `mounted` are in place, and these
/// descriptors (targets and attached mounts) are for the opener to close.
struct Done {
    mounted: usize,
    close: Vec<OwnedFd>,
}

/// The opener: opens and checks each target in order and hands them over in batches,
/// waiting for the mounts before opening past a directory operation or `window` ahead, and
/// cloning file masks when [`AHEAD`] of the mounts. Returns without an error when the
/// mounter stopped (it reports why).
fn open_ahead(
    ops: &[MountOp],
    window: usize,
    mounter: &Mounter,
    hand_over: Sender<Vec<Target>>,
    done: Receiver<Done>,
) -> Result<(), MountsError> {
    let mut parent = Parent::default();
    let mut batch = Vec::with_capacity(BATCH);
    // Reported mounted, and what must be mounted before the next target is opened.
    let mut mounted = 0;
    let mut barrier = 0;
    for (i, op) in ops.iter().enumerate() {
        if mounted < barrier || i - mounted >= window {
            // Never wait holding targets the mounter waits for.
            if !batch.is_empty() && hand_over.send(std::mem::take(&mut batch)).is_err() {
                return Ok(());
            }
            while mounted < barrier || i - mounted >= window {
                match done.recv() {
                    Ok(d) => mounted = d.mounted,
                    Err(_) => return Ok(()),
                }
            }
        }
        while let Ok(d) = done.try_recv() {
            mounted = d.mounted;
        }
        let fd = parent.open_checked(op)?;
        parent.mounted_on(&op.path);
        let mask = match op.action == Action::MaskFile && i - mounted >= AHEAD {
            true => Some(mounter.mask(op)?),
            false => None,
        };
        batch.push(Target { fd, mask });
        if op.action != Action::MaskFile {
            barrier = i + 1;
        }
        if (batch.len() == BATCH || barrier == i + 1)
            && hand_over.send(std::mem::take(&mut batch)).is_err()
        {
            return Ok(());
        }
    }
    if !batch.is_empty() && hand_over.send(batch).is_err() {
        return Ok(());
    }
    drop(hand_over);
    // Close what the remaining mounts are done with as they finish.
    for d in done {
        drop(d.close);
    }
    Ok(())
}

/// The mounter: mounts each handed-over target in order, reporting after every batch.
/// Returns whether every operation was mounted (`false`: the opener stopped, and says why).
fn mount_in_order(
    ops: &[MountOp],
    mounter: &Mounter,
    targets: Receiver<Vec<Target>>,
    report: Sender<Done>,
) -> Result<bool, MountsError> {
    let mut next = 0;
    for batch in targets {
        let mut close = Vec::with_capacity(2 * batch.len());
        for target in batch {
            let op = ops
                .get(next)
                .expect("the opener hands over one target per operation");
            let attached = mounter.mount(op, target.fd.as_fd(), target.mask)?;
            close.extend([target.fd, attached]);
            next += 1;
        }
        // The opener gone, dropping the report closes the descriptors here.
        let _ = report.send(Done {
            mounted: next,
            close,
        });
    }
    Ok(next == ops.len())
}
