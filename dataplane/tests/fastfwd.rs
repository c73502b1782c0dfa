//! `ip6_tryforward` changes nothing but the speed: random traffic, most of
//! it ordinary, the rest broken or unusual in every way the full path
//! knows, goes through two engines, one with the fast path and one
//! without, and every frame sent (its port, bytes and label), every packet
//! punted, every resolution asked, every log line and every counter comes
//! out the same, with and without MAC policies, under each setting the
//! fast path reads.

mod common;

use common::*;
use dataplane::Snapshot;
use dataplane::VecPacket;
use dataplane::stats::StatsValues;
use dataplane::wire::ethernet::Address as Mac;
use fastrand::Rng;

fn pick<'a, T>(r: &mut Rng, v: &'a [T]) -> &'a T {
    &v[r.usize(..v.len())]
}

fn chance(r: &mut Rng, percent: u64) -> bool {
    r.u64(..100) < percent
}

/// Addresses of every kind the full path treats apart: routed ones (by
/// gateway, on link, unresolved, blackhole, reject, loopback, back out
/// the arrival link, unrouted), the router's own, and link-local,
/// multicast, unspecified, loopback, IPv4-mapped, site-local and unique
/// local ones.
const ADDRS: &[&str] = &[
    A,
    A2,
    D,
    B,
    B2,
    C,
    FAR1,
    FAR1,
    FAR2,
    FAR2,
    VIA_CC,
    VIA_CC_DYNAMIC,
    VIA_FE,
    BLACKHOLE,
    REJECT,
    TO_LO,
    UNREACHABLE_GW,
    NOWHERE,
    "2001:db8::1",
    "2001:db8:1::1",
    "fe80::a0",
    "fe80::aa",
    "ff02::1",
    "ff0e::1",
    "ff01::1",
    "::",
    "::1",
    "::ffff:192.0.2.1",
    "fec0::1",
    "fd00::1",
    "fc00::5",
    "4000::1",
];

/// Ordinary traffic: (arrival port, source, destination) forwarded by a
/// gateway or to a neighbour on another link.
const ORDINARY: &[(u16, &str, &str)] = &[
    (0, A, FAR1),
    (0, A, FAR2),
    (0, A, B),
    (0, A, C),
    (1, B, FAR2),
    (1, FAR1, A),
    (2, C, "fd00::1"),
    (2, FAR2, FAR1),
];

fn random_frame(r: &mut Rng) -> VecPacket {
    if chance(r, 40) {
        let &(port, src, dst) = pick(r, ORDINARY);
        let p = Ip6::udp(src, dst).hlim(*pick(r, &[2, 64]));
        return frame(port, PORT_MAC[usize::from(port)], &p.bytes());
    }
    let (src, dst) = (*pick(r, ADDRS), *pick(r, ADDRS));
    let mut p = Ip6::udp(src, dst).hlim(*pick(r, &[0, 1, 2, 64, 255]));
    match r.usize(..10) {
        0 => p = p.hbh(&[1, 4, 0, 0, 0, 0]),
        1 => p = p.ext(43, &[0, 0, 0, 0, 0, 0]),
        2 => p = p.sized(1400 + r.usize(..200)),
        3 => p.plen = Some(*pick(r, &[0, 1, 10, 23, 24, 25, 400])),
        _ => {}
    }
    let port = *pick(r, &[0u16, 0, 0, 1, 1, 2, 9]);
    let mac = match r.usize(..12) {
        0 => Mac([0x33, 0x33, 0, 0, 0, 1]),
        1 => Mac([2, 0, 0, 0, 0, 9]),
        2 => PORT_MAC[(usize::from(port) + 1) % 3],
        _ => PORT_MAC[usize::from(port).min(2)],
    };
    let mut f = frame(port, mac, &p.bytes());
    if chance(r, 10) {
        f.data.extend(std::iter::repeat_n(0, 1 + r.usize(..30)));
    }
    if chance(r, 8) {
        let cut = r.usize(..f.data.len());
        f.data.truncate(cut);
    }
    if chance(r, 10) && !f.data.is_empty() {
        let at = r.usize(..f.data.len().min(62));
        f.data[at] ^= 1 << r.usize(..8);
    }
    f
}

/// Everything the two engines must agree on.
#[derive(PartialEq)]
struct Seen {
    tx: Vec<(u16, VecPacket)>,
    punted: Vec<VecPacket>,
    resolves: Vec<(u16, std::net::Ipv6Addr)>,
    logs: Vec<dataplane::forward::LogEvent>,
    stats: StatsValues,
}

