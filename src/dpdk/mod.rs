//! Safe types over DPDK. Every `unsafe` of labelgate is in this module.
//!
//! Lifetimes are tied by reference counts rather than borrows, because
//! workers run on DPDK lcores and need `'static` state: a port stays open
//! while any of its queue handles lives, a mempool while any port uses it,
//! and the EAL while any of them does. A mempool that still has mbufs out
//! when its last handle goes is leaked rather than freed, and the EAL then
//! skips its cleanup, so an mbuf can never outlive its memory.

mod eal;
mod ethdev;
mod fib6;
mod lcore;
mod lpm6;
mod mbuf;
mod mempool;

use std::ffi::{CStr, CString};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

pub use eal::{Eal, NO_SETUP};
pub use ethdev::{Port, PortConfig, RxQueue, TxQueue, frame_len};
pub use fib6::{Fib6, NextHopSize};
pub use lcore::Lcore;
pub use lpm6::Lpm6;
pub use mbuf::{LABEL_PRIV_SIZE, Mbuf};
pub use mempool::{Mempool, PoolSpec};

#[allow(
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    dead_code,
    unsafe_op_in_unsafe_fn,
    clippy::all
)]
mod sys {
    include!(concat!(env!("OUT_DIR"), "/dpdk.rs"));
}

/// How many packets a burst moves, as in DPDK's l3fwd.
pub const BURST: usize = 32;

/// The headroom every mbuf keeps before its data (`RTE_PKTMBUF_HEADROOM`).
pub const HEADROOM: usize = sys::RTE_PKTMBUF_HEADROOM as usize;

/// The errno DPDK's route tables give for a route they do not hold.
const ENOENT: i32 = 2;
/// The errno of an argument the route tables would refuse, or that would
/// overflow DPDK's own sizing arithmetic, refused here first.
const EINVAL: i32 = 22;

/// DPDK refuses a second route table of a name it already holds, and its
/// names are process-wide: every table gets a number of its own.
fn table_name(kind: &str) -> CString {
    static TABLES: AtomicU64 = AtomicU64::new(0);
    let n = TABLES.fetch_add(1, Ordering::Relaxed);
    CString::new(format!("lg_{kind}_{n}")).expect("a kind and a number hold no NUL")
}

/// A DPDK call that failed: what was being done, and DPDK's errno.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpdkError {
    pub what: String,
    pub errno: i32,
}

impl DpdkError {
    fn new(what: impl Into<String>, errno: i32) -> DpdkError {
        DpdkError {
            what: what.into(),
            errno: errno.abs(),
        }
    }

    /// An error whose errno is in DPDK's per-lcore `rte_errno`.
    fn from_rte_errno(what: impl Into<String>) -> DpdkError {
        // SAFETY: lg_rte_errno reads this thread's rte_errno; it has no
        // preconditions.
        let errno = unsafe { sys::lg_rte_errno() };
        DpdkError::new(what, errno)
    }
}

impl fmt::Display for DpdkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // SAFETY: rte_strerror returns a pointer to a static or per-lcore
        // NUL-terminated string that stays valid until the next call on this
        // thread; it is copied out at once.
        let msg = unsafe { CStr::from_ptr(sys::rte_strerror(self.errno)) };
        write!(
            f,
            "{}: {} (errno {})",
            self.what,
            msg.to_string_lossy(),
            self.errno
        )
    }
}

impl std::error::Error for DpdkError {}

/// Checks a DPDK return code of the "negative errno" convention.
/// A bulk lookup's addresses and answers must pair up: `what` names the
/// DPDK call refused for it.
fn check_bulk<A, B>(what: &str, dsts: &[A], out: &[B]) -> Result<(), DpdkError> {
    if dsts.len() != out.len() {
        return Err(DpdkError::new(
            format!("{what}: {} addresses, room for {}", dsts.len(), out.len()),
            EINVAL,
        ));
    }
    Ok(())
}

fn check(what: impl FnOnce() -> String, rc: i32) -> Result<i32, DpdkError> {
    if rc < 0 {
        Err(DpdkError::new(what(), rc))
    } else {
        Ok(rc)
    }
}
