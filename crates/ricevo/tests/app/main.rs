//! The integration tests of `ricevo`, in one binary: each file was a binary of its own, and
//! every binary links the whole workspace again (one link instead of many keeps the test
//! build short). Run one file's tests with `cargo test -p ricevo --test app <file>::`.
// Tests may unwrap, expect and print what they saw.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr, clippy::print_stdout)]

mod accounts_cli;
mod audit;
mod backup;
mod browser;
mod campaign_crash;
mod citizen;
mod contract;
mod crash;
mod failover;
mod feedback;
mod meeting;
mod packaging;
mod reports_browser;
mod reports_cli;
mod shutdown;
mod spid_browser;
mod support;
mod surveys;
// ---- ident ----
mod identity_cli;
// ---- end ident ----
// ---- room ----
mod council;
// ---- end room ----
