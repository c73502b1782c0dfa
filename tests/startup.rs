//! What a new user meets first: every setting the README calls valid
//! starts (worker counts, MTUs, port counts, frames up to the capture
//! limit), odd captures replay one way whatever the worker count, and
//! mistakes in ports and arguments are one clear line with status 2,
//! found before DPDK starts where they can be.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use labelgate::dpdk::NO_SETUP;

use common::{
    PYTHON, Replay, fixtures, frames, labelgate, pcapng, root, scratch, start_run, stop_run,
};

fn forward() -> (PathBuf, PathBuf) {
    let d = fixtures().join("forward");
    (d.join("in.port0.pcap"), d.join("router.conf"))
}

/// The forward fixture's configuration with `extra` appended.
fn config_with(dir: &Path, extra: &str) -> PathBuf {
    let base = std::fs::read_to_string(forward().1).unwrap();
    let p = dir.join("router.conf");
    std::fs::write(&p, base + extra).unwrap();
    p
}

/// A frame of `len` bytes from a host on port0 to 2001:db8:1::5, which the
/// forward fixture routes out of port1; its payload length is what the
/// frame holds past the IPv6 header, up to 65,535.
fn udp_frame(len: usize) -> Vec<u8> {
    let mut f = vec![0u8; len];
    f[0..6].copy_from_slice(&[2, 0, 0, 0, 0, 0x10]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0xaa, 2]);
    f[12..14].copy_from_slice(&[0x86, 0xdd]);
    f[14] = 0x60;
    let plen = (len - 54).min(65_535) as u16;
    f[18..20].copy_from_slice(&plen.to_be_bytes());
    f[20] = 17;
    f[21] = 64;
    let src: std::net::Ipv6Addr = "2001:db8:ff::2".parse().unwrap();
    let dst: std::net::Ipv6Addr = "2001:db8:1::5".parse().unwrap();
    f[22..38].copy_from_slice(&src.octets());
    f[38..54].copy_from_slice(&dst.octets());
    f
}

/// A classic pcap written byte by byte, so that its version, snapshot
/// length and record lengths are exactly what a test says.
fn raw_pcap(path: &Path, version: (u16, u16), snaplen: u32, records: &[Vec<u8>]) {
    let mut b = Vec::new();
    b.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    b.extend_from_slice(&version.0.to_le_bytes());
    b.extend_from_slice(&version.1.to_le_bytes());
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&snaplen.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    for (i, r) in records.iter().enumerate() {
        b.extend_from_slice(&(i as u32 + 1).to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&(r.len() as u32).to_le_bytes());
        b.extend_from_slice(&(r.len() as u32).to_le_bytes());
        b.extend_from_slice(r);
    }
    std::fs::write(path, b).unwrap();
}

/// Each record's captured and original length.
fn records(path: &Path) -> Vec<(usize, u32)> {
    let f = std::fs::File::open(path).unwrap();
    let mut r = pcap_file::pcap::PcapReader::new(f).unwrap();
    let mut out = Vec::new();
    while let Some(p) = r.next_packet() {
        let p = p.unwrap();
        out.push((p.data.len(), p.orig_len));
    }
    out
}

fn assert_ok(run: &common::Run) {
    assert!(run.status.success(), "{}", run.log());
    assert_eq!(run.stats["conserved"], true, "{}", run.log());
    assert_eq!(run.stats["mbufs_in_use_at_exit"], 0, "{}", run.log());
}

#[test]
fn every_worker_count_the_readme_allows_starts() {
    let (input, conf) = forward();
    let want = frames(&input).len() as u64;
    for w in 1..=16 {
        let run = Replay::new(&format!("workers-{w}"), &input, &conf)
            .workers(w)
            .run();
        assert_ok(&run);
        assert_eq!(run.stats["fates"]["forwarded"], want, "{w} workers");
        assert!(
            run.stdout.contains(&format!(
                "with {w} worker{} in",
                if w == 1 { "" } else { "s" }
            )),
            "{}",
            run.log()
        );
    }
}

