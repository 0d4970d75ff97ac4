//! The integration tests of `ricevo-web`, in one binary: each file was a binary of its own, and
//! every binary links the whole workspace again (one link instead of many keeps the test
//! build short). Run one file's tests with `cargo test -p ricevo-web --test web <file>::`.
// Tests may unwrap, expect and print what they saw.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr, clippy::print_stdout)]

mod accounts;
mod api;
mod architecture;
mod campaigns;
mod edge;
mod feedback;
mod login;
mod nodes;
mod openapi;
mod pages;
mod privacy;
mod reports;
mod room;
mod staff;
mod support;
mod surveys;
mod telegram;
mod waitlist;
mod web_push;
// ---- staffoidc ----
mod staff_oidc;
// ---- end staffoidc ----
// ---- citizen ----
mod signed_in;
// ---- end citizen ----
// ---- room ----
mod council_room;
// ---- end room ----
// ---- public ----
mod council_public;
// ---- end public ----
