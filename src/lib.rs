//! moodring: infers how a person feels from what they do.

pub mod engine;
