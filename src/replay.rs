//! `labelgate replay`: a capture through the real data plane on net_pcap
//! ports, one output capture per port, and a report of every packet's fate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use controlplane::Config;
use controlplane::config::parse_port;

use crate::capture::{self, Capture};
use crate::router::{
    Demand, Fail, Finished, Router, eal_memory_mb, pool_spec, queue_per_worker, rx_queues,
    start_eal,
};

/// net_pcap's limit on queues per port.
pub const MAX_WORKERS: usize = 16;

/// Descriptors per queue: net_pcap holds no mbufs in its rings (it
/// allocates them as a burst is read and frees them as it is written), so
/// replay asks for few, and the pool counts them as if they were full.
const REPLAY_DESC: u16 = 64;

/// How long replay waits with nothing moving before it decides the
/// capture driver delivered less than the capture held.
const QUIET: Duration = Duration::from_secs(2);

pub struct Args {
    pub input: PathBuf,
    pub config: PathBuf,
    pub out: PathBuf,
    pub workers: usize,
    pub rx: Vec<String>,
    pub verbose: bool,
}

/// What replay leaves behind for its caller.
pub struct Outcome {
    pub finished: Finished,
    pub outputs: Vec<(PathBuf, u64)>,
    pub elapsed: Duration,
}

fn usage(m: impl Into<String>) -> Fail {
    Fail::Usage(m.into())
}

/// A path net_pcap can take in its device arguments.
fn devarg_path(p: &Path) -> Result<String, Fail> {
    let s = p
        .to_str()
        .ok_or_else(|| usage(format!("{}: not a UTF-8 path", p.display())))?;
    if s.contains(',') || s.contains('=') {
        return Err(usage(format!(
            "{s}: DPDK device arguments cannot carry a path with ',' or '='"
        )));
    }
    Ok(s.to_string())
}

/// The inputs by port: the main capture on port0, `--rx portK=FILE` others,
/// each on a port the configuration declares.
fn inputs(a: &Args, config: &Config) -> Result<BTreeMap<u16, Capture>, Fail> {
    let mut specs = vec![(0u16, a.input.clone())];
    for spec in &a.rx {
        let (port, file) = spec
            .split_once('=')
            .ok_or_else(|| usage(format!("--rx {spec}: expected portK=FILE")))?;
        let n = parse_port(port).map_err(|e| usage(format!("--rx {spec}: {e}")))?;
        if n >= config.ports {
            return Err(usage(format!(
                "--rx {spec}: {} declares port0..port{}, not {port}",
                config.file.display(),
                config.ports - 1
            )));
        }
        specs.push((n, PathBuf::from(file)));
    }
    let mut out = BTreeMap::new();
    for (port, path) in specs {
        let c = capture::inspect(&path).map_err(Fail::Usage)?;
        if let Some(d) = &c.damaged {
            eprintln!(
                "labelgate: {}: {d}; replaying the packets before it",
                path.display()
            );
        }
        for cut in c.cuts() {
            eprintln!("labelgate: {}: {cut}", path.display());
        }
        if out.insert(port, c).is_some() {
            return Err(usage(format!("port{port} is given two inputs")));
        }
    }
    Ok(out)
}

/// The output capture of a port.
fn output(out: &Path, port: u16) -> PathBuf {
    out.join(format!("port{port}.pcap"))
}

/// Refuses an input that replay would overwrite: net_pcap opens its output
/// files (truncating them) before it reads its inputs.
fn check_not_overwritten(
    inputs: &BTreeMap<u16, Capture>,
    out: &Path,
    ports: u16,
) -> Result<(), Fail> {
    let out = std::fs::canonicalize(out).map_err(|e| usage(format!("{}: {e}", out.display())))?;
    for c in inputs.values() {
        let input = std::fs::canonicalize(&c.path)
            .map_err(|e| usage(format!("{}: {e}", c.path.display())))?;
        if (0..ports).any(|p| output(&out, p) == input) {
            return Err(usage(format!(
                "{}: replay writes its outputs there; choose another --out",
                c.path.display()
            )));
        }
    }
    Ok(())
}

