//! Push: mood changes told to the people waiting for them, as they are committed. This module
//! is the messages and this replica's hub; it uses nothing below it.
//!
//! Ingest writes a [`Message`] to the outbox in the transaction that makes the change
//! ([`crate::store::outbox`]), so a message exists exactly when its change was committed and a
//! crash loses none. The relay of each replica ([`crate::server`]'s) then, in turn:
//! 1. **publishes** the committed messages: gives them their place in commit order and creates
//!    the webhook deliveries they call for (one replica at a time does this, for all);
//! 2. **reads** the messages placed since it last looked and hands them to its [`Hub`], from
//!    which this replica's streams (`GET /v1/stream`, `…/mood/stream`) take the ones they
//!    want. A stream that falls behind, or resumes with `Last-Event-ID`, reads the outbox.
//!
//! So a subscriber on one replica sees changes ingested through another: every replica reads
//! the same outbox. Webhook deliveries are sent by [`crate::webhooks::delivery`].

mod hub;
mod message;

pub use hub::{Hub, Subscription, Topic};
pub use message::{Change, Kind, Message};
