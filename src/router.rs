//! Bringing the data plane up and down: ports, pool, snapshot, workers,
//! and the order in which they are released.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arc_swap::ArcSwap;
use controlplane::config::{Config, WorkerConf};
use controlplane::local::LocalStats;
use controlplane::report::{PortCounters, Report};
use controlplane::{PortInfo, Tables};
use dataplane::nd6;
use dataplane::stats::{StatsValues, WorkerStats};

use crate::control::Control;
use crate::dpdk::{BURST, Eal, Lcore, Mempool, Port, PortConfig, RxQueue, TxQueue, frame_len};
use crate::worker::{self, PUNT_QUEUE, Upcalls, Worker};

/// Why labelgate stopped early: the user's input (exit status 2), the
/// system (1), or the user's interrupt (130, as a shell reports SIGINT).
#[derive(Debug)]
pub enum Fail {
    Usage(String),
    Runtime(String),
    Interrupted,
}

impl From<crate::dpdk::DpdkError> for Fail {
    fn from(e: crate::dpdk::DpdkError) -> Fail {
        Fail::Runtime(e.to_string())
    }
}

/// Descriptor ring sizes, as l3fwd's defaults.
pub const RX_DESC: u16 = 1024;
pub const TX_DESC: u16 = 1024;

/// An mbuf's data room past its headroom: a frame longer than this arrives
/// in a chain of mbufs.
pub const MBUF_DATA: usize = 2048;

/// Bytes one mbuf of the pool takes, for sizing EAL memory.
pub const MBUF_FOOTPRINT: usize = MBUF_DATA + 128 + 128 + 64;

const POOL_CACHE: u32 = 256;

/// Every worker lcore polling its own queue on every port, so that the
/// ports' RSS (or replay's flow split) spreads the flows over them.
pub fn queue_per_worker(lcores: &[u32], ports: u16) -> Vec<WorkerConf> {
    lcores
        .iter()
        .enumerate()
        .map(|(k, &lcore)| WorkerConf {
            lcore,
            rx: (0..ports).map(|p| (p, k as u16)).collect(),
        })
        .collect()
}

/// Enough mbufs that receiving never fails for want of one: the
/// descriptor rings, every worker's bursts and hold queues, the punt queue
/// and the per-lcore caches, each packet in as many mbufs as the largest
/// frame needs, with a quarter to spare.
pub fn pool_size(cfg: &Config, ports: usize, rxq: usize, workers: usize, max_frame: usize) -> u32 {
    let segs = max_frame.div_ceil(MBUF_DATA).max(1);
    let rings = ports * (rxq * usize::from(RX_DESC) + workers * usize::from(TX_DESC));
    let per_worker = BURST * (1 + ports) + nd6::MAX_ENTRIES * cfg.settings.nd6_maxqlen;
    let caches = (workers + 1) * (POOL_CACHE as usize * 3 / 2);
    let n = (rings + workers * per_worker * segs + PUNT_QUEUE * segs + caches) * 5 / 4;
    (n.max(8192).next_power_of_two() - 1) as u32
}

/// The running router. Fields drop in order: workers are joined (the
/// `Drop` below has told them to stop), the upcall queues emptied, ports
/// closed, and only then the pool and the EAL released.
pub struct Router {
    stop: Arc<AtomicBool>,
    lcores: Vec<Lcore>,
    /// Set by each worker as its loop ends, however it ends.
    done: Vec<Arc<AtomicBool>>,
    upcalls: Arc<Upcalls>,
    stats: Vec<Arc<WorkerStats>>,
    ports: Vec<Port>,
    tables: Tables,
    pub control: Control,
    pool: Arc<Mempool>,
    _eal: Eal,
}

