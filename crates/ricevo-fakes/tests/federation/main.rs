//! Sign-in through the local SPID/CIE federation (spid-cie-oidc, see
//! `ricevo_fakes::federation`): first the package's own relying party, proving the harness,
//! then Ricevo's.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod browser;
mod reference_rp;
mod ricevo_rp;
