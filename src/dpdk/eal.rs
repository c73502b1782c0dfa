//! The Environment Abstraction Layer, initialised once per process.

use std::ffi::{CString, c_char};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{DpdkError, sys};

/// Set once `rte_eal_init` has been called: DPDK cannot initialise twice in
/// a process, even after cleanup.
static INITIALISED: AtomicBool = AtomicBool::new(false);
/// Set when memory had to be leaked; cleanup would then free it under live
/// mbufs, so it is skipped.
static LEAKED: AtomicBool = AtomicBool::new(false);

/// Shared by every DPDK object so that the EAL is cleaned up last.
#[derive(Debug)]
pub(super) struct EalGuard(());

impl Drop for EalGuard {
    fn drop(&mut self) {
        if LEAKED.load(Ordering::SeqCst) {
            eprintln!("labelgate: DPDK memory was still in use; skipping EAL cleanup");
            return;
        }
        // SAFETY: every object that uses DPDK holds a clone of this guard,
        // so none is left; cleanup is called once, as the last act.
        unsafe { sys::rte_eal_cleanup() };
    }
}

/// Marks that DPDK memory could not be returned.
pub(super) fn leaked() {
    LEAKED.store(true, Ordering::SeqCst);
}

/// The malloc heap statistics of every socket DPDK knows.
fn heap_stats(_: &Eal) -> impl Iterator<Item = sys::rte_malloc_socket_stats> {
    // SAFETY: no preconditions once the EAL is initialised, as the `Eal`
    // shows it is.
    let sockets = unsafe { sys::rte_socket_count() };
    (0..sockets).filter_map(|i| {
        let mut st = sys::rte_malloc_socket_stats::default();
        // SAFETY: st is writable storage for the stats of a socket from
        // DPDK's own list.
        let rc = unsafe { sys::rte_malloc_get_socket_stats(sys::rte_socket_id_by_idx(i), &mut st) };
        (rc == 0).then_some(st)
    })
}

/// EAL arguments that need no set-up and no privilege: no hugepages, no
/// PCI, no shared config files (so several processes can run at once) and
/// no telemetry socket.
pub const NO_SETUP: [&str; 4] = ["--no-huge", "--no-pci", "--no-shconf", "--no-telemetry"];

/// The initialised EAL.
#[derive(Debug, Clone)]
pub struct Eal {
    pub(super) guard: Arc<EalGuard>,
}

impl Eal {
    /// Initialises DPDK in a process of its own that uses no devices:
    /// [`NO_SETUP`], warnings only, `mem_mb` MB of memory (DPDK's tables
    /// for a test or a benchmark).
    pub fn without_setup(program: &str, mem_mb: usize) -> Result<Eal, DpdkError> {
        let mut args = vec![program.to_string()];
        args.extend(NO_SETUP.iter().map(|s| s.to_string()));
        args.extend([
            "--log-level=warning".into(),
            "-m".into(),
            mem_mb.to_string(),
        ]);
        Eal::init(&args)
    }

    /// As [`Eal::without_setup`], but with DPDK's memory on the huge pages
    /// the system has reserved (`vm.nr_hugepages`), taken as needed and
    /// held in memory of the process's own (`--in-memory`: no hugetlbfs
    /// mount, no files), as DPDK's tables would be in a deployment: for a
    /// benchmark that compares them with labelgate's.
    pub fn without_setup_on_hugepages(program: &str) -> Result<Eal, DpdkError> {
        let mut args = vec![program.to_string(), "--in-memory".into()];
        // The set-up-free list but for the two this replaces: huge pages
        // instead of `--no-huge`, and `--in-memory` implies `--no-shconf`.
        args.extend(
            NO_SETUP
                .iter()
                .filter(|a| !matches!(**a, "--no-huge" | "--no-shconf"))
                .map(|s| s.to_string()),
        );
        args.push("--log-level=warning".into());
        Eal::init(&args)
    }

