//! The integration tests of `ricevo-store`, in one binary: each file was a binary of its own, and
//! every binary links the whole workspace again (one link instead of many keeps the test
//! build short). Run one file's tests with `cargo test -p ricevo-store --test store <file>::`.
// Tests may unwrap, expect and print what they saw.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr, clippy::print_stdout)]

mod audit;
mod behaviour;
mod campaigns;
mod feedback;
mod privacy;
mod reports;
mod surveys;
// ---- staffoidc ----
mod staff_sign_in;
// ---- end staffoidc ----
// ---- council ----
mod council;
// ---- end council ----
