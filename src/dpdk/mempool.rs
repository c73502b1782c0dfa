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

/// What the pool's objects are: their count and sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSpec {
    pub n: u32,
    pub cache: u32,
    pub priv_size: u16,
    /// Data room of each mbuf, headroom included.
    pub data_room: u16,
}

impl PoolSpec {
    /// Bytes of DPDK memory one object takes in a packed pool: the mempool
    /// object header, the `rte_mbuf`, its private area and data room, to a
    /// cache line, plus the line the mempool may add to spread objects over
    /// memory channels, and its pointer in the pool's ring.
    pub fn object_bytes(&self) -> usize {
        const LINE: usize = 64;
        let obj = LINE
            + std::mem::size_of::<sys::rte_mbuf>()
            + usize::from(self.priv_size)
            + usize::from(self.data_room);
        obj.next_multiple_of(LINE) + LINE + 8
    }

    /// Bytes the whole pool takes, per-lcore caches included.
    pub fn bytes(&self) -> usize {
        self.n as usize * self.object_bytes() + POOL_FIXED
    }
}

/// What a pool takes beyond its objects: the per-lcore cache structures
/// (one per possible lcore) and the pool's headers, with room to spare.
const POOL_FIXED: usize = 4 << 20;

impl Mempool {
    /// A pool of mbufs as `spec` says, on any socket.
    ///
    /// When DPDK runs with IOVA as VA, virtually contiguous memory is
    /// IOVA-contiguous, so objects are packed across pages
    /// (`RTE_MEMPOOL_F_NO_IOVA_CONTIG`): without hugepages DPDK would
    /// otherwise give each 2.4 KB mbuf a 4 KiB page of its own.
    pub fn new(eal: &Eal, name: &str, spec: &PoolSpec) -> Result<Arc<Mempool>, DpdkError> {
        let cname = CString::new(name)
            .map_err(|_| DpdkError::new("mempool name contains a NUL byte", 22))?;
        let what = || {
            format!(
                "mbuf pool {name} ({} mbufs, {} MB)",
                spec.n,
                spec.bytes() >> 20
            )
        };
        let _ = eal;
        // SAFETY: no preconditions once the EAL is initialised.
        let va = unsafe { sys::rte_eal_iova_mode() } == sys::RTE_IOVA_VA;
        let flags = if va {
            sys::RTE_MEMPOOL_F_NO_IOVA_CONTIG
        } else {
            0
        };
        let elt = std::mem::size_of::<sys::rte_mbuf>()
            + usize::from(spec.priv_size)
            + usize::from(spec.data_room);
        let mut init = sys::rte_pktmbuf_pool_private {
            mbuf_data_room_size: spec.data_room,
            mbuf_priv_size: spec.priv_size,
            flags: 0,
        };
        // SAFETY: cname is a valid C string for the call (DPDK copies it);
        // the sizes are those rte_pktmbuf_pool_create would pass.
        let raw = unsafe {
            sys::rte_mempool_create_empty(
                cname.as_ptr(),
                spec.n,
                elt as u32,
                spec.cache,
                std::mem::size_of::<sys::rte_pktmbuf_pool_private>() as u32,
                sys::SOCKET_ID_ANY,
                flags,
            )
        };
        let raw = NonNull::new(raw).ok_or_else(|| DpdkError::from_rte_errno(what()))?;
        // From here the pool is ours to free on failure: no mbuf is out yet.
        let fail = |rc: i32| {
            // SAFETY: the pool was created above and nothing else holds it.
            unsafe { sys::rte_mempool_free(raw.as_ptr()) };
            DpdkError::new(what(), rc)
        };
        // SAFETY: the pool is empty and ours; the ops name is DPDK's own
        // static string; `init` is the private area rte_pktmbuf_pool_init
        // reads, alive for the call; populate and obj_iter are the steps of
        // rte_pktmbuf_pool_create_by_ops, in its order.
        unsafe {
            let rc = sys::rte_mempool_set_ops_byname(
                raw.as_ptr(),
                sys::rte_mbuf_best_mempool_ops(),
                std::ptr::null_mut(),
            );
            if rc != 0 {
                return Err(fail(rc));
            }
            sys::rte_pktmbuf_pool_init(raw.as_ptr(), (&raw mut init).cast());
            let rc = sys::rte_mempool_populate_default(raw.as_ptr());
            if rc < 0 {
                return Err(fail(rc));
            }
            sys::rte_mempool_obj_iter(
                raw.as_ptr(),
                Some(sys::rte_pktmbuf_init),
                std::ptr::null_mut(),
            );
        }
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
