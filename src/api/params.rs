//! Path and query parameters documented as precisely as a schema can say, but taken as sent,
//! so that a bad value reaches the handler and gets the endpoint's own documented error instead
//! of a generic parameter failure.

use super::wire::{EnumNames, MAX_UNIX_SECONDS, OpenEnum};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromParameter, ParseResult, Type};
use std::borrow::Cow;

/// Implements [`Type`] and [`ParseFromParameter`] for a parameter kept as its raw string, with
/// the schema `$schema` (a `MetaSchemaRef`) and the components `$register` adds.
macro_rules! raw_parameter {
    ($name:ident, $schema:expr, $register:expr) => {
        impl Type for $name {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> Cow<'static, str> {
                "string".into()
            }

            fn schema_ref() -> MetaSchemaRef {
                $schema
            }

            fn register(registry: &mut Registry) {
                let register: fn(&mut Registry) = $register;
                register(registry);
            }

            fn as_raw_value(&self) -> Option<&Self> {
                Some(self)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
                Box::new(self.as_raw_value().into_iter())
            }
        }

        impl ParseFromParameter for $name {
            fn parse_from_parameter(value: &str) -> ParseResult<Self> {
                Ok(Self(value.to_owned()))
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }
    };
}

/// The rule the spec states for client ids (session and user ids) besides their length: no
/// control characters. (`user_id` in the events body repeats it: attributes take literals.)
const CLIENT_ID_PATTERN: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$";

/// A session or user id in a path, documented with its rules (1–256 characters, no control
/// characters) but taken as sent, so that a bad one reaches the handler and gets the contract's
/// own error (`Invalid session id`) instead of a generic parameter failure.
pub struct ClientIdParam(String);

raw_parameter!(
    ClientIdParam,
    MetaSchemaRef::Inline(Box::new(MetaSchema {
        min_length: Some(1),
        max_length: Some(256),
        pattern: Some(CLIENT_ID_PATTERN.to_owned()),
        ..MetaSchema::new("string")
    })),
    |_| {}
);

/// An instant in a query: an RFC 3339 date-time or Unix seconds, documented as the `Instant`
/// schema (`oneOf` the two) and parsed by [`super::wire::parse_instant`].
pub struct InstantParam(String);

raw_parameter!(InstantParam, MetaSchemaRef::Reference("Instant".into()), |registry| {
    registry.create_schema::<InstantParam, _>("Instant".into(), |_| MetaSchema {
        description: Some(
            "An instant: an RFC 3339 date-time (`2026-05-04T10:00:00Z`, any offset) or Unix seconds \
             (`1777888800`, fractions allowed, up to the end of 9999).",
        ),
        one_of: vec![
            MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "date-time"))),
            MetaSchemaRef::Inline(Box::new(MetaSchema {
                minimum: Some(0.0),
                maximum: Some(MAX_UNIX_SECONDS),
                ..MetaSchema::new("number")
            })),
        ],
        ..MetaSchema::ANY
    });
});

/// The IANA time zone names the server knows (chrono-tz's database), documented as the
/// `TimeZone` enum.
#[derive(Debug)]
pub struct TimeZones;

impl EnumNames for TimeZones {
    const NAME: &'static str = "TimeZone";
    const DESCRIPTION: &'static str = "An IANA time zone name, e.g. `Europe/Paris` or `UTC`.";
    fn names() -> Vec<&'static str> {
        chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect()
    }
}

/// A time zone in a query.
pub type TimeZoneParam = OpenEnum<TimeZones>;
