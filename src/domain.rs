//! Values that have been checked at the edge: once one of these exists, it is valid.

use crate::engine;
use chrono::{DateTime, Datelike, TimeZone, Utc};
use std::fmt;
use std::str::FromStr;

/// A tenant's id. Only authentication and tenant creation produce one, so holding a
/// [`Tenant`] means the caller proved it owns that tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TenantId(pub(crate) i64);

impl TenantId {
    pub fn get(self) -> i64 {
        self.0
    }
}

/// An authenticated tenant: every store function that touches tenant data takes one.
#[derive(Clone, Debug, PartialEq)]
pub struct Tenant {
    pub id: TenantId,
    pub plan: Plan,
}

/// A subscription plan and its monthly allowance of new sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    Starter,
    Growth,
    Pro,
}

impl Plan {
    pub const NAMES: [&'static str; 3] = ["starter", "growth", "pro"];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Starter => "starter",
            Self::Growth => "growth",
            Self::Pro => "pro",
        }
    }

    /// New sessions per calendar month (UTC).
    pub const fn monthly_sessions(self) -> i64 {
        match self {
            Self::Starter => 5_000,
            Self::Growth => 50_000,
            Self::Pro => 200_000,
        }
    }

    /// "5,000 sessions/month"
    pub fn limits_text(self) -> String {
        let n = self.monthly_sessions().to_string();
        let mut grouped = String::new();
        for (i, c) in n.chars().enumerate() {
            if i > 0 && (n.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        format!("{grouped} sessions/month")
    }
}

impl FromStr for Plan {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "starter" => Ok(Self::Starter),
            "growth" => Ok(Self::Growth),
            "pro" => Ok(Self::Pro),
            _ => Err(()),
        }
    }
}

/// Why a string is not a client id ([`SessionId`], [`UserId`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidId {
    Empty,
    TooLong,
    ControlCharacter,
}

impl InvalidId {
    pub fn reason(self) -> &'static str {
        match self {
            Self::Empty => "must not be empty",
            Self::TooLong => "must be at most 256 characters",
            Self::ControlCharacter => "must not contain control characters",
        }
    }
}

/// Client ids are opaque: 1–256 characters, no control characters.
fn check_id(raw: &str) -> Result<String, InvalidId> {
    match raw.chars().count() {
        0 => Err(InvalidId::Empty),
        n if n > 256 => Err(InvalidId::TooLong),
        _ if raw.chars().any(char::is_control) => Err(InvalidId::ControlCharacter),
        _ => Ok(raw.to_owned()),
    }
}

macro_rules! client_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, InvalidId> {
                check_id(raw).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

client_id!(
    /// A client's session id.
    SessionId
);
client_id!(
    /// A client's id for a person across sessions. Opaque: never an e-mail address or a name.
    UserId
);

/// One validated event of a batch, with what is stored beside the engine's view of it.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    pub event: engine::Event,
    /// The client's idempotency id.
    pub event_id: Option<String>,
    pub url: Option<String>,
    pub message: Option<String>,
}

/// The calendar month (UTC) a quota counts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QuotaMonth {
    year: i32,
    month: u32,
}

impl QuotaMonth {
    pub fn containing(t: DateTime<Utc>) -> Self {
        Self { year: t.year(), month: t.month() }
    }

    /// `YYYY-MM`, the counter's key.
    pub fn key(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }

    /// The first instant of the next month, when the allowance resets.
    pub fn reset_at(self) -> DateTime<Utc> {
        let (y, m) = if self.month == 12 { (self.year + 1, 1) } else { (self.year, self.month + 1) };
        Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).single().expect("the first of a month exists")
    }
}

/// ISO 8601 in UTC with milliseconds, as the contract writes it: `2026-05-04T10:00:00.000Z`.
pub fn iso8601(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Confidences and strengths are reported to 4 decimals.
pub fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_print_their_limits() {
        assert_eq!(Plan::Starter.limits_text(), "5,000 sessions/month");
        assert_eq!(Plan::Growth.limits_text(), "50,000 sessions/month");
        assert_eq!(Plan::Pro.limits_text(), "200,000 sessions/month");
    }

    #[test]
    fn session_ids_are_checked_in_characters() {
        assert!(SessionId::parse(&"é".repeat(256)).is_ok());
        assert_eq!(SessionId::parse(&"a".repeat(257)), Err(InvalidId::TooLong));
        assert_eq!(UserId::parse(""), Err(InvalidId::Empty));
        assert_eq!(SessionId::parse("a\nb"), Err(InvalidId::ControlCharacter));
        assert!(SessionId::parse("user abc/1 ünïcødé 🙂").is_ok());
    }

    #[test]
    fn quotas_reset_on_the_first_of_next_month() {
        let december = QuotaMonth::containing(Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 59).unwrap());
        assert_eq!(december.key(), "2026-12");
        assert_eq!(december.reset_at(), Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap());
    }
}
