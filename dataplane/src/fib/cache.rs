//! The per-core route cache.
//!
//! FreeBSD's seed kept one cached route (`ip6_forward_rt`) for the last
//! destination; a worker here keeps a small direct-mapped table of them,
//! owned by the core, so repeated destinations skip the trie walk. Entries
//! are valid for one snapshot generation: a new snapshot empties the cache.
//!
//! A cache pays only while destinations repeat. Uniform traffic over a full
//! table, or a spray of random destinations (what made Linux drop its route
//! cache), misses nearly always, and then every lookup pays for the probe
//! and the fill on top of the trie walk. So the cache watches its own hit
//! rate: a sample of lookups that hits too rarely sends it to rest, and
//! lookups go straight to the FIB until it samples again.

use std::net::Ipv6Addr;

use super::{Fib, RouteId};
use crate::stats::RouteCacheStat;

/// 256 KiB a worker: a few thousand active destinations do not evict each
/// other (at 1,024 slots the benchmark's 2,048 did), and it stays well
/// inside a core's L2.
const SLOTS: usize = 8192;

/// Lookups in a sample of the hit rate.
const SAMPLE: u32 = 4096;
/// The hits a sample needs for the cache to stay in use: below about one
/// in eight the probe and the fill cost more than the hits save (measured
/// with callgrind on the benchmark's traffic, `perf/compare.py`).
const PAYS: u32 = SAMPLE / 8;
/// Lookups the cache sits out after a sample that did not pay.
const REST: u32 = 16 * SAMPLE;

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
    /// Lookups and hits of the current sample.
    sampled: u32,
    hits: u32,
    /// Lookups left before the cache is used again; 0 while in use.
    resting: u32,
}

impl Default for RouteCache {
    fn default() -> Self {
        RouteCache {
            generation: u64::MAX,
            slots: vec![Slot::default(); SLOTS].into_boxed_slice(),
            sampled: 0,
            hits: 0,
            resting: 0,
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
        if !self.in_use(generation, 1) {
            stats.rtcache_misses.inc();
            return fib.lookup(dst);
        }
        let key = dst.to_bits();
        let i = index(key);
        let slot = self.slots[i];
        if slot.route != 0 && slot.dst == key {
            stats.rtcache_hits.inc();
            self.sampled_hits(1);
            return Some(slot.route - 1);
        }
        stats.rtcache_misses.inc();
        self.sampled_hits(0);
        let id = fib.lookup(dst)?;
        self.slots[i] = Slot {
            dst: key,
            route: id + 1,
        };
        Some(id)
    }
}

impl RouteCache {
    /// Whether `n` lookups in the table of `generation` go through the
    /// cache, emptied for a new generation; counts them into the sample or
    /// off the rest.
    #[inline]
    fn in_use(&mut self, generation: u64, n: u32) -> bool {
        if generation != self.generation {
            // A new table: the sample starts again, so that the misses of
            // the emptied cache are not judged against hits from the old.
            self.slots.fill(Slot::default());
            self.generation = generation;
            (self.sampled, self.hits) = (0, 0);
        }
        if self.resting > 0 {
            self.resting = self.resting.saturating_sub(n);
            return false;
        }
        self.sampled += n;
        true
    }

    /// Counts hits into the sample; a full sample decides whether the
    /// cache rests.
    #[inline]
    fn sampled_hits(&mut self, hits: u32) {
        self.hits += hits;
        if self.sampled >= SAMPLE {
            if self.hits < PAYS {
                self.resting = REST;
            }
            (self.sampled, self.hits) = (0, 0);
        }
    }

