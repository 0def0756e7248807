//! Webhooks: customers' servers told of mood changes. So far the two pure parts delivery rests
//! on: signing a message the Standard Webhooks way ([`signature`]) and deciding which addresses
//! a receiver may have ([`address`]); the endpoints, the transactional outbox and the delivery
//! workers build on them (issue 29).

pub mod address;
pub mod signature;
