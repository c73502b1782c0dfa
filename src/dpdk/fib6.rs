//! DPDK's newer IPv6 FIB, `rte_fib6` with its `TRIE` data plane: the
//! other yardstick, beside `rte_lpm6`, for labelgate's own FIB.

use std::net::Ipv6Addr;
use std::ptr::NonNull;
use std::sync::Arc;

use super::eal::EalGuard;
use super::{BURST, DpdkError, EINVAL, ENOENT, Eal, check, check_bulk, sys, table_name};

/// How wide the trie's entries, and so its next hops, are: the entry width
/// sets the table's memory, and a bit of each marks a link to a deeper
/// level, so a next hop is one bit narrower than its entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextHopSize {
    Four,
    Eight,
}

impl NextHopSize {
    fn raw(self) -> sys::rte_fib_trie_nh_sz {
        match self {
            NextHopSize::Four => sys::RTE_FIB6_TRIE_4B,
            NextHopSize::Eight => sys::RTE_FIB6_TRIE_8B,
        }
    }

    /// The largest next hop the trie stores.
    fn max(self) -> u64 {
        match self {
            NextHopSize::Four => (1 << 31) - 1,
            NextHopSize::Eight => (1 << 63) - 1,
        }
    }
}

/// An `rte_fib6` table of type `RTE_FIB6_TRIE`. Like `rte_lpm6` it takes
/// all its memory when it is created: the 2^24-entry first level, every
/// tbl8 group, and the RIB's node pool.
///
/// A lookup that no route covers gives the FIB's default next hop; this
/// table keeps the largest next hop its entries hold for that and refuses
/// it as a route's, so that lookups can say "no route".
#[derive(Debug)]
pub struct Fib6 {
    raw: NonNull<sys::rte_fib6>,
    no_route: u64,
    memory: usize,
    _eal: Arc<EalGuard>,
}

impl Fib6 {
    /// A table for up to `max_routes` routes with `num_tbl8` groups of 256
    /// entries below its first level. Unlike `rte_lpm6`, DPDK 22.11's trie
    /// reserves groups per route added and gives them back imperfectly, so
    /// a table under churn needs several times the groups its routes use.
    /// Its RIB is sized as 2 × `max_routes` in an `int`: a count that
    /// would overflow it is refused.
    pub fn new(
        eal: &Eal,
        max_routes: u32,
        num_tbl8: u32,
        next_hop: NextHopSize,
    ) -> Result<Fib6, DpdkError> {
        let name = table_name("fib6");
        let what = || {
            format!(
                "rte_fib6_create {name:?} ({max_routes} routes, {num_tbl8} tbl8s, {next_hop:?}-byte next hops)"
            )
        };
        let max_routes = i32::try_from(max_routes)
            .ok()
            .filter(|&n| n <= i32::MAX / 2)
            .ok_or_else(|| DpdkError::new(format!("{}: too many routes", what()), EINVAL))?;
        let no_route = next_hop.max();
        let mut conf = sys::rte_fib6_conf {
            type_: sys::RTE_FIB6_TRIE,
            default_nh: no_route,
            max_routes,
            rib_ext_sz: 0,
            __bindgen_anon_1: sys::rte_fib6_conf__bindgen_ty_1 {
                trie: sys::rte_fib6_conf__bindgen_ty_1__bindgen_ty_1 {
                    nh_sz: next_hop.raw(),
                    num_tbl8,
                },
            },
        };
        let before = eal.heap_allocated();
        // SAFETY: the name and conf are valid for the call; DPDK copies
        // what it keeps of them.
        let raw = unsafe { sys::rte_fib6_create(name.as_ptr(), sys::SOCKET_ID_ANY, &mut conf) };
        let raw = NonNull::new(raw).ok_or_else(|| DpdkError::from_rte_errno(what()))?;
        Ok(Fib6 {
            raw,
            no_route,
            memory: eal.heap_allocated().saturating_sub(before),
            _eal: eal.guard.clone(),
        })
    }

