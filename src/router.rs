//! Bringing the data plane up and down: ports, pool, snapshot, workers,
//! and the order in which they are released.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arc_swap::ArcSwap;
use controlplane::config::{Config, WorkerConf};
use controlplane::local::LocalStats;
use controlplane::report::{MacReport, PortCounters, Report};
use controlplane::{PortInfo, Tables};
use dataplane::nd6;
use dataplane::stats::{StatsValues, WorkerStats};

use crate::control::Control;
use crate::dpdk::{
    BURST, Eal, HEADROOM, LABEL_PRIV_SIZE, Lcore, Mempool, PoolSpec, Port, PortConfig, RxQueue,
    TxQueue,
};
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

/// Starts DPDK with `args` (the first is the program name), telling the
/// user's mistakes (exit 2) from the system's (exit 1).
pub fn start_eal(args: &[String]) -> Result<Eal, Fail> {
    const EINVAL: i32 = 22;
    const ENODEV: i32 = 19;
    const EACCES: i32 = 13;
    Eal::init(args).map_err(|e| match e.errno {
        EINVAL | ENODEV => Fail::Usage(format!(
            "DPDK refused the EAL arguments ({e}; DPDK's own message is above): {}",
            args[1..].join(" ")
        )),
        EACCES if !args.iter().any(|a| a == "--no-huge") && hugepages_reserved() == 0 => {
            Fail::Runtime(format!(
                "{e}: no hugepages are reserved on this machine; reserve some (echo 1024 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages) or run without them (--no-huge -m MB)"
            ))
        }
        _ => e.into(),
    })
}

/// Hugepages the kernel has reserved, of every size.
fn hugepages_reserved() -> u64 {
    let Ok(dir) = std::fs::read_dir("/sys/kernel/mm/hugepages") else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter_map(|d| std::fs::read_to_string(d.path().join("nr_hugepages")).ok())
        .filter_map(|n| n.trim().parse::<u64>().ok())
        .sum()
}

/// Descriptor ring sizes, as l3fwd's defaults.
pub const RX_DESC: u16 = 1024;
pub const TX_DESC: u16 = 1024;

/// An mbuf's data room past its headroom: a frame longer than this arrives
/// in a chain of mbufs, so a jumbo MTU costs more mbufs per packet rather
/// than a larger buffer for every packet.
pub const MBUF_DATA: usize = 2048;

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

/// What the router will ask of its mbuf pool, known before DPDK starts so
/// that replay can give the EAL exactly the memory the pool takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Demand {
    /// Descriptors per receive and per transmit queue.
    pub rx_desc: u16,
    pub tx_desc: u16,
    /// The longest frame a packet in flight can be: the longest a port
    /// receives (its MTU's frame on a NIC, the longest record in a replay).
    pub max_frame: usize,
    /// At most this many received packets can be inside the router at once
    /// (a replay's input count); `None` when unbounded.
    pub packets: Option<u64>,
    /// Mbufs the driver keeps for itself beyond its rings (`run
    /// --extra-mbufs`).
    pub extra: u32,
}

/// The receive queues each port needs for `workers` (highest queue + 1).
pub fn rx_queues(workers: &[WorkerConf], nports: u16) -> Vec<u16> {
    let mut rxq = vec![0u16; usize::from(nports)];
    for w in workers {
        for &(port, q) in &w.rx {
            if let Some(n) = rxq.get_mut(usize::from(port)) {
                *n = (*n).max(q.saturating_add(1));
            }
        }
    }
    rxq
}

/// Enough mbufs that receiving never fails for want of one: a mbuf for
/// every descriptor of every ring (a chained frame takes a descriptor per
/// segment), every packet a worker can hold (its burst, its transmit
/// buffers and its hold queues), the punt queue, each of those in as many
/// mbufs as the longest frame needs, the per-lcore caches and what the
/// driver keeps for itself (`Demand::extra`); a quarter to
/// spare, and no more. (DPDK advises 2^k - 1 mbufs: the ring that holds
/// the free ones has a power of two of 8-byte slots whatever the count, and
/// that count fills it. Rounding up to it would add up to as many mbufs
/// again, 2.5 KB or more each and all resident, to fill slots that cost
/// next to nothing empty.)
pub fn pool_spec(
    cfg: &Config,
    rxq: &[u16],
    workers: usize,
    d: &Demand,
    labelled: bool,
) -> PoolSpec {
    let ports = rxq.len();
    let segs = d.max_frame.div_ceil(MBUF_DATA).max(1);
    let rx_rings: usize = rxq.iter().map(|&q| usize::from(q.max(1))).sum();
    let rings = rx_rings * usize::from(d.rx_desc) + ports * workers * usize::from(d.tx_desc);
    let per_worker = BURST * (1 + ports) + nd6::MAX_ENTRIES * cfg.settings.nd6_maxqlen;
    let mut held = (workers * per_worker + PUNT_QUEUE) as u64;
    if let Some(n) = d.packets {
        // Originated errors are small and one per packet they answer.
        held = held.min(n.saturating_mul(2));
    }
    let caches = (workers + 1) * (POOL_CACHE as usize * 3 / 2);
    let n = (rings + held as usize * segs + caches + d.extra as usize) * 5 / 4;
    PoolSpec {
        n: u32::try_from(n.max(2048)).unwrap_or(u32::MAX),
        cache: POOL_CACHE,
        // Label storage exists only while some policy labels packets, as
        // FreeBSD's mac_labeled has it.
        priv_size: if labelled { LABEL_PRIV_SIZE } else { 0 },
        data_room: (MBUF_DATA + HEADROOM) as u16,
    }
}

