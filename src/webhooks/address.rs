//! Which receivers a webhook may reach. A customer names a URL; a hostile one could name our
//! own network instead (the database, a cloud's metadata service, an admin port on loopback) and
//! read the answers through delivery attempts. So a receiver URL must be `https` with no
//! credentials in it, and every address its host resolves to must be public: not loopback,
//! private, shared (CGNAT), link-local, multicast, reserved or documentation space, nor an IPv6
//! form that embeds such an IPv4 address. The check runs when an endpoint is saved and again at
//! each delivery (a name may resolve elsewhere later), and delivery connects to the addresses
//! checked, not to a second lookup. `--webhook-allow-private` lifts the address rule and the
//! `https` rule, for tests and on-premises receivers, but never lets a delivery reach a cloud
//! metadata service.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use url::{Host, Url};

/// Longest receiver URL accepted.
pub const MAX_URL_CHARS: usize = 2048;

/// Why a receiver URL is refused: the sentence a 400 answer gives.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("must be an absolute URL of at most 2048 characters")]
    NotAUrl,
    #[error("must use https")]
    NotHttps,
    #[error("must not carry a user name or password")]
    Credentials,
    #[error("must not have a fragment")]
    Fragment,
    #[error("must name a host that resolves")]
    Unresolved,
    #[error("resolves to a loopback, private, link-local or otherwise non-public address")]
    NotPublic,
}

/// What the server allows beyond public `https` receivers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// Private, loopback and link-local addresses, and plain `http` (`--webhook-allow-private`).
    pub allow_private: bool,
}

impl Policy {
    /// Checks a receiver URL's form (not yet its addresses: see [`Policy::resolve`]).
    pub fn check_url(self, raw: &str) -> Result<Url, Refusal> {
        if raw.chars().count() > MAX_URL_CHARS {
            return Err(Refusal::NotAUrl);
        }
        let url = Url::parse(raw).map_err(|_| Refusal::NotAUrl)?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_private => {}
            _ => return Err(Refusal::NotHttps),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refusal::Credentials);
        }
        if url.fragment().is_some() {
            return Err(Refusal::Fragment);
        }
        match url.host() {
            None => Err(Refusal::NotAUrl),
            Some(Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip)).map(|()| url),
            Some(Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip)).map(|()| url),
            Some(Host::Domain(_)) => Ok(url),
        }
    }

    /// Whether a delivery may connect to `ip`.
    pub fn check_ip(self, ip: IpAddr) -> Result<(), Refusal> {
        let allowed = if self.allow_private { !is_metadata(ip) } else { is_public(ip) };
        if allowed { Ok(()) } else { Err(Refusal::NotPublic) }
    }

    /// Resolves a checked URL's host to the addresses a delivery connects to: all of them
    /// allowed, or a refusal (one bad address among good ones is a rebinding attempt).
    pub async fn resolve(self, url: &Url) -> Result<Vec<SocketAddr>, Refusal> {
        let port = url.port_or_known_default().ok_or(Refusal::NotAUrl)?;
        match url.host() {
            Some(Host::Ipv4(ip)) => self.allowed(vec![SocketAddr::new(IpAddr::V4(ip), port)]),
            Some(Host::Ipv6(ip)) => self.allowed(vec![SocketAddr::new(IpAddr::V6(ip), port)]),
            Some(Host::Domain(name)) => self.resolve_name(name, port).await,
            None => Err(Refusal::NotAUrl),
        }
    }

    /// Resolves a host name as [`Policy::resolve`] does (for the delivery client's resolver).
    pub async fn resolve_name(self, name: &str, port: u16) -> Result<Vec<SocketAddr>, Refusal> {
        let addresses = tokio::net::lookup_host((name, port)).await.map_err(|_| Refusal::Unresolved)?.collect();
        self.allowed(addresses)
    }

    /// The addresses, if there are some and each is allowed.
    fn allowed(self, addresses: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, Refusal> {
        if addresses.is_empty() {
            return Err(Refusal::Unresolved);
        }
        for address in &addresses {
            self.check_ip(address.ip())?;
        }
        Ok(addresses)
    }
}

/// Cloud metadata services (AWS, GCP, Azure, Oracle: 169.254.169.254; AWS over IPv6; Alibaba),
/// refused whatever the policy.
fn is_metadata(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => [Ipv4Addr::new(169, 254, 169, 254), Ipv4Addr::new(100, 100, 100, 200)].contains(&v4),
        IpAddr::V6(v6) => v6 == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254),
    }
}

/// An IPv6 address that carries an IPv4 one (mapped, NAT64, 6to4) as that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = ip else { return ip };
    let s = v6.segments();
    let embedded = |hi: u16, lo: u16| IpAddr::V4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
    match s {
        [0, 0, 0, 0, 0, 0xffff, hi, lo] => embedded(hi, lo),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => embedded(hi, lo),
        [0x2002, hi, lo, ..] => embedded(hi, lo),
        _ => ip,
    }
}