#[test]
fn every_mtu_starts_and_carries_its_largest_frame() {
    let d = scratch("mtus");
    for mtu in [1280usize, 1500, 4078, 4079, 9000, 16_384, 65_535] {
        let conf = config_with(
            &d,
            &(0..3)
                .map(|p| format!("link set port{p} mtu {mtu}\n"))
                .collect::<String>(),
        );
        // The longest frame the MTU allows, within what net_pcap carries.
        let input = d.join(format!("in-{mtu}.pcap"));
        let f = udp_frame((mtu + 14).min(65_535));
        raw_pcap(&input, (2, 4), 262_144, &[f.clone(), udp_frame(100), f]);
        for w in [1, 2] {
            let run = Replay::new(&format!("mtu-{mtu}-{w}"), &input, &conf)
                .workers(w)
                .run();
            assert_ok(&run);
            assert_eq!(
                run.stats["fates"]["forwarded"],
                3,
                "MTU {mtu}, {w} workers: {}",
                run.log()
            );
        }
    }
    let jumbo = fixtures().join("jumbo");
    for w in [1, 2, 4] {
        let run = Replay::new(
            &format!("jumbo-{w}"),
            &jumbo.join("in.port0.pcap"),
            &jumbo.join("router.conf"),
        )
        .workers(w)
        .run();
        assert_ok(&run);
    }
}

/// Records up to libpcap's limit of 262,144 bytes replay: those longer
/// than net_pcap's 65,535 are cut to it, counted in a warning, and then
/// meet ip6_input like any truncated packet; a longer one is damage.
#[test]
fn frames_up_to_the_capture_limit() {
    let d = scratch("long-frames");
    let conf = config_with(&d, "link set port1 mtu 65535\n");
    let input = d.join("long.pcap");
    let exact = udp_frame(65_535);
    let mut over = udp_frame(65_535);
    over.resize(70_000, 0);
    let mut limit = udp_frame(65_535);
    limit.resize(262_144, 0);
    let mut beyond = udp_frame(65_535);
    beyond.resize(262_145, 0);
    raw_pcap(
        &input,
        (2, 4),
        262_144,
        &[exact.clone(), over, limit, udp_frame(60), beyond, exact],
    );
    for w in [1, 2] {
        let run = Replay::new(&format!("long-frames-{w}"), &input, &conf)
            .workers(w)
            .run();
        assert_ok(&run);
        assert!(
            run.stderr
                .contains("2 records longer than the 65535 bytes net_pcap can carry, cut to that"),
            "{}",
            run.log()
        );
        assert!(
            run.stderr.contains("more than libpcap reads"),
            "{}",
            run.log()
        );
        let f = &run.stats["fates"];
        assert_eq!(f["received"], 4, "{}", run.log());
        assert_eq!(f["forwarded"], 4, "cut to 65,535 bytes, they are whole");
        // net_pcap writes at most 16,128 bytes of a frame into its output
        // (RTE_ETHER_MAX_JUMBO_FRAME_LEN), with the frame's whole length as
        // the record's original length.
        assert_eq!(
            records(&run.out.join("port1.pcap")),
            vec![
                (16_128, 65_535),
                (16_128, 65_535),
                (16_128, 65_535),
                (60, 60)
            ]
        );
    }
}

#[test]
fn the_highest_port_number_starts() {
    let d = scratch("port31");
    let conf = config_with(
        &d,
        &(3..32)
            .map(|p| format!("link set port{p} up\n"))
            .collect::<String>(),
    );
    let (input, _) = forward();
    let run = Replay::into_dir(&input, &conf, &d).run();
    assert_ok(&run);
    assert!(d.join("port31.pcap").exists());
    assert_eq!(run.stats["fates"]["forwarded"], frames(&input).len() as u64);
}