/// The EAL memory (`-m`, in MB) a pool needs: the pool, and what DPDK
/// takes for itself and the ports beside it.
pub fn eal_memory_mb(spec: &PoolSpec) -> usize {
    const EAL_OWN: usize = 64 << 20;
    (spec.bytes() + EAL_OWN).div_ceil(1 << 20)
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
    pub mac: MacReport,
}

impl Finished {
    pub fn report(&self) -> Report<'_> {
        Report {
            stats: &self.stats,
            ifnames: &self.ifnames,
            hw: &self.hw,
            filters: &self.filters,
            local: &self.local,
            mac: &self.mac,
        }
    }
}

impl Router {
    /// Starts the ports the configuration declares with the queues the
    /// workers need, and the workers on their lcores.
    pub fn start(
        eal: Eal,
        config: Config,
        workers: &[WorkerConf],
        demand: &Demand,
    ) -> Result<Router, Fail> {
        let ids = eal.port_ids();
        let nports = config.ports;
        if ids.iter().enumerate().any(|(i, &id)| usize::from(id) != i) {
            return Err(Fail::Usage(format!(
                "DPDK's port ids are {ids:?}; labelgate names ports port0..portN and needs them contiguous"
            )));
        }
        if ids.len() < usize::from(nports) {
            return Err(Fail::Usage(format!(
                "{}: declares port0..port{} but DPDK found {} port{} (check the EAL arguments and the NIC binding)",
                config.file.display(),
                nports - 1,
                ids.len(),
                if ids.len() == 1 { "" } else { "s" }
            )));
        }
        if ids.len() > usize::from(nports) {
            eprintln!(
                "labelgate: DPDK found {} ports; the configuration declares {nports}, and port{}.. are left alone",
                ids.len(),
                nports
            );
        }
        let enabled = eal.worker_lcores();
        for w in workers {
            if !enabled.contains(&w.lcore) {
                return Err(Fail::Usage(format!(
                    "worker lcore {} is not a worker lcore of the EAL (enabled: {enabled:?}; the main lcore is {})",
                    w.lcore,
                    eal.main_lcore()
                )));
            }
        }
        let rxq = rx_queues(workers, nports);
        if let Some(p) = rxq.iter().position(|&n| n == 0) {
            eprintln!("labelgate: no worker polls port{p}; what it receives is not read");
        }
        let infos = (0..nports)
            .map(|p| Port::mac(&eal, p).map(|mac| PortInfo { mac }))
            .collect::<Result<Vec<_>, _>>()?;
        let mut tables = Tables::new(config, infos).map_err(Fail::Usage)?;
        let snapshot = tables.snapshot().map_err(Fail::Usage)?;
        let ifnames: Vec<String> = snapshot.ifnets.iter().map(|i| i.name.clone()).collect();
        let cfg = tables.config();
        let spec = pool_spec(
            cfg,
            &rxq,
            workers.len(),
            demand,
            cfg.mac.policies().labels_mbufs(),
        );
        if let Some(free) = eal.memory_without_hugepages()
            && free < spec.bytes()
        {
            return Err(Fail::Usage(format!(
                "the mbuf pool needs {} MB and DPDK has {} MB: without hugepages give the EAL `-m {}`",
                spec.bytes().div_ceil(1 << 20),
                free >> 20,
                eal_memory_mb(&spec)
            )));
        }
        let pool = Mempool::new(&eal, "labelgate", &spec).map_err(|e| {
            Fail::Runtime(format!(
                "{e}; it needs {} MB of DPDK memory (hugepages, or -m with --no-huge)",
                spec.bytes().div_ceil(1 << 20)
            ))
        })?;

        let mut rx_handles: Vec<Vec<Option<RxQueue>>> = Vec::new();
        let mut tx_handles: Vec<Vec<Option<TxQueue>>> = Vec::new();
        let mut ports = Vec::new();
        for p in 0..nports {
            let link = cfg.link(p);
            let conf = PortConfig {
                rx_queues: rxq[usize::from(p)].max(1),
                tx_queues: workers.len() as u16,
                rx_desc: demand.rx_desc,
                tx_desc: demand.tx_desc,
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
        tables.data_plane_started();
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
        self.control
            .poll(&self.upcalls, self.tables.config().mac.policies())
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
        // The interfaces detach: their labels end, and only then does the
        // report read what the policies counted.
        let labels = self.tables.label_texts();
        self.tables.release_labels();
        let mac = MacReport::of(self.tables.config().mac.policies(), labels);
        Finished {
            stats,
            hw,
            local: self.control.local.clone(),
            ifnames: self.control.ifnames().to_vec(),
            filters,
            mbufs_in_use,
            failed_workers,
            mac,
        }
    }
}
