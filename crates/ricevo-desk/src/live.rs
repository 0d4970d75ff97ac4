//! The live side of a node: open pages, dashboards and media sessions that must hear about a
//! change at once. The desk tells it after each committed change; it never decides anything.

use ricevo_core::{EntryId, MeetingId};

/// Who is connected to this node, and how to tell them that something changed.
pub trait Live: Send + Sync + std::fmt::Debug {
    /// Whether the person's page is open on this node (the next in line with an open page is
    /// called first).
    fn is_connected(&self, entry: EntryId) -> bool;
    /// A place changed: its page refreshes.
    fn entry_changed(&self, entry: EntryId);
    /// An office's queue changed: its dashboards refresh.
    fn office_changed(&self, office: ricevo_core::OfficeId);
    /// The person may no longer take part in a meeting's media (cancelled, removed).
    fn left_media(&self, entry: EntryId);
    /// A meeting ended: its media close.
    fn meeting_ended(&self, meeting: MeetingId);
}

/// Nobody connected (the command line, the desk's own tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct Unattended;

impl Live for Unattended {
    fn is_connected(&self, _: EntryId) -> bool {
        false
    }
    fn entry_changed(&self, _: EntryId) {}
    fn office_changed(&self, _: ricevo_core::OfficeId) {}
    fn left_media(&self, _: EntryId) {}
    fn meeting_ended(&self, _: MeetingId) {}
}