#[test]
fn a_pcapng_block_libpcap_refuses_is_damage() {
    let (input, conf) = forward();
    let fs = frames(&input);
    let d = scratch("pcapng-huge");
    let mut huge = fs[0].clone();
    huge.resize(300_000, 0);
    let p = d.join("huge.pcapng");
    pcapng(
        &p,
        &[fs[0].clone(), fs[1].clone(), huge, fs[2].clone()],
        None,
    );
    let run = Replay::new("pcapng-huge-run", &p, &conf).run();
    assert_ok(&run);
    assert!(
        run.stderr.contains(
            "a record claims 300000 bytes, more than libpcap reads (262144) after 2 packets"
        ),
        "{}",
        run.log()
    );
    assert_eq!(run.stats["fates"]["received"], 2);
}

/// libpcap cuts a record longer than the file's snapshot length to it;
/// replay does the same whether one worker reads the file or several read
/// it split.
#[test]
fn a_snaplen_shorter_than_the_records_replays_alike_with_any_worker_count() {
    let (input, conf) = forward();
    let fs = frames(&input);
    let d = scratch("snaplen");
    let p = d.join("snap80.pcap");
    raw_pcap(&p, (2, 4), 80, &fs);
    let longer = fs.iter().filter(|f| f.len() > 80).count();
    assert!(longer > 0, "the fixture has frames longer than 80 bytes");
    let mut seen = Vec::new();
    for w in [1, 2, 3] {
        let run = Replay::new(&format!("snaplen-{w}"), &p, &conf)
            .workers(w)
            .run();
        assert_ok(&run);
        assert!(
            run.stderr.contains(&format!(
                "{longer} records longer than the capture's snapshot length, cut to it"
            )),
            "{}",
            run.log()
        );
        let mut out: Vec<Vec<u8>> = (0..3)
            .flat_map(|port| frames(&run.out.join(format!("port{port}.pcap"))))
            .collect();
        out.sort();
        seen.push((
            run.stats["fates"].clone(),
            run.stats["ip6stat"].clone(),
            out,
        ));
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[0], seen[2]);
    assert_eq!(
        seen[0].0["drops"]["tooshort"], longer as u64,
        "cut packets are shorter than their payload length says"
    );
}

#[test]
fn a_pcap_version_libpcap_refuses_is_named_before_dpdk_starts() {
    let (input, conf) = forward();
    let d = scratch("version");
    let p = d.join("v3.pcap");
    raw_pcap(&p, (3, 0), 262_144, &frames(&input));
    let run = Replay::new("version-run", &p, &conf).run();
    assert_eq!(run.status.code(), Some(2), "{}", run.log());
    assert_eq!(
        run.stderr.trim(),
        format!(
            "labelgate: {}: pcap version 3.0, which libpcap does not read (it reads 2.0 to 2.4)",
            p.display()
        )
    );
    assert!(!run.stderr.contains("EAL"), "{}", run.log());
}

#[test]
fn a_port_is_one_the_configuration_declares() {
    let (input, conf) = forward();
    let run = Replay::new("rx-undeclared", &input, &conf)
        .rx("port5", &input)
        .run();
    assert_eq!(run.status.code(), Some(2), "{}", run.log());
    assert!(
        run.stderr.contains(&format!(
            "--rx port5={}: {} declares port0..port2, not port5",
            input.display(),
            conf.display()
        )),
        "{}",
        run.log()
    );
    let d = scratch("route-undeclared");
    let bad = config_with(&d, "route add 2001:db8:99::/48 dev port9\n");
    let run = Replay::new("route-undeclared-run", &input, &bad).run();
    assert_eq!(run.status.code(), Some(2), "{}", run.log());
    assert!(
        run.stderr
            .contains("port9 is not declared (add `link set port9 up`)"),
        "{}",
        run.log()
    );
    assert!(!d.join("port3.pcap").exists(), "no port was made up");
}

/// The EAL arguments that need no set-up (`dpdk::NO_SETUP`), quiet.
const NO_HUGE: [&str; 5] = [
    NO_SETUP[0],
    NO_SETUP[1],
    NO_SETUP[2],
    NO_SETUP[3],
    "--log-level=warning",
];

