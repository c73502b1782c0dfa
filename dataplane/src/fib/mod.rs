//! The forwarding information base: routes and longest-prefix match.
//!
//! The table is immutable once built; the control plane builds a new one and
//! publishes it in a new snapshot. Lookups go through the per-core
//! [`cache::RouteCache`] first.

pub mod cache;

use std::net::Ipv6Addr;

use prefix_trie::PrefixMap;

use crate::iface::{IfIndex, prefix_mask};

/// FreeBSD's `RTF_*` route flags that change forwarding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouteFlags {
    /// `RTF_GATEWAY`: the next hop is `gateway`, not the destination.
    pub gateway: bool,
    /// `RTF_DYNAMIC`: created by a received redirect; no redirects are sent
    /// for traffic it carries.
    pub dynamic: bool,
    /// `RTF_MODIFIED`: changed by a received redirect; as `dynamic`.
    pub modified: bool,
    /// `RTF_BLACKHOLE`: discard silently.
    pub blackhole: bool,
    /// `RTF_REJECT`: discard and answer Destination Unreachable.
    pub reject: bool,
}

/// One route. `RTF_UP` is implied: a route that is not up is not in the
/// table at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub prefix: Ipv6Addr,
    pub prefix_len: u8,
    pub gateway: Option<Ipv6Addr>,
    pub ifindex: IfIndex,
    pub flags: RouteFlags,
}

impl Route {
    /// The address to resolve on the link: the gateway, else the destination.
    pub fn next_hop(&self, dst: Ipv6Addr) -> Ipv6Addr {
        self.gateway.filter(|_| self.flags.gateway).unwrap_or(dst)
    }
}

/// Index of a route in its [`Fib`].
pub type RouteId = u32;

/// An immutable routing table.
#[derive(Debug, Clone, Default)]
pub struct Fib {
    routes: Vec<Route>,
    trie: PrefixMap<(u128, u8), RouteId>,
}

impl Fib {
    /// Builds a table; a later route for the same prefix replaces an earlier.
    pub fn new(routes: impl IntoIterator<Item = Route>) -> Fib {
        let mut fib = Fib::default();
        for r in routes {
            let key = (r.prefix.to_bits() & prefix_mask(r.prefix_len), r.prefix_len);
            match fib.trie.get(&key) {
                Some(&id) => fib.routes[id as usize] = r,
                None => {
                    let id = fib.routes.len() as RouteId;
                    fib.routes.push(r);
                    fib.trie.insert(key, id);
                }
            }
        }
        fib
    }

    /// Longest-prefix match.
    pub fn lookup(&self, dst: &Ipv6Addr) -> Option<RouteId> {
        self.trie.get_lpm(&(dst.to_bits(), 128)).map(|(_, &id)| id)
    }

    pub fn route(&self, id: RouteId) -> &Route {
        &self.routes[id as usize]
    }

    pub fn len(&self) -> usize {
        self.routes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(p: &str, len: u8, ifindex: IfIndex) -> Route {
        Route {
            prefix: p.parse().unwrap(),
            prefix_len: len,
            gateway: None,
            ifindex,
            flags: RouteFlags::default(),
        }
    }

    #[test]
    fn longest_prefix_wins() {
        let fib = Fib::new([
            route("::", 0, 0),
            route("2001:db8::", 32, 1),
            route("2001:db8:1::", 48, 2),
            route("2001:db8:1::7", 128, 3),
        ]);
        let lookup = |a: &str| {
            fib.lookup(&a.parse().unwrap())
                .map(|id| fib.route(id).ifindex)
        };
        assert_eq!(lookup("2001:db8:1::7"), Some(3));
        assert_eq!(lookup("2001:db8:1::8"), Some(2));
        assert_eq!(lookup("2001:db8:2::1"), Some(1));
        assert_eq!(lookup("2001:db9::1"), Some(0));
        let fib = Fib::new([route("2001:db8::", 32, 1)]);
        assert_eq!(fib.lookup(&"2001:db9::1".parse().unwrap()), None);
    }

    #[test]
    fn later_route_replaces_and_host_bits_are_ignored() {
        let fib = Fib::new([route("2001:db8::", 32, 1), route("2001:db8::1", 32, 2)]);
        assert_eq!(fib.len(), 1);
        assert_eq!(
            fib.route(fib.lookup(&"2001:db8::5".parse().unwrap()).unwrap())
                .ifindex,
            2
        );
    }

    #[test]
    fn next_hop_is_gateway_only_for_gateway_routes() {
        let dst: Ipv6Addr = "2001:db8::5".parse().unwrap();
        let mut r = route("2001:db8::", 32, 1);
        assert_eq!(r.next_hop(dst), dst);
        r.gateway = Some("fe80::1".parse().unwrap());
        r.flags.gateway = true;
        assert_eq!(r.next_hop(dst), "fe80::1".parse::<Ipv6Addr>().unwrap());
    }
}
