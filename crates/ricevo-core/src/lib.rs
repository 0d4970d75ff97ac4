//! The domain of Ricevo: towns, offices, opening hours, holidays, slots, booking rules and the
//! waiting room.
//!
//! Nothing here touches a clock, a socket or a database: callers pass `now` and the facts they
//! loaded, and get decisions back. That is where most of Ricevo's rules are tested.

pub mod appointment;
pub mod audit;
pub mod citizen;
pub mod day;
pub mod deserted;
pub mod fiscal_code;
pub mod holidays;
pub mod hours;
pub mod ids;
pub mod lang;
pub mod lobby;
pub mod mode;
pub mod nodes;
pub mod quota;
pub mod reason;
pub mod reference;
pub mod seats;
pub mod service;
pub mod slots;
pub mod text;
// ---- surveys ----
pub mod survey;
// ---- end surveys ----
// ---- feedback ----
pub mod feedback;
// ---- end feedback ----
// ---- campaigns ----
pub mod campaign;
// ---- end campaigns ----
// ---- reports ----
pub mod report;
// ---- end reports ----
// ---- channels ----
pub mod channel;
// ---- end channels ----
// ---- waitlist ----
pub mod waitlist;
// ---- end waitlist ----
// ---- telegram ----
pub mod chat_booking;
// ---- end telegram ----
// ---- council ----
pub mod council;
// ---- end council ----

pub use appointment::AppointmentStatus;
pub use fiscal_code::FiscalCode;
pub use hours::{Closure, OpeningHours, WeeklyRange};
pub use ids::{AppointmentId, DocumentId, EntryId, MeetingId, OfficeId, ServiceId, TenantId, UserId};
pub use lang::Lang;
pub use lobby::{Abilities, Entry, EntryKind, EntryStatus, TransitionError, WalkInDesk};
pub use mode::Mode;
pub use text::{Email, Slug};
