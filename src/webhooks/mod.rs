//! Webhooks: customers' servers told of mood changes. Messages come from the outbox
//! ([`crate::push`]) as deliveries, one per endpoint that wants them; [`delivery`] sends them
//! with the [`client`], signed the Standard Webhooks way ([`signature`]), to receivers whose
//! addresses the SSRF policy allows ([`address`]).

pub mod address;
pub mod client;
pub mod delivery;
pub mod signature;
