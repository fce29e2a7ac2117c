//! The shape of a classic BPF program as `--seccomp` and `--add-seccomp-fd` pass it.

/// Bytes in one classic BPF instruction (`struct sock_filter`).
pub(crate) const INSN_SIZE: usize = 8;

/// Whether `program` is a whole number of instructions (upstream refuses it otherwise).
pub(crate) fn is_whole(program: &[u8]) -> bool {
    program.len().is_multiple_of(INSN_SIZE)
}
