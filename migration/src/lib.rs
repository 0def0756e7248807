//! Schema migrations of moodring.
