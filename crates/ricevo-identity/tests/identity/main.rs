//! The relying party against a real (loopback, really signed) federation.
// Entity ids are passed as `&[id.clone()]` lists, the way authority hints read.
// Test JSON is built inline and handed over by value.
#![allow(clippy::cloned_ref_to_slice_refs, clippy::needless_pass_by_value)]

mod chain;
mod entity;
mod sign_in;
mod support;