    /// Routes `prefix/len` to `next_hop` (below the largest next hop of
    /// the table's size), or gives an existing route that next hop. In
    /// DPDK 22.11 a new next hop for an existing route that runs out of
    /// groups is reported as done while the old one stays (fixed upstream
    /// after 22.11).
    pub fn add(&mut self, prefix: Ipv6Addr, len: u8, next_hop: u64) -> Result<(), DpdkError> {
        let what = || format!("rte_fib6_add {prefix}/{len} -> {next_hop}");
        if next_hop >= self.no_route {
            return Err(DpdkError::new(
                format!("{}: next hops are below {}", what(), self.no_route),
                EINVAL,
            ));
        }
        let ip = prefix.octets();
        // SAFETY: the table is valid while self is and `&mut self` makes
        // this its only user; ip is 16 readable bytes.
        let rc = unsafe { sys::rte_fib6_add(self.raw.as_ptr(), ip.as_ptr(), len, next_hop) };
        check(what, rc).map(drop)
    }

    /// Removes the route for `prefix/len`; whether there was one.
    pub fn delete(&mut self, prefix: Ipv6Addr, len: u8) -> Result<bool, DpdkError> {
        let ip = prefix.octets();
        // SAFETY: as in `add`.
        let rc = unsafe { sys::rte_fib6_delete(self.raw.as_ptr(), ip.as_ptr(), len) };
        if rc == -ENOENT {
            return Ok(false);
        }
        check(|| format!("rte_fib6_delete {prefix}/{len}"), rc).map(|_| true)
    }

    /// The next hop of the longest prefix covering `dst`. `rte_fib6` looks
    /// up only in bulk: this is a burst of one.
    #[inline]
    pub fn lookup(&self, dst: Ipv6Addr) -> Option<u64> {
        let ip = [dst.octets()];
        let mut hop = 0u64;
        // SAFETY: as in `lookup_bulk`, for one address and one next hop.
        let rc = unsafe {
            sys::rte_fib6_lookup_bulk(self.raw.as_ptr(), ip.as_ptr().cast_mut(), &mut hop, 1)
        };
        (rc == 0 && hop != self.no_route).then_some(hop)
    }

    /// [`Fib6::lookup`] for each of `dsts` (addresses in network byte
    /// order, as DPDK takes them) into `out`, which must be as long,
    /// through `rte_fib6_lookup_bulk` a burst at a time.
    #[inline]
    pub fn lookup_bulk(&self, dsts: &[[u8; 16]], out: &mut [Option<u64>]) -> Result<(), DpdkError> {
        check_bulk("rte_fib6_lookup_bulk", dsts, out)?;
        let mut hops = [0u64; BURST];
        for (dsts, out) in dsts.chunks(BURST).zip(out.chunks_mut(BURST)) {
            // SAFETY: the table is valid while self is and a lookup only
            // reads it (DPDK takes it, and the addresses, through mutable
            // pointers but writes neither); DPDK reads dsts.len() addresses
            // and writes as many next hops, which `hops` has room for.
            let rc = unsafe {
                sys::rte_fib6_lookup_bulk(
                    self.raw.as_ptr(),
                    dsts.as_ptr().cast_mut(),
                    hops.as_mut_ptr(),
                    dsts.len() as i32,
                )
            };
            check(|| "rte_fib6_lookup_bulk".into(), rc)?;
            for (o, &h) in out.iter_mut().zip(&hops) {
                *o = (h != self.no_route).then_some(h);
            }
        }
        Ok(())
    }

    /// Bytes of DPDK memory the table took when it was created, which is
    /// all it takes whatever it holds.
    pub fn memory(&self) -> usize {
        self.memory
    }
}

impl Drop for Fib6 {
    fn drop(&mut self) {
        // SAFETY: the table was created by rte_fib6_create and is freed
        // once; nothing borrows it past self.
        unsafe { sys::rte_fib6_free(self.raw.as_ptr()) };
    }
}
