//! Publishable keys (`pk_` + 48 hex digits, 192 random bits) and the origins they are bound to.
//! A publishable key is public — it sits in a web page — and can only start a browser session
//! for its tenant, from one of its origins.

use super::key::{is_prefixed_hex, random_prefixed_hex};
use std::fmt;

const PREFIX: &str = "pk_";
const HEX_DIGITS: usize = 48;

/// A well-formed publishable key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PublishableKey(String);

impl PublishableKey {
    /// Accepts exactly `pk_` + 48 lowercase hex digits.
    pub fn parse(raw: &str) -> Option<Self> {
        is_prefixed_hex(raw, PREFIX, HEX_DIGITS).then(|| Self(raw.to_owned()))
    }

    pub fn generate() -> Self {
        Self(random_prefixed_hex(PREFIX, HEX_DIGITS))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A web origin as browsers send it in `Origin`: `scheme://host[:port]`, scheme and host in
/// lower case, the scheme's default port left out. Only `http` and `https`; a host name or an
/// IPv4 address (not an IPv6 literal); no path, no wildcard (each origin is listed), no user
/// info.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin(String);

/// Origins a publishable key may list.
pub const MAX_ORIGINS: usize = 50;

impl Origin {
    /// The origin, normalised, or why it is not one.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        const SHAPE: &str = "must be scheme://host[:port] (http or https, no path, no wildcard)";
        let (scheme, rest) = raw.split_once("://").ok_or(SHAPE)?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => "80",
            "https" => "443",
            _ => return Err("must use http or https"),
        };
        if rest.contains('*') {
            return Err("must not contain a wildcard: list each origin");
        }
        if rest.is_empty() || rest.contains(['/', '?', '#', '@', '\\']) || rest.chars().any(|c| c.is_whitespace()) {
            return Err(SHAPE);
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        };
        let host = host.to_ascii_lowercase();
        let name = !host.is_empty()
            && host.len() <= 253
            && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            && !host.starts_with(['.', '-']);
        if !name {
            return Err("must have a host name in ASCII (punycode for other scripts) or an IPv4 address");
        }
        let port = match port {
            None => None,
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => (p != default_port).then_some(n),
                _ => return Err("must have a port between 1 and 65535"),
            },
        };
        Ok(Self(match port {
            Some(port) => format!("{scheme}://{host}:{port}"),
            None => format!("{scheme}://{host}"),
        }))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishable_keys_have_the_documented_shape() {
        let key = PublishableKey::generate();
        assert!(key.as_str().starts_with("pk_") && key.as_str().len() == 51);
        assert_eq!(PublishableKey::parse(key.as_str()), Some(key.clone()));
        assert_ne!(PublishableKey::generate(), key);
        for bad in ["", "pk_", "sm_0123", &format!("pk_{}", "A".repeat(48)), &format!("pk_{}", "a".repeat(47))] {
            assert_eq!(PublishableKey::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn origins_are_normalised_as_browsers_send_them() {
        let ok = |raw: &str| Origin::parse(raw).map(|o| o.0);
        assert_eq!(ok("https://shop.example"), Ok("https://shop.example".into()));
        assert_eq!(ok("HTTPS://Shop.Example:443"), Ok("https://shop.example".into()));
        assert_eq!(ok("http://localhost:8080"), Ok("http://localhost:8080".into()));
        assert_eq!(ok("http://127.0.0.1:80"), Ok("http://127.0.0.1".into()));
        assert_eq!(ok("https://xn--bcher-kva.example"), Ok("https://xn--bcher-kva.example".into()));
    }

    #[test]
    fn anything_else_is_refused_with_a_reason() {
        for bad in [
            "shop.example",
            "ftp://shop.example",
            "https://*.shop.example",
            "https://shop.example/",
            "https://shop.example/path",
            "https://user@shop.example",
            "https://shop.example:0",
            "https://shop.example:65536",
            "https://shop.example:+80",
            "https://",
            "https://bücher.example",
            "https://shop example",
            "http://[::1]:3000",
            "null",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad}");
        }
    }
}
