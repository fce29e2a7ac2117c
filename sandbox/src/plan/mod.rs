//! plan (work in progress).
