//! DPDK's IPv6 longest-prefix match, `rte_lpm6`, as l3fwd uses it: the
//! yardstick labelgate's own FIB is measured against.

use std::net::Ipv6Addr;
use std::ptr::NonNull;
use std::sync::Arc;

use super::eal::EalGuard;
use super::{BURST, DpdkError, EINVAL, ENOENT, Eal, check, check_bulk, sys, table_name};

/// `rte_lpm6` keeps a next hop in 21 bits of its table entries and would
/// cut a wider one short without a word.
const NEXT_HOP_BITS: u32 = 21;

/// An `rte_lpm6` table. All its memory (the 2^24-entry first level, every
/// tbl8 group and the rule hash) is taken when it is created.
#[derive(Debug)]
pub struct Lpm6 {
    raw: NonNull<sys::rte_lpm6>,
    memory: usize,
    _eal: Arc<EalGuard>,
}

impl Lpm6 {
    /// A table for up to `max_rules` routes and `number_tbl8s` groups of
    /// 256 entries below its first level (a route longer than /24 needs one
    /// per byte past the 24th that no other route has made). DPDK sizes
    /// its rule hash as 1.2 × `max_rules` + 64 in a `uint32_t`; a count
    /// that would overflow it is refused.
    pub fn new(eal: &Eal, max_rules: u32, number_tbl8s: u32) -> Result<Lpm6, DpdkError> {
        let name = table_name("lpm6");
        let what = || format!("rte_lpm6_create {name:?} ({max_rules} rules, {number_tbl8s} tbl8s)");
        if f64::from(max_rules) * 1.2 + 64.0 > f64::from(u32::MAX) {
            return Err(DpdkError::new(
                format!("{}: too many rules", what()),
                EINVAL,
            ));
        }
        let config = sys::rte_lpm6_config {
            max_rules,
            number_tbl8s,
            flags: 0,
        };
        let before = eal.heap_allocated();
        // SAFETY: the name and config are valid for the call; DPDK copies
        // what it keeps of them.
        let raw = unsafe { sys::rte_lpm6_create(name.as_ptr(), sys::SOCKET_ID_ANY, &config) };
        let raw = NonNull::new(raw).ok_or_else(|| DpdkError::from_rte_errno(what()))?;
        Ok(Lpm6 {
            raw,
            memory: eal.heap_allocated().saturating_sub(before),
            _eal: eal.guard.clone(),
        })
    }

    /// Routes `prefix/len` (`len` 1 to 128: `rte_lpm6` holds no default
    /// route) to `next_hop` (below 2^21), or gives an existing route that
    /// next hop.
    pub fn add(&mut self, prefix: Ipv6Addr, len: u8, next_hop: u32) -> Result<(), DpdkError> {
        let what = || format!("rte_lpm6_add {prefix}/{len} -> {next_hop}");
        if next_hop >> NEXT_HOP_BITS != 0 {
            return Err(DpdkError::new(
                format!("{}: next hops are {NEXT_HOP_BITS} bits", what()),
                EINVAL,
            ));
        }
        let ip = prefix.octets();
        // SAFETY: the table is valid while self is and `&mut self` makes
        // this its only user; ip is 16 readable bytes.
        let rc = unsafe { sys::rte_lpm6_add(self.raw.as_ptr(), ip.as_ptr(), len, next_hop) };
        check(what, rc).map(drop)
    }

    /// Removes the route for `prefix/len`; whether there was one.
    pub fn delete(&mut self, prefix: Ipv6Addr, len: u8) -> Result<bool, DpdkError> {
        let ip = prefix.octets();
        // SAFETY: as in `add`.
        let rc = unsafe { sys::rte_lpm6_delete(self.raw.as_ptr(), ip.as_ptr(), len) };
        if rc == -ENOENT {
            return Ok(false);
        }
        check(|| format!("rte_lpm6_delete {prefix}/{len}"), rc).map(|_| true)
    }

    /// The next hop of the longest prefix covering `dst`.
    #[inline]
    pub fn lookup(&self, dst: Ipv6Addr) -> Option<u32> {
        let ip = dst.octets();
        let mut next_hop = 0;
        // SAFETY: the table is valid while self is and a lookup only reads
        // it; ip is 16 readable bytes, next_hop a writable u32.
        let rc = unsafe { sys::rte_lpm6_lookup(self.raw.as_ptr(), ip.as_ptr(), &mut next_hop) };
        (rc == 0).then_some(next_hop)
    }

    /// [`Lpm6::lookup`] for each of `dsts` (addresses in network byte
    /// order, as DPDK takes them) into `out`, which must be as long,
    /// through `rte_lpm6_lookup_bulk_func` a burst at a time.
    #[inline]
    pub fn lookup_bulk(&self, dsts: &[[u8; 16]], out: &mut [Option<u32>]) -> Result<(), DpdkError> {
        check_bulk("rte_lpm6_lookup_bulk_func", dsts, out)?;
        let mut hops = [0i32; BURST];
        for (dsts, out) in dsts.chunks(BURST).zip(out.chunks_mut(BURST)) {
            // SAFETY: the table is valid while self is and a lookup only
            // reads it; DPDK reads dsts.len() addresses (it takes them
            // through a mutable pointer but never writes them) and writes
            // as many next hops, which `hops` has room for.
            let rc = unsafe {
                sys::rte_lpm6_lookup_bulk_func(
                    self.raw.as_ptr(),
                    dsts.as_ptr().cast_mut(),
                    hops.as_mut_ptr(),
                    dsts.len() as u32,
                )
            };
            check(|| "rte_lpm6_lookup_bulk_func".into(), rc)?;
            for (o, &h) in out.iter_mut().zip(&hops) {
                *o = u32::try_from(h).ok();
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

impl Drop for Lpm6 {
    fn drop(&mut self) {
        // SAFETY: the table was created by rte_lpm6_create and is freed once;
        // nothing borrows it past self.
        unsafe { sys::rte_lpm6_free(self.raw.as_ptr()) };
    }
}
