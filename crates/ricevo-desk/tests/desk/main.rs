//! The integration tests of `ricevo-desk`, in one binary: each file was a binary of its own, and
//! every binary links the whole workspace again (one link instead of many keeps the test
//! build short). Run one file's tests with `cargo test -p ricevo-desk --test desk <file>::`.
// Tests may unwrap, expect and print what they saw.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr, clippy::print_stdout)]

mod accounts;
mod booking;
mod campaigns;
mod channels;
mod feedback;
mod offices;
mod on_behalf;
mod privacy;
mod staff;
mod support;
mod surveys;
mod waiting_room;
mod waitlist;
// ---- citizen ----
mod signed_in;
// ---- end citizen ----
// ---- council ----
mod council;
// ---- end council ----
