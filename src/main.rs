//! labelgate: a user-space IPv6 router on DPDK, forwarding with FreeBSD's
//! `ip6_forward` semantics.

mod capture;
mod control;
mod replay;
mod router;
mod run;
mod worker;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use clap::{Parser, Subcommand};

use controlplane::report::{count, rate};
use labelgate::dpdk;

use crate::router::{Fail, Finished};

/// The most `--extra-mbufs` takes: 16 Mi mbufs, over 40 GB of them, far
/// beyond any driver's own keeping, and small enough that the pool's count
/// stays within what DPDK's mempools can hold.
const MAX_EXTRA_MBUFS: u32 = 1 << 24;

#[derive(Parser)]
#[command(
    name = "labelgate",
    version,
    about = "A user-space IPv6 router on DPDK"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Push a capture through the data plane on net_pcap ports: INPUT
    /// arrives on port0, each port's output goes to OUT/port<N>.pcap.
    Replay {
        /// The capture to feed into port0 (pcap or pcapng, Ethernet).
        input: PathBuf,
        /// The router's configuration.
        #[arg(long)]
        config: PathBuf,
        /// Where to write port<N>.pcap for every port.
        #[arg(long)]
        out: PathBuf,
        /// Worker lcores; inputs are spread over them by flow, as RSS would.
        #[arg(long, default_value_t = 1)]
        workers: usize,
        /// Feed another port: portK=FILE (repeatable).
        #[arg(long = "rx", value_name = "portK=FILE")]
        rx: Vec<String>,
        /// Write the counters as JSON to this file.
        #[arg(long)]
        stats_json: Option<PathBuf>,
        /// Let DPDK log at info level.
        #[arg(short, long)]
        verbose: bool,
    },
    /// Run on NICs (or any PMD) until SIGINT or SIGTERM.
    Run {
        /// The router's configuration (with `worker` statements for the
        /// lcore to queue map).
        #[arg(long)]
        config: PathBuf,
        /// EAL arguments, as one string (or give them after `--`).
        #[arg(long, allow_hyphen_values = true, value_name = "ARGS")]
        eal: Option<String>,
        /// Write the counters as JSON to this file at exit.
        #[arg(long)]
        stats_json: Option<PathBuf>,
        /// Mbufs beyond what the ports, queues and workers need, for drivers
        /// that keep packets of their own (net_pcap's infinite_rx keeps its
        /// whole capture in mbufs of the port's pool).
        #[arg(long, value_name = "N", default_value_t = 0,
              value_parser = clap::value_parser!(u32).range(..=i64::from(MAX_EXTRA_MBUFS)))]
        extra_mbufs: u32,
        /// Print a line of counters every this many seconds (1 or more).
        #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
        stats_interval: Option<u64>,
        /// EAL arguments.
        #[arg(last = true)]
        eal_args: Vec<String>,
    },
}

/// SIGINT and SIGTERM set the returned flag.
pub fn signals() -> Result<Arc<AtomicBool>, Fail> {
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, flag.clone())
            .map_err(|e| Fail::Runtime(format!("cannot handle signal {sig}: {e}")))?;
    }
    Ok(flag)
}

/// Where `--stats-json` goes, checked before anything starts: a path that
/// cannot be written is the user's to fix (exit 2), not a surprise at exit.
/// A file this run created and never wrote is removed again.
struct StatsFile {
    path: PathBuf,
    created: bool,
    written: bool,
}

impl StatsFile {
    fn check(path: Option<PathBuf>) -> Result<Option<StatsFile>, Fail> {
        let Some(path) = path else { return Ok(None) };
        let created = !path.exists();
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| {
                Fail::Usage(format!(
                    "--stats-json {}: cannot write there: {e}",
                    path.display()
                ))
            })?;
        Ok(Some(StatsFile {
            path,
            created,
            written: false,
        }))
    }

    fn write(&mut self, j: &serde_json::Value) -> Result<(), Fail> {
        let text = serde_json::to_string_pretty(j).expect("counters serialise");
        std::fs::write(&self.path, text + "\n")
            .map_err(|e| Fail::Runtime(format!("{}: {e}", self.path.display())))?;
        self.written = true;
        Ok(())
    }
}

impl Drop for StatsFile {
    fn drop(&mut self) {
        if self.created && !self.written {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Writes the JSON, and says whether all was well.
fn finish(
    f: &Finished,
    stats_json: Option<&mut StatsFile>,
    extra: serde_json::Value,
) -> Result<(), Fail> {
    let report = f.report();
    if let Some(file) = stats_json {
        let mut j = report.json();
        j["mbufs_in_use_at_exit"] = f.mbufs_in_use.into();
        if let (Some(o), serde_json::Value::Object(e)) = (j.as_object_mut(), extra) {
            o.extend(e);
        }
        file.write(&j)?;
    }
    if f.mbufs_in_use != 0 {
        return Err(Fail::Runtime(format!(
            "{} mbufs were not returned to the pool",
            f.mbufs_in_use
        )));
    }
    if f.failed_workers != 0 {
        return Err(Fail::Runtime(format!(
            "{} failed",
            count(f.failed_workers, "worker")
        )));
    }
    if !f.stats.conserved() {
        return Err(Fail::Runtime(
            "packet conservation violated: see the summary".into(),
        ));
    }
    Ok(())
}

fn main_() -> Result<(), Fail> {
    match Cli::parse().cmd {
        Cmd::Replay {
            input,
            config,
            out,
            workers,
            rx,
            stats_json,
            verbose,
        } => {
            // The counters may go into the output directory, which replay
            // makes: make it before their path is checked.
            std::fs::create_dir_all(&out)
                .map_err(|e| Fail::Usage(format!("{}: {e}", out.display())))?;
            let mut stats_json = StatsFile::check(stats_json)?;
            let args = replay::Args {
                input,
                config,
                out,
                workers,
                rx,
                verbose,
            };
            let o = replay::replay(&args)?;
            let received = o.finished.stats.fates.received;
            let secs = o.elapsed.as_secs_f64();
            print!("{}", o.finished.report().summary());
            for (path, n) in &o.outputs {
                println!("wrote {:>10} packets to {}", n, path.display());
            }
            println!(
                "replayed {} with {} in {secs:.3} s ({})",
                count(received as usize, "packet"),
                count(workers, "worker"),
                rate(received, secs)
            );
            let extra = serde_json::json!({
                "replay": {
                    "seconds": secs,
                    "outputs": o.outputs.iter().map(|(p, n)| (p.display().to_string(), *n)).collect::<std::collections::BTreeMap<_, _>>(),
                }
            });
            finish(&o.finished, stats_json.as_mut(), extra)
        }
        Cmd::Run {
            config,
            eal,
            stats_json,
            stats_interval,
            extra_mbufs,
            eal_args,
        } => {
            let mut stats_json = StatsFile::check(stats_json)?;
            let f = run::run(&run::Args {
                config,
                eal,
                eal_args,
                stats_interval,
                extra_mbufs,
            })?;
            print!("{}", f.report().summary());
            finish(&f, stats_json.as_mut(), serde_json::json!({}))
        }
    }
}

fn main() -> ExitCode {
    match main_() {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail::Usage(m)) => {
            eprintln!("labelgate: {m}");
            ExitCode::from(2)
        }
        Err(Fail::Runtime(m)) => {
            eprintln!("labelgate: {m}");
            ExitCode::from(1)
        }
        Err(Fail::Interrupted) => {
            eprintln!("labelgate: interrupted");
            ExitCode::from(130)
        }
    }
}
