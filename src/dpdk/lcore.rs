//! Running code on DPDK lcores.

use std::ffi::{c_int, c_void};
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use super::eal::EalGuard;
use super::{DpdkError, Eal, check, sys};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// A job running on a worker lcore; waited for when joined or dropped.
/// Only the main lcore may launch and wait, so the handle stays on its
/// thread (`!Send`).
#[derive(Debug)]
pub struct Lcore {
    id: u32,
    joined: bool,
    _eal: Arc<EalGuard>,
    _main_thread_only: PhantomData<*const ()>,
}

extern "C" fn trampoline(arg: *mut c_void) -> c_int {
    // SAFETY: arg is the Box<Job> leaked by `Lcore::launch`, passed to
    // exactly one trampoline call.
    let job: Box<Job> = unsafe { Box::from_raw(arg as *mut Job) };
    // A panic must not unwind into DPDK's C frames.
    match catch_unwind(AssertUnwindSafe(job)) {
        Ok(()) => 0,
        Err(_) => -1,
    }
}

impl Lcore {
    /// Runs `job` on worker lcore `id`, from the main lcore.
    pub fn launch(
        eal: &Eal,
        id: u32,
        job: impl FnOnce() + Send + 'static,
    ) -> Result<Lcore, DpdkError> {
        if !eal.on_main_lcore() {
            return Err(DpdkError::new(
                "rte_eal_remote_launch: only the main lcore launches workers",
                1,
            ));
        }
        // SAFETY: rte_lcore_is_enabled bounds-checks its argument.
        let enabled = id < sys::RTE_MAX_LCORE && unsafe { sys::rte_lcore_is_enabled(id) } != 0;
        if !enabled || id == eal.main_lcore() {
            return Err(DpdkError::new(
                format!("rte_eal_remote_launch: lcore {id} is not a worker lcore"),
                22,
            ));
        }
        let boxed: Box<Job> = Box::new(Box::new(job));
        let arg = Box::into_raw(boxed) as *mut c_void;
        // SAFETY: trampoline takes ownership of arg; if the launch fails,
        // it never runs and the box is reclaimed below.
        let rc = unsafe { sys::rte_eal_remote_launch(Some(trampoline), arg, id) };
        if rc < 0 {
            // SAFETY: the launch failed, so arg is still ours alone.
            drop(unsafe { Box::from_raw(arg as *mut Job) });
            check(|| format!("rte_eal_remote_launch on lcore {id}"), rc)?;
        }
        Ok(Lcore {
            id,
            joined: false,
            _eal: eal.guard.clone(),
            _main_thread_only: PhantomData,
        })
    }

    /// Waits for the job; false if it panicked.
    pub fn join(mut self) -> bool {
        self.wait()
    }

    fn wait(&mut self) -> bool {
        self.joined = true;
        // SAFETY: the handle never left the main lcore (it is !Send), which
        // launched the job on a checked worker lcore.
        unsafe { sys::rte_eal_wait_lcore(self.id) == 0 }
    }
}

impl Drop for Lcore {
    fn drop(&mut self) {
        if !self.joined {
            self.wait();
        }
    }
}
