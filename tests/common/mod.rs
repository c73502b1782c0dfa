//! Running the real binary in tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Debian's Python, the one python3-scapy installs into.
pub const PYTHON: &str = "/usr/bin/python3";

/// Longer than any replay in the suite takes, by far.
pub const DEADLINE: Duration = Duration::from_secs(120);

/// Replays run one at a time: each busy-polls a core, and the machines
/// running the suite have two.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures() -> PathBuf {
    root().join("pcap-fixtures")
}

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("labelgate-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A `labelgate replay` command being put together.
pub struct Replay {
    cmd: Command,
    out: PathBuf,
}

/// What a replay left.
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub out: PathBuf,
    /// The --stats-json file, or Null if none was written.
    pub stats: Value,
}

impl Run {
    pub fn log(&self) -> String {
        format!("--- stdout\n{}--- stderr\n{}", self.stdout, self.stderr)
    }
}

impl Replay {
    pub fn new(name: &str, input: &Path, config: &Path) -> Replay {
        Replay::into_dir(input, config, &scratch(name))
    }

    /// A replay writing its outputs to `out`.
    pub fn into_dir(input: &Path, config: &Path, out: &Path) -> Replay {
        let out = out.to_owned();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_labelgate"));
        cmd.arg("replay")
            .arg(input)
            .arg("--config")
            .arg(config)
            .arg("--out")
            .arg(&out)
            .arg("--stats-json")
            .arg(out.join("stats.json"));
        Replay { cmd, out }
    }

    pub fn workers(&mut self, n: usize) -> &mut Self {
        self.cmd.arg("--workers").arg(n.to_string());
        self
    }

    pub fn rx(&mut self, port: &str, file: &Path) -> &mut Self {
        self.cmd
            .arg("--rx")
            .arg(format!("{port}={}", file.display()));
        self
    }

    /// Runs the replay with a soft open-file limit of `n`, as on a machine
    /// with the usual defaults. Call it after every other argument.
    pub fn soft_nofile(&mut self, n: u64) -> &mut Self {
        let mut c = Command::new("prlimit");
        c.arg(format!("--nofile={n}:"))
            .arg("--")
            .arg(self.cmd.get_program())
            .args(self.cmd.get_args());
        self.cmd = c;
        self
    }

    /// Runs the replay; one that has not finished within [`DEADLINE`] is
    /// killed and fails the test, rather than hold the suite up.
    pub fn run(&mut self) -> Run {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let (out_log, err_log) = (self.out.join("stdout.log"), self.out.join("stderr.log"));
        let mut child = self
            .cmd
            .stdout(std::fs::File::create(&out_log).unwrap())
            .stderr(std::fs::File::create(&err_log).unwrap())
            .spawn()
            .expect("run labelgate");
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > DEADLINE {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "labelgate replay did not finish within {DEADLINE:?}: {:?}",
                    self.cmd
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let stats = std::fs::read_to_string(self.out.join("stats.json"))
            .map(|s| serde_json::from_str(&s).expect("stats JSON parses"))
            .unwrap_or(Value::Null);
        Run {
            status,
            stdout: std::fs::read_to_string(out_log).unwrap_or_default(),
            stderr: std::fs::read_to_string(err_log).unwrap_or_default(),
            out: self.out.clone(),
            stats,
        }
    }
}

/// The frames of a capture, bytes only.
pub fn frames(path: &Path) -> Vec<Vec<u8>> {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut r = pcap_file::pcap::PcapReader::new(f).unwrap();
    let mut out = Vec::new();
    while let Some(p) = r.next_packet() {
        out.push(p.unwrap().data.into_owned());
    }
    out
}

/// Where two frame lists first differ, shown in hex; `None` if equal.
pub fn hex_diff(got: &[Vec<u8>], want: &[Vec<u8>]) -> Option<String> {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if g != w {
            let at = g
                .iter()
                .zip(w.iter())
                .position(|(a, b)| a != b)
                .unwrap_or(g.len().min(w.len()));
            return Some(format!(
                "frame {i} differs at byte {at} (lengths {} and {})\n  got  {}\n  want {}",
                g.len(),
                w.len(),
                hex(g),
                hex(w)
            ));
        }
    }
    (got.len() != want.len()).then(|| format!("{} frames, expected {}", got.len(), want.len()))
}

/// Every number in `want` is the same in `got`, recursively.
pub fn assert_counters(name: &str, want: &Value, got: &Value, path: &str) {
    match want {
        Value::Object(m) => {
            for (k, v) in m {
                assert_counters(name, v, &got[k], &format!("{path}.{k}"));
            }
        }
        Value::Array(items) => {
            assert_eq!(
                got.as_array().map(Vec::len),
                Some(items.len()),
                "{name}: length of {path}"
            );
            for (i, v) in items.iter().enumerate() {
                assert_counters(name, v, &got[i], &format!("{path}[{i}]"));
            }
        }
        other => assert_eq!(got, other, "{name}: counter {path}"),
    }
}

