//! CIDR ranges (`10.0.0.0/8`, `2001:db8::/32`), the content of Graph's
//! `iPv4CidrRange` / `iPv6CidrRange`. Small enough not to need a dependency.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// One CIDR range. Host bits must be zero (`10.0.0.1/8` is refused, so a range
/// always means what it says).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpCidr {
    addr: IpAddr,
    prefix: u8,
}

impl IpCidr {
    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether this is an IPv6 range.
    pub fn is_ipv6(&self) -> bool {
        self.addr.is_ipv6()
    }

    /// Whether `ip` lies in the range. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`,
    /// what a dual-stack socket reports for an IPv4 client) match IPv4 ranges.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = mask32(self.prefix);
                u32::from(ip) & mask == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = mask128(self.prefix);
                u128::from(ip) & mask == u128::from(net)
            }
            _ => false,
        }
    }

    /// The network and mask as integers, for the evaluator's tight loop.
    pub(crate) fn v4(&self) -> Option<(u32, u32)> {
        match self.addr {
            IpAddr::V4(a) => Some((u32::from(a), mask32(self.prefix))),
            IpAddr::V6(_) => None,
        }
    }

    /// The network and mask as integers, for the evaluator's tight loop.
    pub(crate) fn v6(&self) -> Option<(u128, u128)> {
        match self.addr {
            IpAddr::V6(a) => Some((u128::from(a), mask128(self.prefix))),
            IpAddr::V4(_) => None,
        }
    }
}

/// `ip` with an IPv4-mapped IPv6 address turned into the IPv4 address.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

fn mask32(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    }
}

fn mask128(prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(prefix))
    }
}

impl fmt::Display for IpCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for IpCidr {
    type Err = String;

    /// Parses `address/prefix`; the message of the error says what is wrong.
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, p) = s.split_once('/').ok_or_else(|| {
            format!("`{s}` is not a CIDR range: write address/prefix, e.g. 203.0.113.0/24")
        })?;
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("`{a}` in `{s}` is not an IPv4 or IPv6 address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix: u8 = p
            .parse()
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| format!("`/{p}` in `{s}` is not a prefix length from 0 to {max}"))?;
        let network = match addr {
            IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask32(prefix))),
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask128(prefix))),
        };
        if network != addr {
            return Err(format!(
                "`{s}` has host bits set; the range it names is {network}/{prefix}, write that"
            ));
        }
        Ok(Self { addr, prefix })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> IpCidr {
        s.parse().expect("valid CIDR")
    }
    fn ip(s: &str) -> IpAddr {
        s.parse().expect("valid IP")
    }

    #[test]
    fn v4_and_v6_membership() {
        assert!(c("10.0.0.0/8").contains(ip("10.255.1.2")));
        assert!(!c("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(c("0.0.0.0/0").contains(ip("198.51.100.7")));
        assert!(c("203.0.113.7/32").contains(ip("203.0.113.7")));
        assert!(!c("203.0.113.7/32").contains(ip("203.0.113.8")));
        assert!(c("2001:db8:1::/48").contains(ip("2001:db8:1:ffff::1")));
        assert!(!c("2001:db8:1::/48").contains(ip("2001:db8:2::1")));
        assert!(!c("2001:db8:1::/48").contains(ip("10.0.0.1")));
        assert!(!c("10.0.0.0/8").contains(ip("2001:db8::1")));
        assert!(c("::/0").contains(ip("2001:db8::1")));
    }

    #[test]
    fn ipv4_mapped_addresses_match_ipv4_ranges() {
        assert!(c("192.168.0.0/16").contains(ip("::ffff:192.168.4.5")));
        assert!(!c("::ffff:0:0/96").contains(ip("::ffff:192.168.4.5")));
    }

    #[test]
    fn refuses_bad_ranges_with_reasons() {
        for (s, want) in [
            ("10.0.0.0", "address/prefix"),
            ("10.0.0/8", "not an IPv4"),
            ("10.0.0.0/33", "0 to 32"),
            ("2001:db8::/129", "0 to 128"),
            ("10.0.0.1/8", "10.0.0.0/8"),
            ("2001:db8::1/32", "2001:db8::/32"),
        ] {
            let e = s.parse::<IpCidr>().err().unwrap_or_default();
            assert!(e.contains(want), "{s}: {e}");
        }
        assert_eq!(c("2001:db8:1::/48").to_string(), "2001:db8:1::/48");
    }
}
