//! The command line as people use it: clear errors with status 2 for bad
//! input, damaged captures counted rather than fatal, a million packets in
//! one replay, and `run` stopped by a signal.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use labelgate::dpdk::NO_SETUP;

use common::{KillOnDrop, PYTHON, Replay, fixtures, frames, pcapng, scratch, sigterm};

fn forward_fixture() -> (std::path::PathBuf, std::path::PathBuf) {
    let d = fixtures().join("forward");
    (d.join("in.port0.pcap"), d.join("router.conf"))
}

#[test]
fn missing_input_is_one_clear_error() {
    let (_, conf) = forward_fixture();
    let run = Replay::new("missing-input", Path::new("/nonexistent/in.pcap"), &conf).run();
    assert_eq!(run.status.code(), Some(2), "{}", run.log());
    assert_eq!(
        run.stderr.trim(),
        "labelgate: /nonexistent/in.pcap: No such file or directory (os error 2)"
    );
    assert!(!run.stderr.contains("panicked"));
}

#[test]
fn bad_config_names_file_and_line() {
    let (input, _) = forward_fixture();
    let d = scratch("bad-config");
    let conf = d.join("router.conf");
    std::fs::write(
        &conf,
        "addr add 2001:db8:ff::1/64 dev port0\n\nroute add 2001:db8::/32 via fe80::1\n",
    )
    .unwrap();
    let run = Replay::new("bad-config-run", &input, &conf).run();
    assert_eq!(run.status.code(), Some(2), "{}", run.log());
    assert_eq!(
        run.stderr.trim(),
        format!(
            "labelgate: {}:3: link-local gateway fe80::1 needs `dev portN` to say which link",
            conf.display()
        )
    );
    let run = Replay::new("missing-config-run", &input, &d.join("nope.conf")).run();
    assert_eq!(run.status.code(), Some(2), "{}", run.log());
    assert!(
        run.stderr
            .contains("nope.conf: cannot read the configuration"),
        "{}",
        run.log()
    );
}

#[test]
fn not_a_capture_is_refused() {
    let (_, conf) = forward_fixture();
    let d = scratch("not-a-capture");
    let junk = d.join("junk.pcap");
    std::fs::write(&junk, b"GET / HTTP/1.1\r\nHost: example\r\n\r\n").unwrap();
    let run = Replay::new("not-a-capture-run", &junk, &conf).run();
    assert_eq!(run.status.code(), Some(2), "{}", run.log());
    assert!(
        run.stderr.contains("junk.pcap: not a readable capture"),
        "{}",
        run.log()
    );
}

#[test]
fn bad_arguments_exit_2() {
    let (input, conf) = forward_fixture();
    let run = Replay::new("bad-workers", &input, &conf).workers(17).run();
    assert_eq!(run.status.code(), Some(2), "{}", run.log());
    assert!(
        run.stderr
            .contains("--workers 17: replay runs 1 to 16 workers")
    );
    let run = Replay::new("bad-rx", &input, &conf)
        .rx("eth1", &input)
        .run();
    assert_eq!(run.status.code(), Some(2), "{}", run.log());
    assert!(run.stderr.contains("`eth1` is not a port"), "{}", run.log());
}

