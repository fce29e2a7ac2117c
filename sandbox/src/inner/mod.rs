//! inner (work in progress).