/// Every ICMPv6 message the router wrote, checked by scapy.
pub fn check_icmp6(out: &Path) {
    let caps: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    let o = Command::new(PYTHON)
        .arg(fixtures().join("check-icmp6.py"))
        .args(&caps)
        .output()
        .expect("run check-icmp6.py");
    assert!(
        o.status.success(),
        "scapy finds faults in what the router wrote:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Writes a pcapng: an Ethernet interface with `first` packets, then, if
/// `then` is given, an interface of that link type and more packets.
pub fn pcapng(path: &Path, first: &[Vec<u8>], then: Option<(pcap_file::DataLink, usize)>) {
    use pcap_file::pcapng::PcapNgWriter;
    use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
    use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock;
    let idb = |linktype| InterfaceDescriptionBlock {
        linktype,
        snaplen: 65535,
        options: vec![],
    };
    let epb = |interface_id, data: &[u8]| EnhancedPacketBlock {
        interface_id,
        timestamp: Duration::from_secs(1),
        original_len: data.len() as u32,
        data: data.to_vec().into(),
        options: vec![],
    };
    let mut w = PcapNgWriter::new(std::fs::File::create(path).unwrap()).unwrap();
    w.write_pcapng_block(idb(pcap_file::DataLink::ETHERNET))
        .unwrap();
    for f in first {
        w.write_pcapng_block(epb(0, f)).unwrap();
    }
    if let Some((linktype, n)) = then {
        w.write_pcapng_block(idb(linktype)).unwrap();
        for f in first.iter().cycle().take(n) {
            w.write_pcapng_block(epb(1, f)).unwrap();
        }
    }
}

/// A child process killed if the test ends before it does, so that a
/// failing test never leaves a router busy-polling a core.
pub struct KillOnDrop(pub Option<std::process::Child>);

impl KillOnDrop {
    pub fn id(&self) -> u32 {
        self.0.as_ref().expect("running").id()
    }

    pub fn wait_with_output(mut self) -> std::process::Output {
        let child = self.0.take().expect("running");
        child.wait_with_output().unwrap()
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs the binary with `args` to its end, as `Replay::run` does: one at a
/// time, its output in files (so a chatty child never blocks on a pipe),
/// killed and failing the test past [`DEADLINE`].
pub fn labelgate(name: &str, args: &[&str]) -> Run {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let d = scratch(name);
    let (out_log, err_log) = (d.join("stdout.log"), d.join("stderr.log"));
    let mut child = KillOnDrop(Some(
        Command::new(env!("CARGO_BIN_EXE_labelgate"))
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&out_log).unwrap())
            .stderr(std::fs::File::create(&err_log).unwrap())
            .spawn()
            .expect("run labelgate"),
    ));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.0.as_mut().expect("running").try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "labelgate {args:?} did not finish within {DEADLINE:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    child.0 = None;
    Run {
        status,
        stdout: std::fs::read_to_string(out_log).unwrap_or_default(),
        stderr: std::fs::read_to_string(err_log).unwrap_or_default(),
        out: d,
        stats: Value::Null,
    }
}

/// `labelgate run` with `args`, its stderr in `err`, once it says it is
/// forwarding (failing the test if it has not within a minute).
pub fn start_run<S: AsRef<std::ffi::OsStr>>(args: &[S], err: &Path) -> KillOnDrop {
    let child = KillOnDrop(Some(
        Command::new(env!("CARGO_BIN_EXE_labelgate"))
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(err).unwrap())
            .spawn()
            .unwrap(),
    ));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(err)
        .unwrap_or_default()
        .contains("SIGINT or SIGTERM stops")
    {
        assert!(
            Instant::now() < deadline,
            "{}",
            std::fs::read_to_string(err).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// Sends a router SIGTERM, as an operator would, with the shell's own
/// kill: a minimal system has no kill executable.
pub fn sigterm(child: &KillOnDrop) {
    Command::new("sh")
        .arg("-c")
        .arg(format!("kill -TERM {}", child.id()))
        .status()
        .unwrap();
}

/// Stops a router with SIGTERM and asserts it ended cleanly.
pub fn stop_run(child: KillOnDrop, err: &Path) {
    sigterm(&child);
    let o = child.wait_with_output();
    assert!(
        o.status.success(),
        "{}",
        std::fs::read_to_string(err).unwrap_or_default()
    );
}