/// A capture cut off in the middle of a record, and one whose third record
/// claims more bytes than libpcap accepts: the readable packets are
/// replayed and accounted, nothing panics.
#[test]
fn damaged_captures_are_replayed_up_to_the_damage() {
    let (input, conf) = forward_fixture();
    let bytes = std::fs::read(&input).unwrap();
    let total = frames(&input).len();
    let d = scratch("damaged");
    let cut = d.join("cut.pcap");
    std::fs::write(&cut, &bytes[..bytes.len() - 7]).unwrap();
    let run = Replay::new("damaged-cut", &cut, &conf).run();
    assert!(run.status.success(), "{}", run.log());
    assert!(
        run.stderr.contains("ends in the middle of a record"),
        "{}",
        run.log()
    );
    assert_eq!(run.stats["fates"]["received"], total as u64 - 1);
    assert_eq!(run.stats["fates"]["forwarded"], total as u64 - 1);
    assert_eq!(run.stats["conserved"], true);

    // Records start after the 24-byte file header; the third record's
    // header holds its captured length at offset 8.
    let mut huge = bytes.clone();
    let mut at = 24;
    for _ in 0..2 {
        let incl = u32::from_le_bytes(huge[at + 8..at + 12].try_into().unwrap()) as usize;
        at += 16 + incl;
    }
    huge[at + 8..at + 12].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    let bogus = d.join("bogus.pcap");
    std::fs::write(&bogus, &huge).unwrap();
    let run = Replay::new("damaged-huge", &bogus, &conf).run();
    assert!(run.status.success(), "{}", run.log());
    assert_eq!(run.stats["fates"]["received"], 2);
    assert_eq!(run.stats["conserved"], true);
    assert!(!run.stderr.contains("panicked"));
}

/// The yardstick: a capture of a million packets is forwarded
/// whole in seconds, and every mbuf is back at the end.
#[test]
fn a_million_packets() {
    let d = scratch("million");
    let input = d.join("1m.pcap");
    let made = Command::new(PYTHON)
        .arg(common::root().join("perf/gen-flows.py"))
        .arg(&input)
        .args(["--packets", "1000000", "--flows", "4096"])
        .status()
        .unwrap();
    assert!(made.success());
    let started = Instant::now();
    let run = Replay::new(
        "million-run",
        &input,
        &common::root().join("perf/router.conf"),
    )
    .run();
    assert!(run.status.success(), "{}", run.log());
    let s = &run.stats;
    assert_eq!(s["fates"]["received"], 1_000_000);
    assert_eq!(s["fates"]["forwarded"], 1_000_000);
    assert_eq!(s["interfaces"]["port1"]["hw"]["opackets"], 1_000_000);
    assert_eq!(
        s["replay"]["outputs"][run.out.join("port1.pcap").to_str().unwrap()],
        1_000_000
    );
    assert_eq!(s["mbufs_in_use_at_exit"], 0);
    assert!(
        run.stdout.contains("replayed 1000000 packets"),
        "{}",
        run.log()
    );
    eprintln!(
        "a million packets replayed in {:?} (debug build)",
        started.elapsed()
    );
    let _ = std::fs::remove_file(&input);
}

/// `run` with any PMD: here net_pcap ports given as EAL arguments and the
/// lcore map from the config; SIGTERM stops it cleanly, with counters.
#[test]
fn run_stops_on_sigterm() {
    let (input, _) = forward_fixture();
    let d = scratch("run");
    let conf = d.join("router.conf");
    let base = std::fs::read_to_string(fixtures().join("forward/router.conf")).unwrap();
    std::fs::write(&conf, base + "worker 1 rx port0/0 port1/0 port2/0\n").unwrap();
    let out: Vec<_> = (0..3).map(|p| d.join(format!("out{p}.pcap"))).collect();
    let mut vdevs = vec![];
    for (p, o) in out.iter().enumerate() {
        let rx = if p == 0 {
            format!("rx_pcap={},", input.display())
        } else {
            String::new()
        };
        vdevs.push("--vdev".to_string());
        vdevs.push(format!("net_pcap{p},{rx}tx_pcap={}", o.display()));
    }
    let stats = d.join("stats.json");
    let child = KillOnDrop(Some(
        Command::new(env!("CARGO_BIN_EXE_labelgate"))
            .arg("run")
            .arg("--config")
            .arg(&conf)
            .arg("--stats-json")
            .arg(&stats)
            .arg("--")
            .args(NO_SETUP)
            .args(["-l", "0-1", "-m", "256", "--log-level=warning"])
            .args(&vdevs)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    ));
    let want = frames(&input).len() as u64;
    let deadline = Instant::now() + Duration::from_secs(30);
    // The port's output file is flushed every burst; wait until it holds
    // everything, then stop the router.
    while frames_or_zero(&out[1]) < want as usize && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    sigterm(&child);
    let o = child.wait_with_output();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{log}");
    assert!(log.contains("SIGINT or SIGTERM stops"), "{log}");
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(s["fates"]["received"], want);
    assert_eq!(s["fates"]["forwarded"], want);
    assert_eq!(s["conserved"], true);
    assert_eq!(s["mbufs_in_use_at_exit"], 0);
    assert_eq!(
        frames(&out[1]),
        frames(&fixtures().join("forward/expect.port1.pcap"))
    );
}

