//! The client's address, as the rest of the server sees it: the peer of the TCP
//! connection (`ConnectInfo`). Rate limits and lockouts key on [`rate_key`], which
//! groups an IPv6 address by its /64 (one subscriber's prefix), so that rotating
//! through the addresses of one prefix gains nothing.

use axum::extract::ConnectInfo;
use axum::http::Extensions;
use std::net::{IpAddr, SocketAddr};

/// The peer address of the request whose extensions these are.
pub fn client_ip(ext: &Extensions) -> Option<IpAddr> {
    ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
}

/// The key rate limits use for `ip`: IPv4 as is, IPv6 by its /64 prefix (an
/// IPv4-mapped IPv6 address as its IPv4 address).
pub fn rate_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_is_grouped_by_its_64_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(rate_key(a), rate_key(b));
        assert_ne!(rate_key(a), rate_key(c));
        let m: IpAddr = "::ffff:192.0.2.7".parse().expect("ip");
        assert_eq!(rate_key(m), "192.0.2.7");
    }
}
