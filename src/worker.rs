//! The per-lcore run-to-completion loop.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use arc_swap::ArcSwap;
use arrayvec::ArrayVec;
use controlplane::local::ResolveRequest;
use crossbeam::queue::ArrayQueue;
use dataplane::forward::LogEvent;
use dataplane::iface::IfIndex;
use dataplane::stats::WorkerStats;
use dataplane::{Engine, Io, Snapshot};

use crate::dpdk::{BURST, Mbuf, Mempool, RxQueue, TxQueue};

/// The engine reads a burst of up to this many where the driver put it.
const _: () = assert!(BURST <= dataplane::engine::LOOKUP_BURST);

/// The queues from the workers to the control thread.
#[derive(Debug)]
pub struct Upcalls {
    pub punt: ArrayQueue<Mbuf>,
    pub resolve: ArrayQueue<ResolveRequest>,
    pub log: ArrayQueue<LogEvent>,
}

impl Upcalls {
    pub fn new() -> Upcalls {
        Upcalls {
            punt: ArrayQueue::new(PUNT_QUEUE),
            resolve: ArrayQueue::new(256),
            log: ArrayQueue::new(64),
        }
    }
}

/// Packets that may wait for the control thread; more are dropped and
/// counted (`drop_punt_overflow`).
pub const PUNT_QUEUE: usize = 1024;

/// Everything one worker owns.
pub struct Worker {
    pub index: usize,
    pub workers: usize,
    pub rx: Vec<RxQueue>,
    /// One transmit queue on every port, indexed by port.
    pub tx: Vec<TxQueue>,
    pub pool: Arc<Mempool>,
    pub stats: Arc<WorkerStats>,
    pub snapshots: Arc<ArcSwap<Snapshot>>,
    pub upcalls: Arc<Upcalls>,
    pub stop: Arc<AtomicBool>,
    /// Set when the loop ends, by return or by panic.
    pub done: Arc<AtomicBool>,
}

/// Raises a flag when dropped, unwinding included.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// A transmit queue and the frames waiting for it.
struct TxBuf {
    q: TxQueue,
    pending: ArrayVec<Mbuf, BURST>,
}

/// The engine's hands on DPDK.
struct DpdkIo<'a> {
    tx: Vec<TxBuf>,
    pool: &'a Mempool,
    upcalls: &'a Upcalls,
    stats: &'a WorkerStats,
}

impl DpdkIo<'_> {
    /// Sends what is pending on one queue; what the queue refuses is freed
    /// and counted as the port's `tx_oqdrops`. Out of line, so that
    /// `transmit`, which calls it once a burst, stays a few instructions
    /// for the other packets.
    #[inline(never)]
    fn flush_one(t: &mut TxBuf, stats: &WorkerStats) {
        if t.pending.is_empty() {
            return;
        }
        let port = &stats.ports[usize::from(t.q.port())];
        port.tx_enqueued.add(t.q.tx_burst(&mut t.pending) as u64);
        port.tx_oqdrops.add(t.pending.len() as u64);
        t.pending.clear();
    }

    fn flush(&mut self) {
        for t in &mut self.tx {
            Self::flush_one(t, self.stats);
        }
    }
}

impl Io<Mbuf> for DpdkIo<'_> {
    fn alloc(&mut self) -> Option<Mbuf> {
        self.pool.alloc()
    }

    #[inline]
    fn transmit(&mut self, port: IfIndex, pkt: Mbuf) {
        let Some(t) = self.tx.get_mut(usize::from(port)) else {
            // Not a port (the loopback never transmits): count, never panic.
            if let Some(p) = self.stats.ports.get(usize::from(port)) {
                p.tx_oqdrops.inc();
            }
            return;
        };
        if t.pending.is_full() {
            Self::flush_one(t, self.stats);
        }
        t.pending.push(pkt);
    }

    fn punt(&mut self, pkt: Mbuf) -> Result<(), Mbuf> {
        self.upcalls.punt.push(pkt)
    }

    fn resolve(&mut self, ifindex: IfIndex, addr: std::net::Ipv6Addr) {
        if self
            .upcalls
            .resolve
            .push(ResolveRequest { ifindex, addr })
            .is_err()
        {
            self.stats.upcalls.nd6_resolve_overflow.inc();
        }
    }

    fn log(&mut self, event: LogEvent) {
        if self.upcalls.log.push(event).is_err() {
            self.stats.upcalls.log_overflow.inc();
        }
    }
}

/// Polls the worker's receive queues until told to stop, then gives up
/// whatever it still holds.
pub fn run(w: Worker) {
    let Worker {
        index,
        workers,
        mut rx,
        tx,
        pool,
        stats,
        snapshots,
        upcalls,
        stop,
        done,
    } = w;
    let _done = SetOnDrop(done);
    let mut engine = Engine::<Mbuf>::new(stats.clone(), index, workers);
    let mut io = DpdkIo {
        tx: tx
            .into_iter()
            .map(|q| TxBuf {
                q,
                pending: ArrayVec::new(),
            })
            .collect(),
        pool: &pool,
        upcalls: &upcalls,
        stats: &stats,
    };
    let mut burst = ArrayVec::<Mbuf, BURST>::new();
    loop {
        // Read before the pass: once asked to stop, the worker makes one
        // more pass, so whatever it had received is forwarded and flushed.
        let stopping = stop.load(Ordering::Acquire);
        let snap = snapshots.load();
        let now = Instant::now();
        for q in &mut rx {
            let mut badlen = 0;
            if q.rx_burst(&mut burst, &mut badlen) > 0 {
                if badlen > 0 {
                    stats.ports[usize::from(q.port())].rx_badlen.add(badlen);
                }
                engine.process_burst(&mut burst, &snap, now, &mut io);
            }
        }
        engine.tick(&snap, now, &mut io);
        io.flush();
        if stopping {
            break;
        }
    }
    engine.shutdown(&snapshots.load());
}