/// `--eal` takes the EAL's arguments as one string: they reach DPDK (which
/// here finds no port, as none is given).
#[test]
fn eal_arguments_as_one_string_reach_dpdk() {
    let conf = forward().1;
    let eal = format!("{} -l 0-1", NO_HUGE.join(" "));
    let run = labelgate(
        "eal-string",
        &["run", "--config", conf.to_str().unwrap(), "--eal", &eal],
    );
    assert_eq!(run.status.code(), Some(2), "{}", run.log());
    assert!(
        run.stderr
            .contains("declares port0..port2 but DPDK found 0 ports"),
        "{}",
        run.log()
    );
}

#[test]
fn bad_run_arguments_exit_2() {
    let conf = forward().1;
    let conf = conf.to_str().unwrap();
    let run = labelgate(
        "interval-0",
        &["run", "--config", conf, "--stats-interval", "0", "--"],
    );
    assert_eq!(run.status.code(), Some(2), "{}", run.log());
    assert!(run.stderr.contains("--stats-interval"), "{}", run.log());

    let run = labelgate(
        "extra-mbufs-too-many",
        &["run", "--config", conf, "--extra-mbufs", "16777217", "--"],
    );
    assert_eq!(run.status.code(), Some(2), "{}", run.log());
    assert!(run.stderr.contains("--extra-mbufs"), "{}", run.log());

    let mut args = vec!["run", "--config", conf, "--"];
    args.extend(NO_HUGE);
    args.push("--no-such-eal-option");
    let run = labelgate("bad-eal", &args);
    assert_eq!(run.status.code(), Some(2), "{}", run.log());
    assert!(
        run.stderr.contains("DPDK refused the EAL arguments"),
        "{}",
        run.log()
    );

    let mut args = vec!["run", "--config", conf, "--"];
    args.extend(NO_HUGE);
    args.extend(["--vdev", "net_nonesuch0"]);
    let run = labelgate("bad-vdev", &args);
    assert_eq!(run.status.code(), Some(2), "{}", run.log());
    assert!(
        run.stderr.contains("DPDK refused the EAL arguments"),
        "{}",
        run.log()
    );
}

#[test]
fn an_unwritable_stats_path_is_refused_before_anything_starts() {
    let (input, conf) = forward();
    let d = scratch("unwritable-stats");
    let bad = d.join("no/such/dir/stats.json");
    let run = labelgate(
        "unwritable-stats-replay",
        &replay_args(&input, &conf, &d, &bad),
    );
    assert_eq!(run.status.code(), Some(2), "{}", run.log());
    assert!(
        run.stderr.contains(&format!(
            "--stats-json {}: cannot write there",
            bad.display()
        )),
        "{}",
        run.log()
    );
    assert!(!run.stderr.contains("EAL"), "{}", run.log());
    assert!(
        !d.join("port0.pcap").exists(),
        "replay did not start: {}",
        run.log()
    );
    let mut args = vec![
        "run",
        "--config",
        conf.to_str().unwrap(),
        "--stats-json",
        bad.to_str().unwrap(),
        "--",
    ];
    args.extend(NO_HUGE);
    let run = labelgate("unwritable-stats-run", &args);
    assert_eq!(run.status.code(), Some(2), "{}", run.log());
    assert!(
        run.stderr.contains(&format!(
            "--stats-json {}: cannot write there",
            bad.display()
        )),
        "{}",
        run.log()
    );
    assert!(!run.stderr.contains("EAL"), "{}", run.log());
}

/// `replay INPUT --config CONF --out OUT --stats-json STATS`.
fn replay_args<'a>(
    input: &'a Path,
    conf: &'a Path,
    out: &'a Path,
    stats: &'a Path,
) -> [&'a str; 8] {
    let s = |p: &'a Path| p.to_str().unwrap();
    [
        "replay",
        s(input),
        "--config",
        s(conf),
        "--out",
        s(out),
        "--stats-json",
        s(stats),
    ]
}

