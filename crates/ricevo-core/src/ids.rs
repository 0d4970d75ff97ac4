//! Typed identifiers, so an office id can never be passed where a service id is expected.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A town (ente) served by this instance.
    TenantId
);
id_type!(
    /// An office of a town, such as the registry office.
    OfficeId
);
id_type!(
    /// A service (pratica) an office offers.
    ServiceId
);
id_type!(
    /// A booked appointment.
    AppointmentId
);
id_type!(
    /// A staff account.
    UserId
);
id_type!(
    /// One person's place in a waiting room and, once admitted, in a meeting: a citizen with an
    /// appointment, a walk-in ticket, an invitee or the official.
    EntryId
);
id_type!(
    /// A video meeting between an office and the people it admitted or invited.
    MeetingId
);
id_type!(
    /// A document shared in a meeting.
    DocumentId
);
