//! The forwarding information base: routes and longest-prefix match.
//!
//! Workers read a table through a snapshot and never change it; the
//! control plane changes its own copy a route at a time ([`Fib::insert`],
//! [`Fib::remove`]) and publishes it in a new snapshot. Lookups go through
//! the per-core [`cache::RouteCache`] first, then the trie in [`dir`].

pub mod cache;
pub mod dir;

use std::net::Ipv6Addr;

use hashbrown::HashMap;

use crate::iface::{IfIndex, prefix_mask};

/// FreeBSD's `RTF_*` route flags that change forwarding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
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
        NextHop::of(self).address(dst)
    }
}

/// How a route forwards: its interface, gateway and flags (FreeBSD's
/// `nhop_object`). Routes share them — a full table has a few hundred for
/// a quarter of a million routes — so the fast path reads a route's as a
/// 4-byte index into a table that stays in cache, where reading the route
/// itself would miss it on every packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NextHop {
    pub ifindex: IfIndex,
    /// Set only for a gateway route.
    pub gateway: Option<Ipv6Addr>,
    pub flags: RouteFlags,
}

impl NextHop {
    fn of(r: &Route) -> NextHop {
        NextHop {
            ifindex: r.ifindex,
            gateway: r.gateway.filter(|_| r.flags.gateway),
            flags: r.flags,
        }
    }

    /// The address to resolve on the link: the gateway, else the destination.
    #[inline]
    pub fn address(&self, dst: Ipv6Addr) -> Ipv6Addr {
        self.gateway.unwrap_or(dst)
    }
}

/// Index of a route in its [`Fib`].
pub type RouteId = u32;

/// A routing table: the routes, by id, and the trie that finds them.
#[derive(Debug, Clone, Default)]
pub struct Fib {
    /// By id; a removed route's id is kept free for the next insert.
    routes: Vec<Route>,
    free: Vec<RouteId>,
    /// Each route's id by (prefix, length), for replacing and removing.
    index: HashMap<(u128, u8), RouteId>,
    dir: dir::Dir,
    /// Each route's next hop, by route id, as an index into `nexthops`.
    hops: Vec<u32>,
    /// The distinct next hops, each once; kept when no route uses them
    /// any more (there are as many as interface, gateway and flag
    /// combinations the control plane ever installed).
    nexthops: Vec<NextHop>,
    nexthop_ids: HashMap<NextHop, u32>,
}

impl Fib {
    /// Builds a table; a later route for the same prefix replaces an earlier.
    pub fn new(routes: impl IntoIterator<Item = Route>) -> Fib {
        let mut fib = Fib::default();
        for r in routes {
            fib.insert(r);
        }
        // Built whole, it keeps what it uses rather than what doubling
        // left it (up to twice the nodes of a full table).
        fib.dir.shrink_to_fit();
        fib.routes.shrink_to_fit();
        fib.hops.shrink_to_fit();
        fib
    }

    /// Adds a route, or replaces the one for the same prefix; its id. A
    /// length over 128 is taken as 128.
    pub fn insert(&mut self, mut r: Route) -> RouteId {
        r.prefix_len = r.prefix_len.min(128);
        let key = (r.prefix.to_bits() & prefix_mask(r.prefix_len), r.prefix_len);
        let nh = NextHop::of(&r);
        let hop = match self.nexthop_ids.get(&nh) {
            Some(&h) => h,
            None => {
                self.nexthops.push(nh);
                let h = (self.nexthops.len() - 1) as u32;
                self.nexthop_ids.insert(nh, h);
                h
            }
        };
        if let Some(&id) = self.index.get(&key) {
            self.routes[id as usize] = r;
            self.hops[id as usize] = hop;
            return id;
        }
        let id = match self.free.pop() {
            Some(id) => {
                self.routes[id as usize] = r;
                self.hops[id as usize] = hop;
                id
            }
            None => {
                self.routes.push(r);
                self.hops.push(hop);
                (self.routes.len() - 1) as RouteId
            }
        };
        self.index.insert(key, id);
        self.dir.insert(key.0, key.1, id);
        id
    }

    /// Removes the route for `prefix/len`, if there is one: the addresses
    /// it covered fall to the next shorter route that covers them.
    pub fn remove(&mut self, prefix: Ipv6Addr, len: u8) -> Option<Route> {
        let len = len.min(128);
        let key = (prefix.to_bits() & prefix_mask(len), len);
        let id = self.index.remove(&key)?;
        let cover = (0..len).rev().find_map(|l| {
            self.index
                .get(&(key.0 & prefix_mask(l), l))
                .map(|&c| (c, l))
        });
        self.dir.remove(key.0, key.1, id, cover);
        self.free.push(id);
        Some(self.routes[id as usize])
    }

    /// Longest-prefix match.
    #[inline]
    pub fn lookup(&self, dst: &Ipv6Addr) -> Option<RouteId> {
        self.dir.lookup(dst.to_bits())
    }

