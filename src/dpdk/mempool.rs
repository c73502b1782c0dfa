//! Packet buffer pools.

use std::ffi::CString;
use std::ptr::NonNull;
use std::sync::Arc;

use super::eal::{EalGuard, leaked};
use super::{DpdkError, Eal, Mbuf, sys};

/// A pool of packet buffers (`rte_pktmbuf_pool_create`).
#[derive(Debug)]
pub struct Mempool {
    raw: NonNull<sys::rte_mempool>,
    _eal: Arc<EalGuard>,
}

// SAFETY: DPDK mempools are multi-producer, multi-consumer safe: any thread
// may allocate from or free to them.
unsafe impl Send for Mempool {}
// SAFETY: as above; &Mempool only allocates and reads counts.
unsafe impl Sync for Mempool {}

impl Mempool {
    /// A pool of `n` mbufs with `data_room` bytes each (headroom included)
    /// and `priv_size` bytes of private area, on `socket`.
    pub fn new(
        eal: &Eal,
        name: &str,
        n: u32,
        cache: u32,
        priv_size: u16,
        data_room: u16,
        socket: i32,
    ) -> Result<Arc<Mempool>, DpdkError> {
        let cname = CString::new(name)
            .map_err(|_| DpdkError::new("mempool name contains a NUL byte", 22))?;
        // SAFETY: cname is a valid C string for the call; DPDK copies it.
        let raw = unsafe {
            sys::rte_pktmbuf_pool_create(cname.as_ptr(), n, cache, priv_size, data_room, socket)
        };
        let raw = NonNull::new(raw).ok_or_else(|| {
            DpdkError::from_rte_errno(format!("rte_pktmbuf_pool_create({name}, {n} mbufs)"))
        })?;
        Ok(Arc::new(Mempool {
            raw,
            _eal: eal.guard.clone(),
        }))
    }

    pub(super) fn as_ptr(&self) -> *mut sys::rte_mempool {
        self.raw.as_ptr()
    }

    /// A fresh, empty mbuf, or `None` if the pool is exhausted.
    #[inline]
    pub fn alloc(&self) -> Option<Mbuf> {
        // SAFETY: the pool is valid while self is; the returned mbuf (if
        // any) is owned by the caller alone.
        let m = unsafe { sys::rte_pktmbuf_alloc(self.raw.as_ptr()) };
        NonNull::new(m).map(|m| {
            // SAFETY: m was just allocated and is owned by nobody else.
            unsafe { Mbuf::from_raw(m) }
        })
    }

    /// Mbufs allocated and not yet returned (those in per-lcore caches
    /// count as returned).
    pub fn in_use(&self) -> u32 {
        // SAFETY: reads the pool's counters; valid while self is.
        unsafe { sys::rte_mempool_in_use_count(self.raw.as_ptr()) }
    }
}

impl Drop for Mempool {
    fn drop(&mut self) {
        let out = self.in_use();
        if out != 0 {
            eprintln!("labelgate: {out} mbufs were not returned to their pool; leaking it");
            leaked();
            return;
        }
        // SAFETY: no port holds the pool (each holds an Arc to it) and no
        // mbuf is out, so nothing can reach its memory any more.
        unsafe { sys::rte_mempool_free(self.raw.as_ptr()) };
    }
}
