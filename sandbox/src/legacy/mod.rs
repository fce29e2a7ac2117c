//! Legacy Landlock mode: no bwrap, no namespaces. The policy is enforced in-process with
//! `no_new_privs`, the network seccomp filter and Landlock, then the command is exec'd.
//!
//! Only policies that mean exactly the same under this model are accepted; see
//! [`landlock`] for what the kernel must offer.

pub mod landlock;