/// Complete frames in a capture still being written.
fn frames_or_zero(p: &Path) -> usize {
    let Some(mut r) = std::fs::File::open(p)
        .ok()
        .and_then(|f| pcap_file::pcap::PcapReader::new(f).ok())
    else {
        return 0;
    };
    let mut n = 0;
    while let Some(Ok(_)) = r.next_packet() {
        n += 1;
    }
    n
}

/// net_pcap opens its outputs (truncating them) before it reads its
/// inputs: replaying an earlier output into the same directory would
/// destroy it, so replay refuses, and the file is left whole.
#[test]
fn an_input_that_would_be_overwritten_is_refused() {
    let (input, conf) = forward_fixture();
    let d = scratch("overwrite");
    let prior = d.join("port0.pcap");
    std::fs::copy(&input, &prior).unwrap();
    let before = std::fs::read(&prior).unwrap();
    let run = Replay::into_dir(&prior, &conf, &d).run();
    assert_eq!(run.status.code(), Some(2), "{}", run.log());
    assert!(
        run.stderr.contains("replay writes its outputs there"),
        "{}",
        run.log()
    );
    assert_eq!(
        std::fs::read(&prior).unwrap(),
        before,
        "the input is untouched"
    );
}

#[test]
fn pcapng_link_types_are_checked_where_the_interfaces_are_declared() {
    let (input, conf) = forward_fixture();
    let fs = frames(&input);
    let d = scratch("pcapng");

    let good = d.join("good.pcapng");
    pcapng(&good, &fs, None);
    let run = Replay::new("pcapng-good", &good, &conf).run();
    assert!(run.status.success(), "{}", run.log());
    assert_eq!(run.stats["fates"]["forwarded"], fs.len() as u64);

    let raw = d.join("raw.pcapng");
    pcapng(&raw, &[], Some((pcap_file::DataLink::RAW, 5)));
    let run = Replay::new("pcapng-raw", &raw, &conf).run();
    assert_eq!(run.status.code(), Some(2), "{}", run.log());
    assert!(run.stderr.contains("not Ethernet"), "{}", run.log());

    // A non-Ethernet interface part-way: exactly the packets before it
    // are replayed, every time.
    let mixed = d.join("mixed.pcapng");
    pcapng(&mixed, &fs, Some((pcap_file::DataLink::RAW, 2000)));
    for i in 0..3 {
        let run = Replay::new(&format!("pcapng-mixed-{i}"), &mixed, &conf).run();
        assert!(run.status.success(), "{}", run.log());
        assert!(run.stderr.contains("not Ethernet"), "{}", run.log());
        assert_eq!(
            run.stats["fates"]["received"],
            fs.len() as u64,
            "{}",
            run.log()
        );
    }
}

#[test]
fn config_values_that_would_overflow_are_refused() {
    let (input, _) = forward_fixture();
    let d = scratch("overflow");
    for (text, want) in [
        (
            "worker 1 rx port0/65535\n",
            ":1: queue 65535 is out of range",
        ),
        (
            "sysctl net.inet6.icmp6.nd6_retrans=18446744073709551615\n",
            ":1: net.inet6.icmp6.nd6_retrans must be 1..60000",
        ),
    ] {
        let conf = d.join("router.conf");
        std::fs::write(&conf, text).unwrap();
        let run = Replay::new("overflow-run", &input, &conf).run();
        assert_eq!(run.status.code(), Some(2), "{}", run.log());
        assert!(run.stderr.contains(want), "{}", run.log());
    }
}