impl Drop for Router {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

/// What a stopped router leaves: its final counters.
pub struct Finished {
    pub stats: StatsValues,
    pub hw: Vec<PortCounters>,
    pub local: LocalStats,
    pub ifnames: Vec<String>,
    pub filters: Vec<String>,
    /// Mbufs not back in the pool after everything was released.
    pub mbufs_in_use: u32,
    /// Workers that ended by panicking.
    pub failed_workers: usize,
}

impl Finished {
    pub fn report(&self) -> Report<'_> {
        Report {
            stats: &self.stats,
            ifnames: &self.ifnames,
            hw: &self.hw,
            filters: &self.filters,
            local: &self.local,
        }
    }
}

impl Router {
    /// Starts every port DPDK found with the queues the workers need, and
    /// the workers on their lcores. `max_frame` is the longest frame a port
    /// will receive, for sizing the pool.
    pub fn start(
        eal: Eal,
        config: Config,
        workers: &[WorkerConf],
        max_frame: usize,
    ) -> Result<Router, Fail> {
        let ids = eal.port_ids();
        if ids.is_empty() {
            return Err(Fail::Usage(
                "DPDK found no ports (check the EAL arguments and the NIC binding)".into(),
            ));
        }
        if ids.iter().enumerate().any(|(i, &id)| usize::from(id) != i) {
            return Err(Fail::Usage(format!(
                "DPDK's port ids are {ids:?}; labelgate names ports port0..portN and needs them contiguous"
            )));
        }
        let nports = ids.len() as u16;
        let enabled = eal.worker_lcores();
        let mut rxq = vec![0u16; usize::from(nports)];
        for w in workers {
            if !enabled.contains(&w.lcore) {
                return Err(Fail::Usage(format!(
                    "worker lcore {} is not a worker lcore of the EAL (enabled: {enabled:?}; the main lcore is {})",
                    w.lcore,
                    eal.main_lcore()
                )));
            }
            for &(port, q) in &w.rx {
                let n = rxq.get_mut(usize::from(port)).ok_or_else(|| {
                    Fail::Usage(format!(
                        "worker {} polls port{port}, but DPDK found {nports} ports",
                        w.lcore
                    ))
                })?;
                *n = (*n).max(q.saturating_add(1));
            }
        }
        if let Some(p) = rxq.iter().position(|&n| n == 0) {
            eprintln!("labelgate: no worker polls port{p}; what it receives is not read");
        }
        let infos = ids
            .iter()
            .map(|&p| Port::mac(&eal, p).map(|mac| PortInfo { mac }))
            .collect::<Result<Vec<_>, _>>()?;
        let mut tables = Tables::new(config, infos).map_err(Fail::Usage)?;
        let snapshot = tables.snapshot().map_err(Fail::Usage)?;
        let ifnames: Vec<String> = snapshot.ifnets.iter().map(|i| i.name.clone()).collect();
        let cfg = tables.config();
        let max_rxq = usize::from(*rxq.iter().max().unwrap_or(&1)).max(1);
        let largest_mtu = snapshot.ifnets[..usize::from(nports)]
            .iter()
            .map(|i| frame_len(i.mtu))
            .max()
            .unwrap_or(0);
        let n = pool_size(
            cfg,
            usize::from(nports),
            max_rxq,
            workers.len(),
            max_frame.max(largest_mtu),
        );
        let pool = Mempool::new(
            &eal,
            "labelgate",
            n,
            POOL_CACHE,
            0,
            (MBUF_DATA + 128) as u16,
            -1,
        )?;

        let mut rx_handles: Vec<Vec<Option<RxQueue>>> = Vec::new();
        let mut tx_handles: Vec<Vec<Option<TxQueue>>> = Vec::new();
        let mut ports = Vec::new();
        for p in 0..nports {
            let link = cfg.link(p);
            let conf = PortConfig {
                rx_queues: rxq[usize::from(p)].max(1),
                tx_queues: workers.len() as u16,
                rx_desc: RX_DESC,
                tx_desc: TX_DESC,
                mtu: snapshot.ifnets[usize::from(p)].mtu,
                // A configured MAC the NIC does not know must still reach us.
                promiscuous: link.lladdr.is_some(),
            };
            let (port, rx, tx) = Port::start(&eal, p, &conf, &pool)?;
            ports.push(port);
            rx_handles.push(rx.into_iter().map(Some).collect());
            tx_handles.push(tx.into_iter().map(Some).collect());
        }

        let snapshots = Arc::new(ArcSwap::from_pointee(snapshot));
        let upcalls = Arc::new(Upcalls::new());
        let stop = Arc::new(AtomicBool::new(false));
        let mut lcores = Vec::new();
        let mut stats = Vec::new();
        let mut done = Vec::new();
        for (k, w) in workers.iter().enumerate() {
            let rx =
                w.rx.iter()
                    .map(|&(p, q)| {
                        rx_handles[usize::from(p)][usize::from(q)]
                            .take()
                            .expect("Config::worker keeps queues unique")
                    })
                    .collect();
            let tx = tx_handles
                .iter_mut()
                .map(|t| t[k].take().expect("one transmit queue per worker"))
                .collect();
            let ws = Arc::new(WorkerStats::new(ifnames.len()));
            let finished = Arc::new(AtomicBool::new(false));
            stats.push(ws.clone());
            done.push(finished.clone());
            let job = Worker {
                index: k,
                workers: workers.len(),
                rx,
                tx,
                pool: pool.clone(),
                stats: ws,
                snapshots: snapshots.clone(),
                upcalls: upcalls.clone(),
                stop: stop.clone(),
                done: finished,
            };
            match Lcore::launch(&eal, w.lcore, move || worker::run(job)) {
                Ok(l) => lcores.push(l),
                Err(e) => {
                    // The workers already running must end before their
                    // handles are waited for on the way out.
                    stop.store(true, Ordering::Release);
                    return Err(e.into());
                }
            }
        }
        Ok(Router {
            stop,
            lcores,
            done,
            upcalls,
            stats,
            ports,
            tables,
            control: Control::new(ifnames),
            pool,
            _eal: eal,
        })
    }

