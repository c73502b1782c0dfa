//! `labelgate run`: the router on real NICs (or any PMD) until signalled.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use controlplane::Config;

use crate::dpdk::Eal;
use crate::router::{Fail, Finished, Router, queue_per_worker};

pub struct Args {
    pub config: PathBuf,
    pub eal: Option<String>,
    pub eal_args: Vec<String>,
    pub stats_interval: Option<u64>,
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
    let eal = Eal::init(&eal_args)?;
    let workers = if config.workers.is_empty() {
        queue_per_worker(&eal.worker_lcores(), eal.port_ids().len() as u16)
    } else {
        config.workers.clone()
    };
    if workers.is_empty() {
        return Err(Fail::Usage(
            "no worker lcores: give the EAL at least two lcores (-l 0-1)".into(),
        ));
    }
    let mut router = Router::start(eal, config, &workers, 0)?;
    eprintln!(
        "labelgate: forwarding on {} ports with {} workers; SIGINT or SIGTERM stops",
        router.ports().len(),
        workers.len()
    );
    let mut last = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        if router.worker_lost() {
            let f = router.stop();
            print!("{}", f.report().summary());
            return Err(Fail::Runtime(format!(
                "{} workers failed; stopped",
                f.failed_workers.max(1)
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
