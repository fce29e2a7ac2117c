//! launcher (work in progress).
