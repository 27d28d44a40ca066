//! Who sent a request, as `aws:SourceIp`, `aws:SecureTransport` and CloudTrail's
//! `sourceIPAddress` see it.
//!
//! The peer's address, unless the peer is a proxy the operator trusts (`--trusted-proxies`):
//! then `X-Forwarded-For` says whom the proxy served. Each proxy appends the address it received
//! the request from, so the header is read from the right, past the trusted proxies; the first
//! address that is not trusted is the client. Entries left of it were written by the client
//! itself and are never believed, so a client cannot choose its own `aws:SourceIp`. Likewise a
//! trusted proxy's `X-Forwarded-Proto: https` says the client's connection was TLS.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;
use palisade_policy::Cidr;

/// The request's client: its address, and whether it reached us (or the first trusted proxy)
/// over TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    pub ip: IpAddr,
    pub secure_transport: bool,
}

/// The client of a request that arrived from `peer` with `headers`.
pub fn client(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[Cidr]) -> Client {
    let trusted = |address: IpAddr| {
        let address = address.to_canonical();
        trusted_proxies.iter().any(|cidr| cidr.contains(address))
    };
    if !trusted(peer) {
        return Client {
            ip: peer,
            secure_transport: false,
        };
    }
    Client {
        ip: forwarded_for(peer, headers, trusted),
        secure_transport: headers
            .get_all("x-forwarded-proto")
            .iter()
            .next_back()
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.rsplit(',').next())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https")),
    }
}

/// The rightmost untrusted address of `X-Forwarded-For` (several headers read as one list, in
/// order). Where an entry does not parse, the last trusted hop is the client: what lies beyond
/// it cannot be known.
fn forwarded_for(peer: IpAddr, headers: &HeaderMap, trusted: impl Fn(IpAddr) -> bool) -> IpAddr {
    let mut client = peer;
    for value in headers.get_all("x-forwarded-for").iter().rev() {
        let Ok(text) = value.to_str() else {
            return client;
        };
        for entry in text.rsplit(',') {
            let Some(address) = parse_address(entry.trim()) else {
                return client;
            };
            client = address;
            if !trusted(address) {
                return address;
            }
        }
    }
    client
}

/// An address as proxies write it: bare, or with a port (`192.0.2.1:443`, `[2001:db8::1]:443`).
fn parse_address(text: &str) -> Option<IpAddr> {
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
        .map(|address| address.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, http::HeaderValue::from_static(value));
        }
        map
    }

    fn proxies(list: &[&str]) -> Vec<Cidr> {
        list.iter().map(|text| Cidr::parse(text).unwrap()).collect()
    }

    const PROXY: &str = "10.0.0.5";

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let found = client(
            "198.51.100.7".parse().unwrap(),
            &headers(&[
                ("x-forwarded-for", "203.0.113.9"),
                ("x-forwarded-proto", "https"),
            ]),
            &proxies(&["10.0.0.0/8"]),
        );
        assert_eq!(found.ip, "198.51.100.7".parse::<IpAddr>().unwrap());
        assert!(!found.secure_transport);
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_entry_is_the_client() {
        // The client wrote a spoofed first entry; the two proxies appended what they saw.
        let forwarded = headers(&[("x-forwarded-for", "192.0.2.66, 203.0.113.9, 10.0.0.4")]);
        let found = client(
            PROXY.parse().unwrap(),
            &forwarded,
            &proxies(&["10.0.0.0/8"]),
        );
        assert_eq!(found.ip, "203.0.113.9".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn several_headers_read_as_one_list_and_ports_are_dropped() {
        let forwarded = headers(&[
            ("x-forwarded-for", "203.0.113.9:5123"),
            ("x-forwarded-for", "[2001:db8::7]:443, 10.0.0.4"),
        ]);
        let found = client(
            PROXY.parse().unwrap(),
            &forwarded,
            &proxies(&["10.0.0.0/8"]),
        );
        assert_eq!(found.ip, "2001:db8::7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn garbage_stops_at_the_last_trusted_hop() {
        let forwarded = headers(&[("x-forwarded-for", "203.0.113.9, not-an-address, 10.0.0.4")]);
        let found = client(
            PROXY.parse().unwrap(),
            &forwarded,
            &proxies(&["10.0.0.0/8"]),
        );
        assert_eq!(found.ip, "10.0.0.4".parse::<IpAddr>().unwrap());
        // No header at all: the proxy itself.
        let found = client(
            PROXY.parse().unwrap(),
            &HeaderMap::new(),
            &proxies(&["10.0.0.0/8"]),
        );
        assert_eq!(found.ip, PROXY.parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_trusted_proxy_says_whether_the_client_used_tls() {
        let trusted = proxies(&["10.0.0.0/8", "::1"]);
        let https = headers(&[("x-forwarded-proto", "https")]);
        assert!(client(PROXY.parse().unwrap(), &https, &trusted).secure_transport);
        assert!(client("::1".parse().unwrap(), &https, &trusted).secure_transport);
        let http = headers(&[("x-forwarded-proto", "http")]);
        assert!(!client(PROXY.parse().unwrap(), &http, &trusted).secure_transport);
    }

    #[test]
    fn ipv4_mapped_peers_match_ipv4_networks() {
        let forwarded = headers(&[("x-forwarded-for", "203.0.113.9")]);
        let found = client(
            "::ffff:10.0.0.5".parse().unwrap(),
            &forwarded,
            &proxies(&["10.0.0.0/8"]),
        );
        assert_eq!(found.ip, "203.0.113.9".parse::<IpAddr>().unwrap());
    }
}
