//! Newtype ids of the ACD (DESIGN.md convention 3: handles, not pointers).
//! Agents and queues are named by config; interactions by the engine (one
//! per customer call); offers by the ACD itself.

use std::fmt;

macro_rules! id {
    ($(#[$doc:meta])* $name:ident($inner:ty), $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub $inner);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "-{}"), self.0)
            }
        }
    };
}

id!(
    /// An agent (AGENT-1), as configured.
    AgentId(u32),
    "agent"
);
id!(
    /// A queue, as configured.
    QueueId(u32),
    "queue"
);
id!(
    /// One customer contact (an interaction in the spec's words), named by the engine.
    InteractionId(u64),
    "interaction"
);
id!(
    /// One offer of one interaction to one agent (OFFER-1): one ringing phone leg.
    OfferId(u64),
    "offer"
);
