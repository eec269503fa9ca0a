//! The client's address, as the rest of the server sees it: the peer of the TCP
//! connection (`ConnectInfo`), unless that peer is a proxy named by
//! `--trust-forwarded-for`: then the address its `X-Forwarded-For` reports (the
//! rightmost entry that is not itself a trusted proxy; an attacker can prepend
//! anything to the header, but not append after the proxy). Conditional Access
//! locations, the sign-in log, rate limits and lockouts all use it. Rate limits and
//! lockouts key on [`rate_key`], which groups an IPv6 address by its /64 (one
//! subscriber's prefix), so that rotating through the addresses of one prefix gains
//! nothing.

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap};
use portvakt_policy::cidr::IpCidr;
use std::net::{IpAddr, SocketAddr};

/// The client address of a request, decided once by the correlation middleware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// The client address of the request whose extensions these are.
pub fn client_ip(ext: &Extensions) -> Option<IpAddr> {
    ext.get::<ClientIp>()
        .map(|c| c.0)
        .or_else(|| ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()))
}

/// The client address of a request from `peer` with `headers`, believing
/// `X-Forwarded-For` only from `trusted` proxies.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpCidr]) -> IpAddr {
    let peer = portvakt_policy::cidr::canonical(peer);
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if trusted.is_empty() || !is_trusted(peer) {
        return peer;
    }
    // Every X-Forwarded-For header, in order, as one list (RFC 7239 §7.1 semantics).
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else { break };
        client = portvakt_policy::cidr::canonical(ip);
        if !is_trusted(client) {
            break;
        }
    }
    client
}

/// One X-Forwarded-For entry: an address, perhaps with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:443`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    hop.rsplit_once(':')
        .and_then(|(h, p)| p.parse::<u16>().ok().and_then(|_| h.parse().ok()))
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
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted: Vec<IpCidr> = vec!["10.0.0.0/8".parse().expect("cidr")];
        let h = |v: &[&str]| {
            let mut m = HeaderMap::new();
            for x in v {
                m.append("x-forwarded-for", x.parse().expect("value"));
            }
            m
        };
        let proxy: IpAddr = "10.0.0.5".parse().expect("ip");
        let stranger: IpAddr = "192.0.2.9".parse().expect("ip");
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        // Not from a trusted proxy: the peer, whatever the header says.
        assert_eq!(resolve(stranger, &h(&["203.0.113.7"]), &trusted), stranger);
        // From the proxy: the rightmost untrusted hop (a forged leftmost one is ignored).
        assert_eq!(
            resolve(proxy, &h(&["6.6.6.6, 203.0.113.7"]), &trusted),
            ip("203.0.113.7")
        );
        assert_eq!(
            resolve(proxy, &h(&["203.0.113.7, 10.1.1.1"]), &trusted),
            ip("203.0.113.7")
        );
        assert_eq!(
            resolve(proxy, &h(&["6.6.6.6", "203.0.113.7:5000"]), &trusted),
            ip("203.0.113.7")
        );
        assert_eq!(
            resolve(proxy, &h(&["[2001:db8::7]:443"]), &trusted),
            ip("2001:db8::7")
        );
        // Garbage stops the walk at the last good hop; no header: the proxy itself.
        assert_eq!(
            resolve(proxy, &h(&["203.0.113.7, garbage"]), &trusted),
            proxy
        );
        assert_eq!(resolve(proxy, &HeaderMap::new(), &trusted), proxy);
        // Nothing trusted: never the header.
        assert_eq!(resolve(proxy, &h(&["203.0.113.7"]), &[]), proxy);
    }

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
