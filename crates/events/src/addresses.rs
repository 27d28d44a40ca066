//! Which addresses API destinations may call.
//!
//! AWS calls API destinations from outside the caller's network, so an endpoint can only reach
//! what is public. A server that calls them from inside a network must say so itself: unless
//! told otherwise ([`Reach::Any`], which local mode chooses), it calls only public addresses,
//! so that a principal allowed `events:CreateApiDestination` cannot make it reach the
//! machine's own services, its neighbours or a cloud metadata endpoint. Names are checked as
//! they resolve, address by address (a name that resolves to a public address today and a
//! private one tomorrow is checked each time), and literal addresses before the call.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::dns::{GaiResolver, Name};

/// The addresses API destinations may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Public addresses only.
    PublicOnly,
    /// Any address, loopback and private ones included (local development).
    Any,
}

impl Reach {
    /// Whether a call may go to `ip`.
    pub fn allows(self, ip: IpAddr) -> bool {
        self == Reach::Any || is_public(ip)
    }
}

/// Whether `ip` is an address on the public internet: not loopback, private, link-local
/// (which holds cloud metadata endpoints), shared (carrier-grade NAT), unspecified, broadcast,
/// multicast, reserved, or set aside for documentation, benchmarks or protocol assignments. An
/// IPv6 address that carries an IPv4 one (mapped, compatible, NAT64's well-known prefix, 6to4)
/// is judged by that IPv4 address, since that is where it leads; Teredo, local-use NAT64 and
/// site-local addresses are never public.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            let [_, _, c, d, e, f, _, _, _, _, _, _, w, x, y, z] = v6.octets();
            let embedded = match v6.segments() {
                // IPv4-mapped and IPv4-compatible (:: and ::1 included, which lead nowhere).
                [0, 0, 0, 0, 0, 0xffff | 0, _, _] => Some(Ipv4Addr::new(w, x, y, z)),
                // NAT64's well-known prefix.
                [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(Ipv4Addr::new(w, x, y, z)),
                // 6to4: the IPv4 address follows the prefix.
                [0x2002, ..] => Some(Ipv4Addr::new(c, d, e, f)),
                _ => None,
            };
            if let Some(v4) = embedded {
                return is_public_v4(v4);
            }
            let [first, second, third, ..] = v6.segments();
            let teredo = first == 0x2001 && second == 0;
            let local_nat64 = first == 0x64 && second == 0xff9b && third == 1;
            let site_local = first & 0xffc0 == 0xfec0;
            let documentation = first == 0x2001 && second == 0x0db8;
            !(teredo
                || local_nat64
                || site_local
                || documentation
                || v6.is_multicast()
                || v6.is_unique_local()
                || v6.is_unicast_link_local())
        }
    }
}

fn is_public_v4(v4: Ipv4Addr) -> bool {
    let [first, second, third, _] = v4.octets();
    let this_network = first == 0;
    let shared = first == 100 && (64..128).contains(&second);
    let protocol_assignments = first == 192 && second == 0 && third == 0;
    let benchmarking = first == 198 && (18..20).contains(&second);
    // 240.0.0.0/4, the limited broadcast address included.
    let reserved = first >= 240;
    !(this_network
        || shared
        || protocol_assignments
        || benchmarking
        || reserved
        || v4.is_private()
        || v4.is_loopback()
        || v4.is_link_local()
        || v4.is_multicast()
        || v4.is_documentation())
}

/// The resolver found only addresses outside the server's [`Reach`]: the call fails without
/// retry, as one to a literal address outside it does.
#[derive(Debug)]
pub(crate) struct OutOfReach;

impl std::fmt::Display for OutOfReach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the name resolves to no address this server may call")
    }
}

impl std::error::Error for OutOfReach {}

/// The system's resolver, keeping only the addresses `reach` allows; a name left with none
/// fails to resolve.
#[derive(Clone)]
pub(crate) struct Resolver {
    system: GaiResolver,
    reach: Reach,
}

impl Resolver {
    pub fn new(reach: Reach) -> Self {
        Self {
            system: GaiResolver::new(),
            reach,
        }
    }
}

type ResolveError = Box<dyn std::error::Error + Send + Sync>;

impl tower_service::Service<Name> for Resolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = ResolveError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, ResolveError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ResolveError>> {
        self.system.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let reach = self.reach;
        let resolving = self.system.call(name);
        Box::pin(async move {
            let allowed: Vec<SocketAddr> = resolving
                .await?
                .filter(|addr| reach.allows(addr.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(Box::new(OutOfReach) as ResolveError);
            }
            Ok(allowed.into_iter())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::10.0.0.5",
            "64:ff9b::a00:5",
            "64:ff9b:1::1",
            "2002:a00:5::1",
            "2001:0:4136:e378::1",
            "fec0::1",
            "2001:db8::1",
            "192.0.0.8",
            "198.18.0.1",
            "240.0.0.1",
        ] {
            let ip: IpAddr = private.parse().unwrap();
            assert!(!is_public(ip), "{private}");
            assert!(!Reach::PublicOnly.allows(ip), "{private}");
            assert!(Reach::Any.allows(ip), "{private}");
        }
        for public in [
            "8.8.8.8",
            "100.128.0.1",
            "172.32.0.1",
            "2600:1f18::1",
            "::ffff:1.1.1.1",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            let ip: IpAddr = public.parse().unwrap();
            assert!(is_public(ip), "{public}");
            assert!(Reach::PublicOnly.allows(ip), "{public}");
        }
    }

    #[tokio::test]
    async fn names_resolving_only_to_private_addresses_do_not_resolve() {
        use tower_service::Service;
        let name: Name = "localhost".parse().unwrap();
        let mut public_only = Resolver::new(Reach::PublicOnly);
        std::future::poll_fn(|cx| public_only.poll_ready(cx))
            .await
            .unwrap();
        assert!(public_only.call(name.clone()).await.is_err());

        let mut any = Resolver::new(Reach::Any);
        std::future::poll_fn(|cx| any.poll_ready(cx)).await.unwrap();
        let resolved: Vec<SocketAddr> = any.call(name).await.unwrap().collect();
        assert!(resolved.iter().all(|addr| addr.ip().is_loopback()));
        assert!(!resolved.is_empty());
    }
}
