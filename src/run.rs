//! `labelgate run`: the router on real NICs (or any PMD) until signalled.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use controlplane::Config;
use controlplane::config::WorkerConf;

use crate::dpdk::Eal;
use crate::router::{Fail, Finished, Router};

pub struct Args {
    pub config: PathBuf,
    pub eal: Option<String>,
    pub eal_args: Vec<String>,
    pub stats_interval: Option<u64>,
}

/// The configured workers, or by default every worker lcore polling its
/// own queue on every port (so the NICs' RSS spreads the flows).
fn workers(config: &Config, eal: &Eal) -> Vec<WorkerConf> {
    if !config.workers.is_empty() {
        return config.workers.clone();
    }
    eal.worker_lcores()
        .into_iter()
        .enumerate()
        .map(|(k, lcore)| WorkerConf {
            lcore,
            rx: (0..eal.port_count()).map(|p| (p, k as u16)).collect(),
        })
        .collect()
}

pub fn run(a: &Args) -> Result<Finished, Fail> {
    let config = Config::load(&a.config).map_err(|e| Fail::Usage(e.to_string()))?;
    let mut eal_args = vec!["labelgate".to_string()];
    eal_args.extend(
        a.eal
            .iter()
            .flat_map(|s| s.split_whitespace().map(str::to_string)),
    );
    eal_args.extend(a.eal_args.iter().cloned());
    let eal = Eal::init(&eal_args)?;
    let workers = workers(&config, &eal);
    if workers.is_empty() {
        return Err(Fail::Usage(
            "no worker lcores: give the EAL at least two lcores (-l 0-1)".into(),
        ));
    }
    let mut router = Router::start(eal, config, &workers)?;
    let interrupted = crate::signals()?;
    eprintln!(
        "labelgate: forwarding on {} ports with {} workers; SIGINT or SIGTERM stops",
        router.ports().len(),
        workers.len()
    );
    let mut last = Instant::now();
    while !interrupted.load(Ordering::Relaxed) {
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