/// The counters may go into an output directory replay has yet to make.
#[test]
fn stats_may_go_into_a_new_output_directory() {
    let (input, conf) = forward();
    let d = scratch("new-out").join("not/yet/made");
    let stats = d.join("stats.json");
    let run = labelgate("new-out-run", &replay_args(&input, &conf, &d, &stats));
    assert!(run.status.success(), "{}", run.log());
    assert!(stats.exists());
}

/// With every port fed and sixteen workers, net_pcap opens more capture
/// files than the usual soft limit of 1024 allows: replay raises it.
#[test]
fn many_ports_and_workers_fit_in_the_open_file_limit() {
    let d = scratch("nofile");
    let conf = config_with(
        &d,
        &(3..32)
            .map(|p| format!("link set port{p} up\n"))
            .collect::<String>(),
    );
    let (input, _) = forward();
    let out = d.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let mut replay = Replay::into_dir(&input, &conf, &out);
    replay.workers(16);
    for p in 1..32 {
        replay.rx(&format!("port{p}"), &input);
    }
    let run = replay.soft_nofile(1024).run();
    assert_ok(&run);
    assert_eq!(
        run.stats["fates"]["received"],
        32 * frames(&input).len() as u64
    );
}

/// A failed run leaves no empty counters file behind where there was none.
#[test]
fn a_stats_file_is_not_left_empty_by_a_failed_start() {
    let (input, _) = forward();
    let d = scratch("stats-left");
    let conf = d.join("bad.conf");
    std::fs::write(&conf, "frobnicate\n").unwrap();
    let run = Replay::new("stats-left-run", &input, &conf).run();
    assert_eq!(run.status.code(), Some(2), "{}", run.log());
    assert!(!run.out.join("stats.json").exists());
}

