//! sea-orm entities of moodring.