    /// Initialises DPDK with `args` (the first is the program name). Fails
    /// on a second call in the same process.
    pub fn init(args: &[String]) -> Result<Eal, DpdkError> {
        if INITIALISED.swap(true, Ordering::SeqCst) {
            return Err(DpdkError::new(
                "rte_eal_init: the EAL is already initialised in this process",
                114,
            ));
        }
        let owned: Vec<CString> = args
            .iter()
            .map(|a| {
                CString::new(a.as_str()).map_err(|_| {
                    DpdkError::new(format!("EAL argument {a:?} contains a NUL byte"), 22)
                })
            })
            .collect::<Result<_, _>>()?;
        let mut argv: Vec<*mut c_char> = owned.iter().map(|c| c.as_ptr() as *mut c_char).collect();
        argv.push(std::ptr::null_mut());
        // SAFETY: argv holds argc valid NUL-terminated strings plus a NULL,
        // alive for the call (`owned` outlives it); DPDK may permute the
        // pointer array, which is ours, and keeps no pointer into it.
        let rc = unsafe { sys::rte_eal_init(owned.len() as i32, argv.as_mut_ptr()) };
        if rc < 0 {
            return Err(DpdkError::from_rte_errno("rte_eal_init"));
        }
        Ok(Eal {
            guard: Arc::new(EalGuard(())),
        })
    }

    /// Without hugepages (`--no-huge`) DPDK has only the memory `-m` gave
    /// it: the bytes of it still free. `None` with hugepages, where memory
    /// grows as it is asked for.
    pub fn memory_without_hugepages(&self) -> Option<usize> {
        // SAFETY: no preconditions once the EAL is initialised.
        if unsafe { sys::rte_eal_has_hugepages() } != 0 {
            return None;
        }
        Some(heap_stats(self).map(|st| st.heap_freesz_bytes).sum())
    }

    /// Bytes DPDK's heaps have handed out, on every socket. Tables that
    /// allocate all they may need when they are created (`rte_lpm6`,
    /// `rte_fib6`) take the difference across their creation as their size.
    pub(super) fn heap_allocated(&self) -> usize {
        heap_stats(self).map(|st| st.heap_allocsz_bytes).sum()
    }

    /// The lcore the calling (main) thread is.
    pub fn main_lcore(&self) -> u32 {
        // SAFETY: no preconditions once the EAL is initialised.
        unsafe { sys::rte_get_main_lcore() }
    }

    /// Enabled lcores other than the main one, in order.
    pub fn worker_lcores(&self) -> Vec<u32> {
        let mut out = Vec::new();
        let mut i = u32::MAX;
        loop {
            // SAFETY: no preconditions once the EAL is initialised; walks
            // the enabled lcores, skipping the main one (skip_main = 1).
            i = unsafe { sys::rte_get_next_lcore(i, 1, 0) };
            if i >= sys::RTE_MAX_LCORE {
                return out;
            }
            out.push(i);
        }
    }

    /// The ids of the ethdev ports DPDK probed and nobody else owns
    /// (`RTE_ETH_FOREACH_DEV`); ids need not be contiguous.
    pub fn port_ids(&self) -> Vec<u16> {
        let mut out = Vec::new();
        let mut p: u64 = 0;
        loop {
            // SAFETY: no preconditions once the EAL is initialised; owner 0
            // is RTE_ETH_DEV_NO_OWNER; past the last port it returns
            // RTE_MAX_ETHPORTS.
            let next = unsafe { sys::rte_eth_find_next_owned_by(p as u16, 0) };
            if next >= u64::from(sys::RTE_MAX_ETHPORTS) {
                return out;
            }
            out.push(next as u16);
            p = next + 1;
        }
    }

    /// Whether the calling thread is the main lcore.
    pub(super) fn on_main_lcore(&self) -> bool {
        // SAFETY: no preconditions once the EAL is initialised.
        unsafe { sys::rte_lcore_id() == sys::rte_get_main_lcore() }
    }
}