fn hugepages_reserved() -> u64 {
    std::fs::read_dir("/sys/kernel/mm/hugepages")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter_map(|d| std::fs::read_to_string(d.path().join("nr_hugepages")).ok())
                .filter_map(|n| n.trim().parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0)
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// As root on a machine with no hugepages reserved (CI's), `run` says so
/// rather than DPDK's "Permission denied".
#[test]
fn missing_hugepages_are_named() {
    if !is_root() || hugepages_reserved() > 0 {
        eprintln!("skipped: needs root and no hugepages reserved");
        return;
    }
    let conf = forward().1;
    let run = labelgate(
        "no-hugepages",
        &[
            "run",
            "--config",
            conf.to_str().unwrap(),
            "--",
            "--no-pci",
            "--no-shconf",
            "--no-telemetry",
        ],
    );
    assert_eq!(run.status.code(), Some(1), "{}", run.log());
    assert!(
        run.stderr
            .contains("no hugepages are reserved on this machine"),
        "{}",
        run.log()
    );
}

/// Without hugepages DPDK has 64 MB unless `-m` says more: when the pool
/// needs more, `run` says which `-m` it needs, and with it the router
/// starts.
#[test]
fn run_without_hugepages_says_what_memory_it_needs() {
    let d = scratch("run-memory");
    let conf = config_with(
        &d,
        &(3..32)
            .map(|p| format!("link set port{p} up\n"))
            .collect::<String>(),
    );
    let conf = conf.to_str().unwrap();
    let vdevs: Vec<String> = (0..32).map(|p| format!("net_null{p}")).collect();
    let mut args = vec!["run", "--config", conf, "--"];
    args.extend(NO_HUGE);
    args.extend(["-l", "0-1"]);
    for v in &vdevs {
        args.extend(["--vdev", v.as_str()]);
    }
    let run = labelgate("run-memory-short", &args);
    assert_eq!(run.status.code(), Some(2), "{}", run.log());
    let at = run
        .stderr
        .find("give the EAL `-m ")
        .unwrap_or_else(|| panic!("no -m advice: {}", run.log()));
    let mb: String = run.stderr[at + "give the EAL `-m ".len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let mb: usize = mb.parse().unwrap();
    assert!(mb > 64, "{}", run.log());

    let mb = mb.to_string();
    args.extend(["-m", mb.as_str()]);
    let err = d.join("stderr.log");
    let child = start_run(&args, &err);
    stop_run(child, &err);
}

/// net_pcap's infinite_rx keeps its whole capture in mbufs of the port's
/// pool: `run` needs `--extra-mbufs` for them, and with it forwards.
#[test]
fn extra_mbufs_make_room_for_a_driver_that_keeps_packets() {
    let d = scratch("extra-mbufs");
    let cap = d.join("flows.pcap");
    let ok = std::process::Command::new(PYTHON)
        .arg(root().join("perf/gen-flows.py"))
        .arg(&cap)
        .args(["--packets", "20000", "--flows", "64"])
        .status()
        .unwrap();
    assert!(ok.success());
    let conf = d.join("router.conf");
    let base = std::fs::read_to_string(root().join("perf/router.conf")).unwrap();
    std::fs::write(&conf, base + "worker 1 rx port0/0 port1/0\n").unwrap();
    let vdev0 = format!("net_pcap0,rx_pcap={},infinite_rx=1", cap.display());
    let args = |extra: &'static str| {
        let mut a = vec![
            "run".to_string(),
            "--config".into(),
            conf.display().to_string(),
            "--stats-json".into(),
            d.join(format!("stats-{extra}.json")).display().to_string(),
            "--extra-mbufs".into(),
            extra.into(),
            "--".into(),
        ];
        a.extend(NO_HUGE.iter().map(|s| s.to_string()));
        a.extend(
            [
                "-l",
                "0-1",
                "-m",
                "512",
                "--vdev",
                &vdev0,
                "--vdev",
                "net_null1",
            ]
            .map(String::from),
        );
        a
    };
    let short = args("0");
    let run = labelgate(
        "extra-mbufs-none",
        &short.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!(run.status.code(), Some(1), "{}", run.log());
    let err = d.join("stderr.log");
    let child = start_run(&args("20000"), &err);
    // Let it forward a while: infinite_rx replays the capture for ever.
    std::thread::sleep(Duration::from_millis(300));
    stop_run(child, &err);
    let stats: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("stats-20000.json")).unwrap())
            .unwrap();
    assert!(stats["fates"]["forwarded"].as_u64().unwrap() > 0, "{stats}");
    assert_eq!(stats["conserved"], true);
    assert_eq!(stats["mbufs_in_use_at_exit"], 0);
}

/// The scripts find Debian's Python, the one with scapy, even when another
/// `python3` comes first on PATH.
#[test]
fn scripts_run_with_debians_python_whatever_is_first_on_path() {
    let d = scratch("path-python");
    let fake = d.join("bin");
    std::fs::create_dir_all(&fake).unwrap();
    std::os::unix::fs::symlink("/bin/false", fake.join("python3")).unwrap();
    let path = format!("{}:{}", fake.display(), std::env::var("PATH").unwrap());
    let out = d.join("flows.pcap");
    let ok = std::process::Command::new(root().join("perf/gen-flows.py"))
        .arg(&out)
        .args(["--packets", "10", "--flows", "2"])
        .env("PATH", &path)
        .status()
        .unwrap();
    assert!(ok.success());
    assert_eq!(frames(&out).len(), 10);
    let ok = std::process::Command::new(fixtures().join("check-icmp6.py"))
        .arg(&out)
        .env("PATH", &path)
        .status()
        .unwrap();
    assert!(ok.success());
    for script in [
        root().join("perf/gen-flows.py"),
        fixtures().join("check-icmp6.py"),
        fixtures().join("make-fixtures.py"),
    ] {
        let text = std::fs::read_to_string(&script).unwrap();
        assert!(
            text.starts_with(&format!("#!{PYTHON}\n")),
            "{} runs with {PYTHON}",
            script.display()
        );
    }
}

/// The README is read in a clone, which has no `../shared`.
#[test]
fn the_readme_stands_alone() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(
        !readme.contains("../shared"),
        "README points outside the repository"
    );
    assert!(readme.contains("rustup"), "README says how to get Rust");
}