    /// Handles what the workers handed up.
    pub fn poll(&mut self) -> usize {
        self.control.poll(&self.upcalls)
    }

    /// Whether a worker's loop ended without being asked to (it failed).
    pub fn worker_lost(&self) -> bool {
        !self.stop.load(Ordering::Acquire) && self.done.iter().any(|d| d.load(Ordering::Acquire))
    }

    /// The workers' counters, summed; each worker's consistent to a burst.
    pub fn stats(&self) -> StatsValues {
        let mut total = StatsValues::default();
        for s in &self.stats {
            total.add(&s.read());
        }
        total
    }

    pub fn hw(&self) -> Vec<PortCounters> {
        self.ports.iter().map(Port::stats).collect()
    }

    pub fn ports(&self) -> &[Port] {
        &self.ports
    }

    pub fn upcalls_pending(&self) -> bool {
        !self.upcalls.punt.is_empty()
            || !self.upcalls.resolve.is_empty()
            || !self.upcalls.log.is_empty()
    }

    /// Stops the workers after their current pass, then releases ports,
    /// pool and EAL in that order, and reports.
    pub fn stop(mut self) -> Finished {
        self.stop.store(true, Ordering::Release);
        let failed_workers = self
            .lcores
            .drain(..)
            .map(Lcore::join)
            .filter(|ok| !ok)
            .count();
        self.poll();
        let stats = self.stats();
        let hw = self.hw();
        let filters = self
            .tables
            .config()
            .filters
            .iter()
            .map(|f| f.text.clone())
            .collect();
        // Closing the ports flushes what the drivers hold (net_pcap closes
        // its output files) and returns their mbufs.
        self.ports.clear();
        let mbufs_in_use = self.pool.in_use();
        Finished {
            stats,
            hw,
            local: self.control.local.clone(),
            ifnames: self.control.ifnames().to_vec(),
            filters,
            mbufs_in_use,
            failed_workers,
        }
    }
}