/// EAL arguments for net_pcap ports: no hugepages, no PCI, no shared
/// config (so several replays can run at once), and lcores spread over
/// the CPUs this process may use.
fn eal_args(ports: &[String], workers: usize, mem_mb: usize, verbose: bool) -> Vec<String> {
    let cpus: Vec<usize> = core_affinity::get_core_ids()
        .map(|ids| ids.into_iter().map(|c| c.id).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| vec![0]);
    let lcores: Vec<String> = (0..=workers)
        .map(|l| format!("{l}@{}", cpus[l % cpus.len()]))
        .collect();
    let mut args = vec!["labelgate".to_string()];
    args.extend(labelgate::dpdk::NO_SETUP.iter().map(|s| s.to_string()));
    args.extend([
        "-m".into(),
        mem_mb.to_string(),
        "--lcores".into(),
        lcores.join(","),
    ]);
    args.push(format!(
        "--log-level={}",
        if verbose { "info" } else { "warning" }
    ));
    for p in ports {
        args.extend(["--vdev".into(), p.clone()]);
    }
    args
}

/// net_pcap keeps a capture file open per queue of every port: with many
/// ports and workers that passes the usual soft limit of 1024 open files,
/// so replay raises it (up to the hard limit) to what the files need.
fn open_files(vdevs: &[String]) -> Result<(), Fail> {
    const SPARE: u64 = 256;
    let files = vdevs
        .iter()
        .map(|v| v.matches("_pcap=").count() as u64)
        .sum::<u64>();
    let want = files + SPARE;
    let got = rlimit::increase_nofile_limit(want)
        .map_err(|e| Fail::Runtime(format!("cannot raise the open-file limit: {e}")))?;
    if got < want {
        return Err(Fail::Usage(format!(
            "replay needs {want} open files ({files} captures for the ports' queues) but the limit is {got}; raise it (ulimit -n) or use fewer --workers"
        )));
    }
    Ok(())
}

