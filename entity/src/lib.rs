//! sea-orm entities of moodring: the tables as the store reads and writes them. Never
//! serialised to clients; the API has its own types.

pub mod api_key;
pub mod event;
pub mod feedback;
pub mod intervention_count;
pub mod intervention_settings;
pub mod mood_rollup;
pub mod outbox;
pub mod publishable_key;
pub mod quota_usage;
pub mod session;
pub mod session_slot;
pub mod signing_key;
pub mod slot_delta;
pub mod slot_rollup;
pub mod tenant;
pub mod user;
pub mod user_history;
pub mod webhook;
pub mod webhook_attempt;
pub mod webhook_delivery;