/// The fast path's own counter is left out, and the route cache's split
/// between hits and misses: a burst's destinations are looked up in the
/// cache before its misses fill it, so a destination new to the cache that
/// comes twice in one burst misses twice. The number of lookups is kept.
fn seen(w: &mut World) -> Seen {
    let mut stats = w.stats();
    stats.fastfwd = Default::default();
    let r = &mut stats.rtcache;
    (r.rtcache_hits, r.rtcache_misses) = (r.rtcache_hits + r.rtcache_misses, 0);
    Seen {
        tx: w.take_tx(),
        punted: std::mem::take(&mut w.io.punted),
        resolves: std::mem::take(&mut w.io.resolves),
        logs: std::mem::take(&mut w.io.logs),
        stats,
    }
}

/// Asserts `fast` and `slow` agree, naming the first difference briefly
/// (a frame or a counter, not the whole record).
fn same(fast: Seen, slow: Seen, when: &str) {
    if fast == slow {
        return;
    }
    for (i, (f, s)) in fast.tx.iter().zip(&slow.tx).enumerate() {
        assert_eq!(f, s, "{when}: frame {i} differs");
    }
    assert_eq!(fast.tx.len(), slow.tx.len(), "{when}: frames sent");
    assert_eq!(fast.punted, slow.punted, "{when}: punted");
    assert_eq!(fast.resolves, slow.resolves, "{when}: resolutions");
    assert_eq!(fast.logs, slow.logs, "{when}: logs");
    assert_eq!(
        counters(&fast.stats),
        counters(&slow.stats),
        "{when}: counters"
    );
    assert_eq!(
        fast.stats.rtcache, slow.stats.rtcache,
        "{when}: route lookups"
    );
    assert_eq!(
        fast.stats.mac_denied, slow.stats.mac_denied,
        "{when}: MAC denials"
    );
    assert_eq!(fast.stats, slow.stats, "{when}: other counters");
}

/// Runs the same random traffic through `snap` with and without the fast
/// path and returns how many packets the fast path took.
fn same_either_way(snap: Snapshot, seed: u64) -> u64 {
    let mut slow_snap = snap.clone();
    slow_snap.settings.fastforwarding = false;
    let mut fast = World::with(snap);
    let mut slow = World::with(slow_snap);
    let mut r = Rng::with_seed(seed);
    for round in 0..150 {
        let burst: Vec<VecPacket> = (0..1 + r.usize(..70))
            .map(|_| random_frame(&mut r))
            .collect();
        fast.burst(burst.clone());
        slow.burst(burst);
        if round % 50 == 49 {
            fast.at(secs(round / 50 + 1)).tick();
            slow.at(secs(round / 50 + 1)).tick();
        }
        same(
            seen(&mut fast),
            seen(&mut slow),
            &format!("seed {seed}, round {round}"),
        );
    }
    fast.shutdown();
    slow.shutdown();
    same(
        seen(&mut fast),
        seen(&mut slow),
        &format!("seed {seed}, at shutdown"),
    );
    assert_eq!(slow.stats().fastfwd.fastfwd_forwarded, 0);
    fast.stats().fastfwd.fastfwd_forwarded
}

fn unlimited(mut s: Snapshot) -> Snapshot {
    s.settings.icmp6errppslim = -1;
    s
}

#[test]
fn the_fast_path_decides_as_the_full_one() {
    let mut taken = 0;
    for seed in 1..=4 {
        taken += same_either_way(unlimited(snapshot()), seed);
    }
    assert!(taken > 5000, "the fast path took only {taken} packets");
}

#[test]
fn the_fast_path_decides_as_the_full_one_under_each_setting_it_reads() {
    let mut s = unlimited(snapshot());
    s.settings.stealth = true;
    assert!(same_either_way(s, 11) > 0);
    let mut s = unlimited(snapshot());
    s.settings.sendredirects = false;
    assert!(same_either_way(s, 12) > 0);
    let mut s = unlimited(snapshot());
    s.ifnets[1].mtu = 1280;
    s.ifnets[2].mtu = 1450;
    assert!(same_either_way(s, 13) > 0);
}

#[test]
fn the_fast_path_labels_and_checks_as_the_full_one() {
    let mls = [("mls", &[][..])];
    let s = labelled(
        &mls,
        &[
            (0, "mls/5(low-high)"),
            (1, "mls/10(10-high)"),
            (2, "mls/low(low-5)"),
        ],
    );
    assert!(same_either_way(unlimited(s), 21) > 0);
    let both = [("mls", &[][..]), ("biba", &[][..])];
    let s = labelled(
        &both,
        &[
            (0, "mls/5(low-high),biba/high(low-high)"),
            (1, "mls/5(low-high),biba/low(low-5)"),
            (2, "mls/low(low-high),biba/high(high-high)"),
        ],
    );
    assert!(same_either_way(unlimited(s), 22) > 0);
    let s = labelled(&[("ifoff", &[("enabled", "1")][..])], &[]);
    same_either_way(unlimited(s), 23);
    let s = labelled(&[("stub", &[][..])], &[]);
    assert!(same_either_way(unlimited(s), 24) > 0);
}

