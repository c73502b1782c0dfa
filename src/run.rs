//! `labelgate run`: the router on real NICs (or any PMD) until signalled.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use controlplane::Config;
use controlplane::report::count;

use crate::dpdk::frame_len;
use crate::router::{
    Demand, Fail, Finished, RX_DESC, Router, TX_DESC, queue_per_worker, start_eal,
};

pub struct Args {
    pub config: PathBuf,
    pub eal: Option<String>,
    pub eal_args: Vec<String>,
    pub stats_interval: Option<u64>,
    pub extra_mbufs: u32,
}

pub fn run(a: &Args) -> Result<Finished, Fail> {
    let config = Config::load(&a.config).map_err(|e| Fail::Usage(e.to_string()))?;
    let stop = crate::signals()?;
    let mut eal_args = vec!["labelgate".to_string()];
    eal_args.extend(
        a.eal
            .iter()
            .flat_map(|s| s.split_whitespace().map(str::to_string)),
    );
    eal_args.extend(a.eal_args.iter().cloned());
    let eal = start_eal(&eal_args)?;
    let workers = if config.workers.is_empty() {
        queue_per_worker(&eal.worker_lcores(), config.ports)
    } else {
        config.workers.clone()
    };
    if workers.is_empty() {
        return Err(Fail::Usage(
            "no worker lcores: give the EAL at least two lcores (-l 0-1)".into(),
        ));
    }
    // A port receives frames up to its MTU's.
    let max_frame = (0..config.ports)
        .map(|p| {
            frame_len(
                config
                    .link(p)
                    .mtu
                    .unwrap_or(controlplane::tables::DEFAULT_MTU),
            )
        })
        .max()
        .unwrap_or(0);
    let demand = Demand {
        rx_desc: RX_DESC,
        tx_desc: TX_DESC,
        max_frame,
        packets: None,
        extra: a.extra_mbufs,
    };
    let mut router = Router::start(eal, config, &workers, &demand)?;
    eprintln!(
        "labelgate: forwarding on {} with {}; SIGINT or SIGTERM stops",
        count(router.ports().len(), "port"),
        count(workers.len(), "worker")
    );
    let mut last = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        if router.worker_lost() {
            let f = router.stop();
            print!("{}", f.report().summary());
            return Err(Fail::Runtime(format!(
                "{} failed; stopped",
                count(f.failed_workers.max(1), "worker")
            )));
        }
        if router.poll() == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        if let Some(secs) = a.stats_interval
            && last.elapsed() >= Duration::from_secs(secs)
        {
            last = Instant::now();
            let s = router.stats();
            eprintln!(
                "labelgate: received {} forwarded {} punted {} dropped {}",
                s.fates.received,
                s.fates.forwarded,
                s.fates.punted,
                s.dropped()
            );
        }
    }
    Ok(router.stop())
}