    /// Looks a burst of destinations up: through the cache, and those it
    /// misses in the FIB together ([`Fib::lookup_many`]), so that the
    /// trie's reads for all of them overlap. A table small enough to stay
    /// in cache costs a hash a packet; a full one under a spray costs one
    /// memory latency per level per burst, not per packet.
    pub fn lookup_burst(
        &mut self,
        fib: &Fib,
        generation: u64,
        dsts: &[u128],
        out: &mut [Option<RouteId>],
        stats: &RouteCacheStat,
    ) {
        const MAX: usize = 32;
        for (dsts, out) in dsts.chunks(MAX).zip(out.chunks_mut(MAX)) {
            if !self.in_use(generation, dsts.len() as u32) {
                stats.rtcache_misses.add(dsts.len() as u64);
                fib.lookup_many(dsts, out);
                continue;
            }
            let mut missed = [0usize; MAX];
            let mut keys = [0u128; MAX];
            let mut n = 0;
            for (i, (&d, o)) in dsts.iter().zip(out.iter_mut()).enumerate() {
                let slot = &self.slots[index(d)];
                if slot.route != 0 && slot.dst == d {
                    *o = Some(slot.route - 1);
                } else {
                    missed[n] = i;
                    keys[n] = d;
                    n += 1;
                }
            }
            stats.rtcache_hits.add((dsts.len() - n) as u64);
            stats.rtcache_misses.add(n as u64);
            self.sampled_hits((dsts.len() - n) as u32);
            let mut found = [None; MAX];
            fib.lookup_many(&keys[..n], &mut found[..n]);
            for ((&i, &d), id) in missed[..n].iter().zip(&keys[..n]).zip(found) {
                out[i] = id;
                if let Some(id) = id {
                    self.slots[index(d)] = Slot {
                        dst: d,
                        route: id + 1,
                    };
                }
            }
        }
    }
}

/// The address's slot.
#[inline]
fn index(key: u128) -> usize {
    crate::wire::ipv6::hash_bits(key, SLOTS.trailing_zeros())
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
    fn a_burst_finds_the_routes_lookups_one_at_a_time_find() {
        let mut c = RouteCache::default();
        let st = RouteCacheStat::default();
        let f = fib(1);
        let dsts: Vec<u128> = ["2001:db8::1", "2001:db9::1", "2001:db8::1", "2001:db8:5::1"]
            .iter()
            .map(|a| a.parse::<Ipv6Addr>().unwrap().to_bits())
            .collect();
        let mut out = vec![None; 4];
        c.lookup_burst(&f, 1, &dsts, &mut out, &st);
        assert_eq!(out, vec![Some(0), None, Some(0), Some(0)]);
        assert_eq!((st.rtcache_hits.get(), st.rtcache_misses.get()), (0, 4));
        c.lookup_burst(&f, 1, &dsts, &mut out, &st);
        assert_eq!(out, vec![Some(0), None, Some(0), Some(0)]);
        assert_eq!(
            (st.rtcache_hits.get(), st.rtcache_misses.get()),
            (3, 5),
            "found ones are cached"
        );
        c.lookup_burst(&Fib::default(), 2, &dsts, &mut out, &st);
        assert_eq!(out, vec![None; 4], "a new generation forgets");
    }

    #[test]
    fn a_cache_that_does_not_pay_rests_then_tries_again() {
        let mut c = RouteCache::default();
        let st = RouteCacheStat::default();
        let f = fib(1);
        let distinct = |i: u32| Ipv6Addr::from(0x2001_0db8_u128 << 96 | u128::from(i));
        // Every destination new: a sample with no hits.
        for i in 0..SAMPLE {
            assert_eq!(c.lookup(&f, 1, &distinct(i), &st), Some(0));
        }
        assert_eq!(c.resting, REST);
        // Resting, a repeated destination is looked up in the FIB, not the
        // cache, and still found.
        let a = distinct(0);
        for _ in 0..REST {
            assert_eq!(c.lookup(&f, 1, &a, &st), Some(0));
        }
        assert_eq!(st.rtcache_hits.get(), 0);
        assert_eq!(st.rtcache_misses.get(), u64::from(SAMPLE + REST));
        // In use again: repeats hit, and a sample of them keeps it in use.
        let mut out = [None; 32];
        for _ in 0..SAMPLE / 32 + 1 {
            c.lookup_burst(&f, 1, &[a.to_bits(); 32], &mut out, &st);
            assert_eq!(out, [Some(0); 32]);
        }
        assert_eq!(c.resting, 0);
        assert!(st.rtcache_hits.get() > u64::from(SAMPLE) / 2);
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