/// Whether `ip` is an address on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(a == 0                                   // "this network"
                || a == 10                             // private
                || a == 127                            // loopback
                || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
                || (a == 169 && b == 254)              // link-local, metadata
                || (a == 172 && (16..32).contains(&b)) // private
                || (a == 192 && b == 0 && c == 0)      // IETF protocol assignments
                || (a == 192 && b == 0 && c == 2)      // documentation
                || (a == 192 && b == 168)              // private
                || (a == 198 && (18..20).contains(&b)) // benchmarking
                || (a == 198 && b == 51 && c == 100)   // documentation
                || (a == 203 && b == 0 && c == 113)    // documentation
                || a >= 224) // multicast, reserved, broadcast
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            !(v6.is_unspecified()
                || v6.is_loopback()
                || (s[0] & 0xfe00) == 0xfc00           // unique local
                || (s[0] & 0xffc0) == 0xfe80           // link-local
                || (s[0] & 0xffc0) == 0xfec0           // site-local (deprecated)
                || (s[0] & 0xff00) == 0xff00           // multicast
                || (s[0] == 0x2001 && s[1] == 0xdb8)   // documentation
                || (s[0] == 0x2001 && s[1] == 0)       // Teredo: tunnels to anywhere
                || s[..6] == [0; 6]) // IPv4-compatible (deprecated)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const STRICT: Policy = Policy { allow_private: false };
    const LOOSE: Policy = Policy { allow_private: true };

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for refused in [
            "0.0.0.0",
            "10.1.2.3",
            "127.0.0.1",
            "100.64.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "2001:0:4136:e378::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:c0a8:0101::1",
            "::127.0.0.1",
        ] {
            assert!(!is_public(ip(refused)), "{refused} passed");
            assert_eq!(STRICT.check_ip(ip(refused)), Err(Refusal::NotPublic), "{refused}");
        }
        for public in
            ["1.1.1.1", "8.8.8.8", "100.63.255.255", "100.128.0.1", "172.32.0.1", "2606:4700::1111", "::ffff:8.8.8.8"]
        {
            assert!(is_public(ip(public)), "{public} refused");
        }
    }

    #[test]
    fn the_flag_allows_private_receivers_but_never_metadata() {
        assert_eq!(LOOSE.check_ip(ip("127.0.0.1")), Ok(()));
        assert_eq!(LOOSE.check_ip(ip("10.0.0.5")), Ok(()));
        for metadata in ["169.254.169.254", "::ffff:169.254.169.254", "fd00:ec2::254", "100.100.100.200"] {
            assert_eq!(LOOSE.check_ip(ip(metadata)), Err(Refusal::NotPublic), "{metadata}");
        }
    }

    #[test]
    fn urls_are_checked_for_form() {
        assert!(STRICT.check_url("https://hooks.example.com/moodring?x=1").is_ok());
        assert_eq!(STRICT.check_url("http://hooks.example.com/"), Err(Refusal::NotHttps));
        assert!(LOOSE.check_url("http://127.0.0.1:9000/hook").is_ok());
        assert_eq!(STRICT.check_url("ftp://example.com/"), Err(Refusal::NotHttps));
        assert_eq!(LOOSE.check_url("file:///etc/passwd"), Err(Refusal::NotHttps));
        assert_eq!(STRICT.check_url("https://user:pw@example.com/"), Err(Refusal::Credentials));
        assert_eq!(STRICT.check_url("https://example.com/#frag"), Err(Refusal::Fragment));
        assert_eq!(STRICT.check_url("https://127.0.0.1/"), Err(Refusal::NotPublic));
        assert_eq!(STRICT.check_url("https://[::ffff:a9fe:a9fe]/"), Err(Refusal::NotPublic));
        assert_eq!(STRICT.check_url("https://0x7f.1/"), Err(Refusal::NotPublic), "hex forms are IPv4 too");
        assert_eq!(STRICT.check_url("not a url"), Err(Refusal::NotAUrl));
        assert_eq!(STRICT.check_url(&format!("https://example.com/{}", "a".repeat(2100))), Err(Refusal::NotAUrl));
    }

    #[tokio::test]
    async fn names_are_checked_by_what_they_resolve_to() {
        assert_eq!(STRICT.resolve(&Url::parse("https://localhost:8443/").unwrap()).await, Err(Refusal::NotPublic));
        let loopback = LOOSE.resolve(&Url::parse("http://localhost:8080/").unwrap()).await.unwrap();
        assert!(loopback.iter().all(|a| a.ip().is_loopback() && a.port() == 8080), "{loopback:?}");
    }

    proptest! {
        /// An IPv4 address and its IPv4-mapped IPv6 form are judged alike.
        #[test]
        fn mapped_addresses_are_judged_as_ipv4(bits: u32) {
            let v4 = Ipv4Addr::from(bits);
            prop_assert_eq!(is_public(IpAddr::V4(v4)), is_public(IpAddr::V6(v4.to_ipv6_mapped())));
        }
    }
}
