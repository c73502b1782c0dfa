//! End to end: every fixture in `pcap-fixtures/` through the real
//! `labelgate replay` on real net_pcap ports, its outputs compared frame by
//! frame with what scapy built from FreeBSD's rules, its counters with the
//! fixture's, and every ICMPv6 message checked by scapy again.

mod common;

use common::{Replay, frames, hex_diff};
use serde_json::Value;

/// Runs one fixture and checks everything it promises.
fn fixture(name: &str) {
    fixture_with(name, "", "");
}

/// Runs a fixture with `extra` appended to its configuration (a policy
/// that must change nothing it decides; `tag` names the run's scratch
/// directories), checks everything it promises, and returns the counters.
fn fixture_with(name: &str, tag: &str, extra: &str) -> Value {
    let dir = common::fixtures().join(name);
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("fixture.json")).unwrap()).unwrap();
    let inputs = meta["inputs"].as_object().unwrap();
    let mut config = dir.join("router.conf");
    let run_name = if extra.is_empty() {
        name.to_string()
    } else {
        let d = common::scratch(&format!("{name}-{tag}-conf"));
        let text = std::fs::read_to_string(&config).unwrap() + extra;
        config = d.join("router.conf");
        std::fs::write(&config, text).unwrap();
        format!("{name}-{tag}")
    };
    let mut replay = Replay::new(
        &run_name,
        &dir.join(inputs["port0"].as_str().unwrap()),
        &config,
    );
    replay.workers(meta["workers"].as_u64().unwrap() as usize);
    for (port, file) in inputs.iter().filter(|(p, _)| *p != "port0") {
        replay.rx(port, &dir.join(file.as_str().unwrap()));
    }
    let run = replay.run();
    assert!(run.status.success(), "{name}: replay failed\n{}", run.log());
    let ordered = meta["ordered"].as_bool().unwrap();
    for port in meta["outputs"].as_array().unwrap() {
        let port = port.as_str().unwrap();
        let mut got = frames(&run.out.join(format!("{port}.pcap")));
        let mut want = frames(&dir.join(format!("expect.{port}.pcap")));
        if !ordered {
            got.sort();
            want.sort();
        }
        if let Some(diff) = hex_diff(&got, &want) {
            panic!(
                "{name}: {port} differs from what FreeBSD would send: {diff}\n{}",
                run.log()
            );
        }
    }
    common::assert_counters(name, &meta["counters"], &run.stats, "");
    assert_eq!(
        run.stats["conserved"],
        true,
        "{name}: conservation\n{}",
        run.log()
    );
    assert_eq!(
        run.stats["mbufs_in_use_at_exit"], 0,
        "{name}: mbufs not returned"
    );
    common::check_icmp6(&run.out);
    run.stats
}

/// One test per fixture; `every_fixture_has_a_test` keeps the list whole.
macro_rules! fixtures {
    ($($name:ident),* $(,)?) => {
        $( #[test] fn $name() { fixture(stringify!($name)); } )*
        const NAMES: &[&str] = &[$(stringify!($name)),*];
    };
}

fixtures!(
    forward,
    malformed,
    jumbo,
    multiport,
    workers,
    hoplimit,
    stealth,
    noroute,
    blackhole_reject,
    cantforward,
    scope,
    scope_shared_zone,
    mtu,
    redirects,
    redirects_off,
    pointopoint,
    loopback,
    filters,
    nd6,
    ratelimit,
    hopopts,
    mac_mls,
    mac_biba,
    mac_mls_biba,
    mac_ifoff,
    mac_ifoff_other,
);

/// The test policy (FreeBSD's mac_test) changes no decision and, over every
/// fixture, finds every label initialised and destroyed exactly once and
/// no label used after its end.
#[test]
fn every_fixture_under_the_test_policy() {
    for name in NAMES {
        let stats = fixture_with(name, "test", "mac load test\n");
        let policies = stats["mac"]["policies"].as_array().unwrap();
        let test = policies
            .iter()
            .find(|p| p["name"] == "test")
            .unwrap_or_else(|| panic!("{name}: the test policy is not reported"));
        let counters = test["counters"].as_object().unwrap();
        assert!(
            counters["mbuf_init_label"].as_u64().unwrap()
                >= stats["fates"]["received"].as_u64().unwrap(),
            "{name}: every received packet was labelled: {counters:?}"
        );
        for (k, v) in counters {
            if k.ends_with("_labels_live")
                || ["double_destroy", "use_after_destroy", "corrupted"].contains(&k.as_str())
            {
                assert_eq!(v, 0, "{name}: test policy counter {k}: {counters:?}");
            }
        }
    }
}

/// `ip6_tryforward` changes no decision: every fixture, its frames and
/// its counters hold with the fast path off as with it on (the default,
/// under which the fixtures' own tests run, and which forwards most of
/// `forward`'s traffic itself).
#[test]
fn every_fixture_without_the_fast_path() {
    for name in NAMES {
        let stats = fixture_with(name, "slow", "sysctl net.inet6.ip6.fastforwarding=0\n");
        assert_eq!(stats["fastfwd"]["fastfwd_forwarded"], 0, "{name}");
    }
    let stats = fixture_with("forward", "fast", "\n");
    assert!(
        stats["fastfwd"]["fastfwd_forwarded"].as_u64().unwrap() > 0,
        "the fast path took none of forward's packets: {}",
        stats["fastfwd"]
    );
}

/// The stub policy says yes to everything: no decision changes.
#[test]
fn every_fixture_under_the_stub_policy() {
    for name in NAMES {
        fixture_with(name, "stub", "mac load stub\n");
    }
}

#[test]
fn every_fixture_has_a_test() {
    let mut on_disk: Vec<String> = std::fs::read_dir(common::fixtures())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("fixture.json").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = NAMES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

#[test]
fn fixtures_are_current() {
    let out = std::process::Command::new(common::PYTHON)
        .arg(common::fixtures().join("make-fixtures.py"))
        .arg("--check")
        .output()
        .expect("run make-fixtures.py");
    assert!(
        out.status.success(),
        "the committed fixtures are not what make-fixtures.py makes:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
