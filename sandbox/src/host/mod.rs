//! host (work in progress).
