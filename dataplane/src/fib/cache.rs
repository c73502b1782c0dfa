//! The per-core route cache.
//!
//! FreeBSD's seed kept one cached route (`ip6_forward_rt`) for the last
//! destination; a worker here keeps a small direct-mapped table of them,
//! owned by the core, so repeated destinations skip the trie walk. Entries
//! are valid for one snapshot generation: a new snapshot empties the cache.

use std::net::Ipv6Addr;

use super::{Fib, RouteId};
use crate::stats::RouteCacheStat;

const SLOTS: usize = 1024;

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    dst: u128,
    /// The route plus one; zero marks an empty slot.
    route: u32,
}

/// A direct-mapped destination → route cache.
#[derive(Debug)]
pub struct RouteCache {
    generation: u64,
    slots: Box<[Slot]>,
}

impl Default for RouteCache {
    fn default() -> Self {
        RouteCache {
            generation: u64::MAX,
            slots: vec![Slot::default(); SLOTS].into_boxed_slice(),
        }
    }
}

impl RouteCache {
    /// Looks `dst` up, through the cache, in the table of `generation`,
    /// counting hits and misses.
    #[inline]
    pub fn lookup(
        &mut self,
        fib: &Fib,
        generation: u64,
        dst: &Ipv6Addr,
        stats: &RouteCacheStat,
    ) -> Option<RouteId> {
        if generation != self.generation {
            self.slots.fill(Slot::default());
            self.generation = generation;
        }
        let key = dst.to_bits();
        let slot = &mut self.slots[index(key)];
        if slot.route != 0 && slot.dst == key {
            stats.rtcache_hits.inc();
            return Some(slot.route - 1);
        }
        stats.rtcache_misses.inc();
        let id = fib.lookup(dst)?;
        *slot = Slot {
            dst: key,
            route: id + 1,
        };
        Some(id)
    }
}

/// Folds the address to a slot; the low 64 bits (the interface identifier)
/// vary most between hosts, the prefix between sites, so both are mixed.
#[inline]
fn index(key: u128) -> usize {
    let h = ((key >> 64) as u64 ^ key as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (h >> (64 - SLOTS.trailing_zeros())) as usize
}

#[cfg(test)]
mod tests {
    use super::super::{Route, RouteFlags};
    use super::*;

    fn fib(ifindex: u16) -> Fib {
        Fib::new([Route {
            prefix: "2001:db8::".parse().unwrap(),
            prefix_len: 32,
            gateway: None,
            ifindex,
            flags: RouteFlags::default(),
        }])
    }

    #[test]
    fn hits_after_first_lookup_and_forgets_on_new_generation() {
        let mut c = RouteCache::default();
        let st = RouteCacheStat::default();
        let a: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let f1 = fib(1);
        assert_eq!(c.lookup(&f1, 1, &a, &st), Some(0));
        assert_eq!(c.lookup(&f1, 1, &a, &st), Some(0));
        assert_eq!((st.rtcache_hits.get(), st.rtcache_misses.get()), (1, 1));
        // A new generation whose table has no route must not be answered
        // from the old entries.
        let empty = Fib::default();
        assert_eq!(c.lookup(&empty, 2, &a, &st), None);
        assert_eq!(
            c.lookup(&empty, 2, &"2001:db9::1".parse().unwrap(), &st),
            None
        );
    }

    #[test]
    fn misses_are_not_cached() {
        let mut c = RouteCache::default();
        let st = RouteCacheStat::default();
        let f = fib(1);
        let a: Ipv6Addr = "2001:db9::1".parse().unwrap();
        assert_eq!(c.lookup(&f, 1, &a, &st), None);
        assert_eq!(c.lookup(&f, 1, &a, &st), None);
        assert_eq!((st.rtcache_hits.get(), st.rtcache_misses.get()), (0, 2));
    }
}