    /// Longest-prefix match for a burst of destinations: a level of the
    /// trie at a time across them on a table larger than the cache, so
    /// that their memory reads overlap; one after the other on one that
    /// fits, where there is no latency to hide and the walk is cheaper.
    #[inline]
    pub fn lookup_many(&self, dsts: &[u128], out: &mut [Option<RouteId>]) {
        if self.fits_in_cache() {
            for (o, &d) in out.iter_mut().zip(dsts) {
                *o = self.dir.lookup(d);
            }
        } else {
            self.dir.lookup_many(dsts, out);
        }
    }

    /// Touches the next-hop indices of the routes a burst's lookups found,
    /// one after the other with nothing depending on them, so that on a
    /// table larger than the cache their misses overlap here instead of
    /// stalling each packet in turn (a prefetch in safe code).
    #[inline]
    pub fn touch_nexthops(&self, ids: &[Option<RouteId>]) {
        if self.fits_in_cache() {
            return;
        }
        let mut any = 0;
        for id in ids.iter().flatten() {
            any ^= self.hops[*id as usize];
        }
        std::hint::black_box(any);
    }

    /// The route of an id [`Fib::lookup`] gave.
    #[inline]
    pub fn route(&self, id: RouteId) -> &Route {
        &self.routes[id as usize]
    }

    /// The next hop of the route of an id [`Fib::lookup`] gave.
    #[inline]
    pub fn nexthop(&self, id: RouteId) -> &NextHop {
        &self.nexthops[self.hops[id as usize] as usize]
    }

    /// The number of the next hop of the route of an id [`Fib::lookup`]
    /// gave, for a table of what to do with each ([`Fib::nexthop_at`]).
    #[inline]
    pub fn hop(&self, id: RouteId) -> u32 {
        self.hops[id as usize]
    }

    /// The next hop numbered `hop` ([`Fib::hop`]).
    pub fn nexthop_at(&self, hop: u32) -> Option<&NextHop> {
        self.nexthops.get(hop as usize)
    }

    /// Routes in the table.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Whether the trie's nodes fit a core's L2 cache (1 MiB of them):
    /// lookups then cost no memory latency, so [`Fib::lookup_many`] walks
    /// them one after the other, without the bookkeeping that overlaps
    /// their reads.
    pub fn fits_in_cache(&self) -> bool {
        self.dir.nodes() * 256 * 4 <= 1 << 20
    }

    /// Bytes the table takes (the trie, the routes, their next hops and
    /// the index by prefix, as allocated), and the trie's nodes.
    pub fn memory(&self) -> (usize, usize) {
        use std::mem::size_of;
        let index = self.index.capacity() * (size_of::<((u128, u8), RouteId)>() + 1);
        let nexthops = self.nexthop_ids.capacity() * (size_of::<(NextHop, u32)>() + 1)
            + self.nexthops.capacity() * size_of::<NextHop>();
        let bytes = self.dir.memory()
            + self.routes.capacity() * size_of::<Route>()
            + self.free.capacity() * size_of::<RouteId>()
            + self.hops.capacity() * size_of::<u32>()
            + index
            + nexthops;
        (bytes, self.dir.nodes())
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
    fn routes_come_and_go_one_at_a_time() {
        let mut fib = Fib::new([route("::", 0, 0), route("2001:db8::", 32, 1)]);
        // The route's interface, checked against its next hop's: both must
        // follow every insert, replace and remove.
        let at = |fib: &Fib, a: &str| {
            fib.lookup(&a.parse().unwrap()).map(|id| {
                assert_eq!(*fib.nexthop(id), NextHop::of(fib.route(id)));
                fib.route(id).ifindex
            })
        };
        fib.insert(route("2001:db8:1::", 48, 2));
        assert_eq!(at(&fib, "2001:db8:1::9"), Some(2));
        assert_eq!(
            fib.insert(route("2001:db8:1::", 48, 3)),
            2,
            "replaced in place"
        );
        assert_eq!(at(&fib, "2001:db8:1::9"), Some(3));
        assert_eq!(
            fib.remove("2001:db8:1::".parse().unwrap(), 48)
                .unwrap()
                .ifindex,
            3
        );
        assert_eq!(
            at(&fib, "2001:db8:1::9"),
            Some(1),
            "falls to the covering /32"
        );
        assert!(fib.remove("2001:db8:1::".parse().unwrap(), 48).is_none());
        fib.remove("2001:db8::".parse().unwrap(), 32);
        assert_eq!(at(&fib, "2001:db8:1::9"), Some(0));
        fib.insert(route("2001:db8:7::", 48, 7));
        assert_eq!(fib.len(), 2);
        assert_eq!(at(&fib, "2001:db8:7::1"), Some(7), "a freed id is reused");
        assert_eq!(fib.nexthops.len(), 5, "one per distinct next hop");
        fib.insert(route("2001:db8:8::", 48, 7));
        assert_eq!(fib.nexthops.len(), 5, "shared");
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