pub fn replay(a: &Args) -> Result<Outcome, Fail> {
    let config = Config::load(&a.config).map_err(|e| usage(e.to_string()))?;
    if !(1..=MAX_WORKERS).contains(&a.workers) {
        return Err(usage(format!(
            "--workers {}: replay runs 1 to {MAX_WORKERS} workers",
            a.workers
        )));
    }
    if !config.workers.is_empty() {
        eprintln!("labelgate: `worker` statements apply to `run`; replay uses --workers");
    }
    let inputs = inputs(a, &config)?;
    let nports = config.ports;
    std::fs::create_dir_all(&a.out).map_err(|e| usage(format!("{}: {e}", a.out.display())))?;
    check_not_overwritten(&inputs, &a.out, nports)?;
    let scratch = a
        .out
        .join(format!(".labelgate-replay-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| usage(format!("{}: {e}", scratch.display())))?;
    let result = run_replay(a, config, &inputs, nports, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn run_replay(
    a: &Args,
    config: Config,
    inputs: &BTreeMap<u16, Capture>,
    nports: u16,
    scratch: &Path,
) -> Result<Outcome, Fail> {
    let w = a.workers;
    let interrupted = crate::signals()?;
    let mut vdevs = Vec::new();
    let mut tx_parts: Vec<Vec<PathBuf>> = Vec::new();
    for p in 0..nports {
        let mut args = vec![format!("net_pcap{p}")];
        if let Some(c) = inputs.get(&p) {
            // One queue per worker, as RSS would fill them; a single queue
            // reads the capture itself when libpcap will read exactly what
            // was counted.
            let rx = if w == 1 && c.clean {
                vec![c.path.clone()]
            } else {
                capture::split(&c.path, w, scratch, &format!("port{p}")).map_err(Fail::Runtime)?
            };
            for f in &rx {
                args.push(format!("rx_pcap={}", devarg_path(f)?));
            }
        }
        let parts: Vec<PathBuf> = if w == 1 {
            vec![output(&a.out, p)]
        } else {
            (0..w)
                .map(|q| scratch.join(format!("port{p}.txq{q}.pcap")))
                .collect()
        };
        for f in &parts {
            args.push(format!("tx_pcap={}", devarg_path(f)?));
        }
        // A port with no input gets one dummy receive queue per transmit
        // queue from net_pcap, which is what the workers poll.
        vdevs.push(args.join(","));
        tx_parts.push(parts);
    }
    let expected: u64 = inputs.values().map(|c| c.packets).sum();
    let demand = Demand {
        rx_desc: REPLAY_DESC,
        tx_desc: REPLAY_DESC,
        max_frame: inputs.values().map(|c| c.max_len).max().unwrap_or(0),
        packets: Some(expected),
        extra: 0,
    };
    // The same sizing Router::start applies, made before DPDK starts so
    // that the EAL gets the memory the pool will take.
    let planned = queue_per_worker(&(1..=w as u32).collect::<Vec<_>>(), nports);
    let spec = pool_spec(
        &config,
        &rx_queues(&planned, nports),
        w,
        &demand,
        config.mac.policies().labels_mbufs(),
    );
    open_files(&vdevs)?;
    let eal = start_eal(&eal_args(&vdevs, w, eal_memory_mb(&spec), a.verbose))?;
    let found = eal.port_ids().len();
    if found < usize::from(nports) {
        return Err(Fail::Runtime(format!(
            "net_pcap made {found} of the {nports} ports (its messages are above)"
        )));
    }
    let lcores: Vec<u32> = eal.worker_lcores().into_iter().take(w).collect();
    let workers = queue_per_worker(&lcores, nports);
    let started = Instant::now();
    let mut router = Router::start(eal, config, &workers, &demand)?;
    for (i, port) in router.ports().iter().enumerate() {
        if port.name() != format!("net_pcap{i}") {
            return Err(Fail::Runtime(format!(
                "port{i} is {}, not net_pcap{i}",
                port.name()
            )));
        }
    }
    let mut last_progress = (0u64, Instant::now());
    loop {
        router.poll();
        if interrupted.load(Ordering::Relaxed) {
            return Err(Fail::Interrupted);
        }
        if router.worker_lost() {
            return Err(Fail::Runtime("a worker stopped unexpectedly".into()));
        }
        let hw = router.hw();
        let read: u64 = hw
            .iter()
            .map(|h| h.ipackets + h.ierrors + h.rx_nombuf)
            .sum();
        let ipackets: u64 = hw.iter().map(|h| h.ipackets).sum();
        let s = router.stats();
        let settled =
            s.fates.received == ipackets && s.upcalls.hold_queue == 0 && !router.upcalls_pending();
        if settled && read >= expected {
            break;
        }
        let progress = read + s.fates.received + s.upcalls.hold_queue;
        if progress != last_progress.0 {
            last_progress = (progress, Instant::now());
        } else if settled && last_progress.1.elapsed() > QUIET {
            return Err(Fail::Runtime(format!(
                "the capture drivers delivered {read} of {expected} packets"
            )));
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    let elapsed = started.elapsed();
    let finished = router.stop();
    let lost: u64 = finished.hw.iter().map(|h| h.rx_nombuf + h.ierrors).sum();
    if lost > 0 {
        return Err(Fail::Runtime(format!(
            "{lost} packets were lost by the capture drivers (no mbuf or a read error)"
        )));
    }
    let mut outputs = Vec::new();
    for (p, parts) in (0..nports).zip(&tx_parts) {
        let out = output(&a.out, p);
        let n = if parts.len() == 1 {
            capture::inspect(&out).map_err(Fail::Runtime)?.packets
        } else {
            capture::merge(parts, &out).map_err(Fail::Runtime)?
        };
        outputs.push((out, n));
    }
    Ok(Outcome {
        finished,
        outputs,
        elapsed,
    })
}