#[test]
fn policies_that_look_at_more_than_interfaces_keep_the_full_path() {
    let s = labelled(&[("test", &[][..])], &[]);
    assert_eq!(same_either_way(unlimited(s), 31), 0);
}

/// The fast path keeps what it worked out about a next hop (its interface,
/// the interface's MTU, the gateway's link-layer address) only for the
/// snapshot it worked it out in: a gateway that moves, goes unresolved and
/// comes back, an MTU that shrinks, or a route moved to another gateway is
/// sent by as the newest snapshot says.
#[test]
fn a_next_hops_link_is_what_the_newest_snapshot_says() {
    let mut w = World::new();
    let p = Ip6::udp(A, FAR1);
    // The frame sent (port and bytes) and whether the fast path took it.
    let sent = |w: &mut World| {
        let before = w.stats().fastfwd.fastfwd_forwarded;
        w.send(p.on(0));
        let taken = w.stats().fastfwd.fastfwd_forwarded - before;
        (w.io.tx.pop().map(|(o, f)| (o, f.data)), taken)
    };
    let to = |out: u16, mac: Mac| Some((out, forwarded(&p.bytes(), usize::from(out), mac, 1)));
    assert_eq!(sent(&mut w), (to(1, AA_MAC), 1));
    let moved = Mac([0x0a, 0, 0, 0, 0, 0xab]);
    w.update(|s| s.neighbors.insert(1, ip("fe80::aa"), moved));
    assert_eq!(sent(&mut w), (to(1, moved), 1), "the gateway's new address");
    w.update(|s| {
        let kept = s.neighbors.iter().filter(|&(_, a, _)| a != ip("fe80::aa"));
        let mut n = dataplane::neigh::Neighbors::default();
        for (i, a, m) in kept.collect::<Vec<_>>() {
            n.insert(i, a, m);
        }
        s.neighbors = n;
    });
    assert_eq!(
        sent(&mut w),
        (None, 0),
        "held for the gateway, by the full path"
    );
    assert_eq!(w.engine.held(), 1);
    w.update(|s| s.neighbors.insert(1, ip("fe80::aa"), AA_MAC));
    assert_eq!(sent(&mut w), (to(1, AA_MAC), 1), "resolved again");
    w.update(|s| s.ifnets[1].mtu = 1280);
    let big = Ip6::udp(A, FAR1).sized(1400);
    let before = w.stats().fastfwd.fastfwd_forwarded;
    w.send(big.on(0));
    assert_eq!(
        w.stats().fastfwd.fastfwd_forwarded,
        before,
        "too big for the new MTU"
    );
    assert_eq!(w.stats().fates.drop_toobig, 1);
    w.io.tx.clear();
    w.update(|s| {
        s.fib.insert(via("2001:db8:100::", 48, "2001:db8:2::bb", 2));
    });
    assert_eq!(sent(&mut w), (to(2, BB_MAC), 1), "the route's new gateway");
}

/// The fast path keeps a MAC verdict for an interface pair across bursts,
/// but not across a change to a policy's settings: `ifoff` opening and
/// shutting the ports between two bursts, with no new snapshot, lets the
/// next packet through and then stops it again.
#[test]
fn a_policy_setting_changed_between_bursts_applies_to_the_next() {
    let mut w = World::with(labelled(&[("ifoff", &[][..])], &[]));
    let p = Ip6::udp(A, FAR1);
    let send = |w: &mut World| {
        w.send(p.on(0));
        let s = w.stats();
        let sent = w.io.tx.drain(..).filter(|(o, _)| *o == 1).count();
        (sent, s.fates.drop_mac, s.fastfwd.fastfwd_forwarded)
    };
    let ifoff = |w: &World, v: &str| w.snap.mac.get("ifoff").unwrap().set("other_enabled", v);
    assert_eq!(send(&mut w), (0, 1, 0), "shut: refused on the full path");
    ifoff(&w, "1").unwrap();
    assert_eq!(send(&mut w), (1, 1, 1), "open: forwarded by the fast path");
    assert_eq!(send(&mut w), (1, 1, 2));
    ifoff(&w, "0").unwrap();
    assert_eq!(send(&mut w), (0, 2, 2), "shut again");
}
