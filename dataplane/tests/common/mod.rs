//! A small router world for driving `Engine` through its public API.
//!
//! Topology (all ports MTU 1500 unless a test changes it):
//!
//! ```text
//!  host A 2001:db8::100 / fe80::a0 ── port0 2001:db8::1/64
//!  host B 2001:db8:1::5, gw fe80::aa ── port1 2001:db8:1::1/64
//!  host C 2001:db8:2::5, gw 2001:db8:2::bb ── port2 2001:db8:2::1/64
//!  lo0 (index 3) ::1/128
//! ```
//!
//! There is deliberately no default route, so "no route" cases need no setup.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use std::ops::{Add, Mul};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dataplane::fib::{Fib, Route, RouteFlags};
use dataplane::forward::LogEvent;
use dataplane::iface::{IfFlags, IfIndex, Ifaddr, Ifnet};
use dataplane::neigh::Neighbors;
use dataplane::snapshot::{Settings, Snapshot};
use dataplane::stats::{StatsValues, WorkerStats};
use dataplane::wire::ethernet::Address as Mac;
use dataplane::wire::icmpv6;
use dataplane::{Engine, Io, VecPacket};

pub const LO: IfIndex = 3;
pub const PORT_MAC: [Mac; 3] = [
    Mac([2, 0, 0, 0, 0, 1]),
    Mac([2, 0, 0, 0, 0, 2]),
    Mac([2, 0, 0, 0, 0, 3]),
];
/// The Ethernet source of every frame the tests inject.
pub const SENDER_MAC: Mac = Mac([0x0a, 0, 0, 0, 0, 0x99]);
pub const A_MAC: Mac = Mac([0x0a, 0, 0, 0, 0, 0xa0]);
pub const B_MAC: Mac = Mac([0x0a, 0, 0, 0, 0, 0xb0]);
pub const C_MAC: Mac = Mac([0x0a, 0, 0, 0, 0, 0xc0]);
pub const AA_MAC: Mac = Mac([0x0a, 0, 0, 0, 0, 0xaa]);
pub const BB_MAC: Mac = Mac([0x0a, 0, 0, 0, 0, 0xbb]);
pub const CC_MAC: Mac = Mac([0x0a, 0, 0, 0, 0, 0xcc]);
pub const FE_MAC: Mac = Mac([0x0a, 0, 0, 0, 0, 0xfe]);
pub const D_MAC: Mac = Mac([0x0a, 0, 0, 0, 0, 0xd0]);

pub const A: &str = "2001:db8::100";
pub const A_LL: &str = "fe80::a0";
/// On port0's prefix, so a neighbour, but with no entry.
pub const A2: &str = "2001:db8::101";
/// On port0's prefix with an entry: the on-link redirect target.
pub const D: &str = "2001:db8::200";
pub const B: &str = "2001:db8:1::5";
/// On port1's prefix, never resolved.
pub const B2: &str = "2001:db8:1::6";
pub const C: &str = "2001:db8:2::5";
/// Behind link-local gateway fe80::aa on port1.
pub const FAR1: &str = "2001:db8:100::9";
/// Behind global gateway 2001:db8:2::bb on port2.
pub const FAR2: &str = "2001:db8:200::9";
/// Behind link-local gateway fe80::cc on port0 (redirect cases).
pub const VIA_CC: &str = "2001:db8:0:5::9";
/// Behind fe80::cc too, but by a route learnt from a redirect (dynamic).
pub const VIA_CC_DYNAMIC: &str = "2001:db8:0:6::9";
/// Behind fe80::cc too, by a route changed by a redirect (modified).
pub const VIA_CC_MODIFIED: &str = "2001:db8:0:7::9";
/// Behind global gateway 2001:db8::fe on port0.
pub const VIA_FE: &str = "2001:db8:0:8::9";
pub const BLACKHOLE: &str = "2001:db8:dead::1";
pub const REJECT: &str = "2001:db8:bad::1";
/// Routed to the loopback interface.
pub const TO_LO: &str = "2001:db8:1000::1";
/// Behind 2001:db8:7::1, which is on no link.
pub const UNREACHABLE_GW: &str = "2001:db8:300::9";
/// A source with no route back.
pub const NOWHERE: &str = "2001:db9::1";

pub fn ip(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

pub fn ll(port: usize) -> Ipv6Addr {
    dataplane::wire::ipv6::link_local_from_mac(&PORT_MAC[port])
}

pub fn route(prefix: &str, len: u8, ifindex: IfIndex) -> Route {
    Route {
        prefix: ip(prefix),
        prefix_len: len,
        gateway: None,
        ifindex,
        flags: RouteFlags::default(),
    }
}

pub fn via(prefix: &str, len: u8, gw: &str, ifindex: IfIndex) -> Route {
    Route {
        gateway: Some(ip(gw)),
        flags: RouteFlags {
            gateway: true,
            ..Default::default()
        },
        ..route(prefix, len, ifindex)
    }
}

pub fn routes() -> Vec<Route> {
    let mut dynamic = via("2001:db8:0:6::", 64, "fe80::cc", 0);
    dynamic.flags.dynamic = true;
    let mut modified = via("2001:db8:0:7::", 64, "fe80::cc", 0);
    modified.flags.modified = true;
    let mut blackhole = route("2001:db8:dead::", 48, LO);
    blackhole.flags.blackhole = true;
    let mut reject = route("2001:db8:bad::", 48, LO);
    reject.flags.reject = true;
    vec![
        route("2001:db8::", 64, 0),
        route("2001:db8:1::", 64, 1),
        route("2001:db8:2::", 64, 2),
        via("2001:db8:100::", 48, "fe80::aa", 1),
        via("2001:db8:200::", 48, "2001:db8:2::bb", 2),
        via("2001:db8:0:5::", 64, "fe80::cc", 0),
        dynamic,
        modified,
        via("2001:db8:0:8::", 64, "2001:db8::fe", 0),
        blackhole,
        reject,
        route("2001:db8:1000::", 48, LO),
        via("2001:db8:300::", 48, "2001:db8:7::1", 2),
    ]
}

pub fn neighbors() -> Neighbors {
    let mut n = Neighbors::default();
    for (i, a, m) in [
        (0, A, A_MAC),
        (0, A_LL, A_MAC),
        (0, D, D_MAC),
        (0, "fe80::cc", CC_MAC),
        (0, "2001:db8::fe", FE_MAC),
        (1, B, B_MAC),
        (1, "fe80::aa", AA_MAC),
        (2, C, C_MAC),
        (2, "2001:db8:2::bb", BB_MAC),
    ] {
        n.insert(i, ip(a), m);
    }
    n
}

pub fn snapshot() -> Snapshot {
    let mut ifnets: Vec<Ifnet> = (0..3u16)
        .map(|i| {
            let mut p = Ifnet::new(
                i,
                format!("port{i}"),
                PORT_MAC[usize::from(i)],
                1500,
                IfFlags::default(),
            );
            p.add_addr(Ifaddr {
                addr: ip(&format!("2001:db8:{i}::1")),
                prefix_len: 64,
            });
            p
        })
        .collect();
    let loopback = IfFlags {
        loopback: true,
        ..Default::default()
    };
    let mut lo = Ifnet::new(LO, "lo0".into(), Mac::default(), 16384, loopback);
    lo.add_addr(Ifaddr {
        addr: Ipv6Addr::LOCALHOST,
        prefix_len: 128,
    });
    ifnets.push(lo);
    let mut s = Snapshot {
        ifnets,
        fib: Fib::new(routes()),
        neighbors: neighbors(),
        settings: Settings::default(),
        ..Default::default()
    };
    publish(&mut s);
    s
}

/// The common snapshot with `policies` loaded (each with its settings)
/// and each interface labelled as the policies create it, then as
/// `labels` say.
pub fn labelled(policies: &[(&str, &[(&str, &str)])], labels: &[(usize, &str)]) -> Snapshot {
    let mut r = dataplane::mac::Registry::new();
    for (name, settings) in policies {
        let p = dataplane::mac::policy_named(name).unwrap();
        for (k, v) in *settings {
            p.set(k, v).unwrap();
        }
        r.register(p).unwrap();
    }
    let p = r.policies().clone();
    let cred = p.cred_init(0, vec![0]);
    let mut s = snapshot();
    for i in 0..s.ifnets.len() {
        let ifp = s.ifnets[i].clone();
        s.ifnets[i].label = p.ifnet_create(&ifp);
    }
    for &(i, text) in labels {
        let ifp = s.ifnets[i].clone();
        let new = p.internalize(dataplane::mac::Kind::Ifnet, text).unwrap();
        p.ifnet_set_label(&cred, &ifp, &mut s.ifnets[i].label, &new)
            .unwrap();
    }
    s.mac = p;
    s
}

/// Every snapshot the tests build gets its own generation: the engine's
/// route cache trusts the generation to tell tables apart.
pub fn publish(s: &mut Snapshot) {
    static GENERATION: AtomicU64 = AtomicU64::new(1);
    s.generation = GENERATION.fetch_add(1, Ordering::Relaxed);
    s.local = s
        .ifnets
        .iter()
        .flat_map(|i| i.addrs.iter().map(|a| a.addr))
        .collect();
}

/// The worker's surroundings, recording everything the engine asks for.
#[derive(Debug)]
pub struct TestIo {
    pub tx: Vec<(IfIndex, VecPacket)>,
    pub punted: Vec<VecPacket>,
    pub resolves: Vec<(IfIndex, Ipv6Addr)>,
    pub logs: Vec<LogEvent>,
    /// Buffers `alloc` may still hand out.
    pub buffers: usize,
    /// Room left in the punt queue.
    pub punt_room: usize,
}

impl Default for TestIo {
    fn default() -> Self {
        TestIo {
            tx: vec![],
            punted: vec![],
            resolves: vec![],
            logs: vec![],
            buffers: usize::MAX,
            punt_room: usize::MAX,
        }
    }
}

impl Io<VecPacket> for TestIo {
    fn alloc(&mut self) -> Option<VecPacket> {
        self.buffers = self.buffers.checked_sub(1)?;
        Some(VecPacket::new(vec![], u16::MAX))
    }
    fn transmit(&mut self, port: IfIndex, pkt: VecPacket) {
        self.tx.push((port, pkt));
    }
    fn punt(&mut self, pkt: VecPacket) -> Result<(), VecPacket> {
        match self.punt_room.checked_sub(1) {
            Some(r) => {
                self.punt_room = r;
                self.punted.push(pkt);
                Ok(())
            }
            None => Err(pkt),
        }
    }
    fn resolve(&mut self, ifindex: IfIndex, addr: Ipv6Addr) {
        self.resolves.push((ifindex, addr));
    }
    fn log(&mut self, event: LogEvent) {
        self.logs.push(event);
    }
}

pub struct World {
    pub snap: Snapshot,
    pub engine: Engine<VecPacket>,
    pub io: TestIo,
    pub t0: Instant,
    pub now: Instant,
}

impl World {
    pub fn new() -> World {
        World::with(snapshot())
    }

    pub fn with(mut snap: Snapshot) -> World {
        publish(&mut snap);
        World::worker(snap, 0, 1)
    }

    pub fn worker(snap: Snapshot, worker: usize, workers: usize) -> World {
        let stats = Arc::new(WorkerStats::new(snap.ifnets.len()));
        let t0 = Instant::now();
        World {
            snap,
            engine: Engine::new(stats, worker, workers),
            io: TestIo::default(),
            t0,
            now: t0,
        }
    }

    /// Changes the snapshot as the control plane would publish a new one.
    pub fn update(&mut self, f: impl FnOnce(&mut Snapshot)) {
        f(&mut self.snap);
        publish(&mut self.snap);
    }

    pub fn at(&mut self, since_t0: Duration) -> &mut World {
        self.now = self.t0 + since_t0;
        self
    }

    pub fn send(&mut self, pkt: VecPacket) {
        self.burst(vec![pkt]);
    }

    pub fn burst(&mut self, mut pkts: Vec<VecPacket>) {
        self.engine
            .process_burst(&mut pkts, &self.snap, self.now, &mut self.io);
        assert!(
            self.stats().conserved(),
            "not conserved: {:?}",
            self.stats().fates
        );
    }

    pub fn tick(&mut self) {
        self.engine.tick(&self.snap, self.now, &mut self.io);
        assert!(
            self.stats().conserved(),
            "not conserved: {:?}",
            self.stats().fates
        );
    }

    pub fn shutdown(&mut self) {
        self.engine.shutdown(&self.snap);
        assert!(
            self.stats().conserved(),
            "not conserved: {:?}",
            self.stats().fates
        );
    }

    pub fn stats(&self) -> StatsValues {
        self.engine.stats().read()
    }

    pub fn take_tx(&mut self) -> Vec<(IfIndex, VecPacket)> {
        std::mem::take(&mut self.io.tx)
    }

    /// Asserts the complete set of non-zero counters: anything bumped that
    /// is not listed fails the test as surely as a wrong value.
    pub fn assert_counters(&self, expected: Counts) {
        let want: BTreeMap<String, u64> = expected.0.into_iter().filter(|c| c.1 != 0).collect();
        assert_eq!(counters(&self.stats()), want);
    }
}

/// Every non-zero counter, named `ip6s_*`, `icp6s_*`, fate names,
/// `outhist[type]`, `ifN.ifs6_*`, `portN.*` and `filter[i]`.
pub fn counters(s: &StatsValues) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    let named = s.ip6.iter().chain(s.icmp6.iter()).chain(s.fates.iter());
    m.extend(named.filter(|c| c.1 != 0).map(|(n, v)| (n.to_string(), v)));
    for (t, &v) in s.icmp6_outhist.iter().enumerate().filter(|c| *c.1 != 0) {
        m.insert(format!("outhist[{t}]"), v);
    }
    for (i, ifs) in s.ifs.iter().enumerate() {
        m.extend(
            ifs.iter()
                .filter(|c| c.1 != 0)
                .map(|(n, v)| (format!("if{i}.{n}"), v)),
        );
    }
    for (i, p) in s.ports.iter().enumerate() {
        m.extend(
            p.iter()
                .filter(|c| c.1 != 0)
                .map(|(n, v)| (format!("port{i}.{n}"), v)),
        );
    }
    for (i, &v) in s.filter_hits.iter().enumerate().filter(|c| *c.1 != 0) {
        m.insert(format!("filter[{i}]"), v);
    }
    m
}

/// Expected counter values; adding two sums them counter by counter, so
/// an expectation is written as the sum of the events that happened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts(pub BTreeMap<String, u64>);

impl Add for Counts {
    type Output = Counts;
    fn add(mut self, other: Counts) -> Counts {
        for (k, v) in other.0 {
            *self.0.entry(k).or_default() += v;
        }
        self
    }
}

impl Mul<Counts> for u64 {
    type Output = Counts;
    fn mul(self, mut c: Counts) -> Counts {
        c.0.values_mut().for_each(|v| *v *= self);
        c
    }
}

pub fn c(list: &[(&str, u64)]) -> Counts {
    list.iter()
        .fold(Counts::default(), |acc, &(k, v)| acc + one(k, v))
}

fn one(k: impl Into<String>, v: u64) -> Counts {
    Counts(BTreeMap::from([(k.into(), v)]))
}

/// A per-interface counter, once.
pub fn ifc(port: usize, name: &str) -> Counts {
    one(format!("if{port}.{name}"), 1)
}

/// One packet taken in on `port` by `ip6_input`.
pub fn rx(port: usize) -> Counts {
    c(&[("received", 1), ("ip6s_total", 1)]) + ifc(port, "ifs6_in_receive")
}

/// One packet forwarded out of `port`: `nd6_output` succeeded and the frame
/// went to the transmit queue.
pub fn fwd(port: usize) -> Counts {
    c(&[("ip6s_forward", 1), ("forwarded", 1)]) + ifc(port, "ifs6_out_forward")
}

/// One packet for the router, handed to the control plane.
pub fn delivered(port: usize) -> Counts {
    c(&[("ip6s_delivered", 1), ("punted", 1)]) + ifc(port, "ifs6_in_deliver")
}

/// `icmp6_error` called: `icp6s_error` and the per-type/code counter of
/// FreeBSD's `icmp6_errcount` (reject's code 6 has none: `icp6s_ounknown`).
pub fn error_decided(ty: u8, code: u8) -> Counts {
    let o = match (ty, code) {
        (1, 0) => "icp6s_odst_unreach_noroute",
        (1, 1) => "icp6s_odst_unreach_admin",
        (1, 2) => "icp6s_odst_unreach_beyondscope",
        (1, 3) => "icp6s_odst_unreach_addr",
        (1, 4) => "icp6s_odst_unreach_noport",
        (2, _) => "icp6s_opacket_too_big",
        (3, 0) => "icp6s_otime_exceed_transit",
        (3, 1) => "icp6s_otime_exceed_reassembly",
        (4, 0) => "icp6s_oparamprob_header",
        (4, 1) => "icp6s_oparamprob_nextheader",
        (4, 2) => "icp6s_oparamprob_option",
        _ => "icp6s_ounknown",
    };
    c(&[("icp6s_error", 1), (o, 1)])
}

/// An error that passed `icmp6_error`'s rules.
pub fn error_permitted(ty: u8, code: u8) -> Counts {
    error_decided(ty, code) + one(format!("outhist[{ty}]"), 1)
}

/// A router-made packet through `ip6_output` out of `port`.
pub fn originated(port: usize) -> Counts {
    c(&[("ip6s_localout", 1)]) + ifc(port, "ifs6_out_request") + ifc(port, "ifs6_out_msg")
}

/// An error passed, built and handed to `ip6_output` out of `port`, with
/// the per-interface counters of `icmp6_ifoutstat_inc`.
pub fn error_sent(port: usize, ty: u8, code: u8) -> Counts {
    let kind = match ty {
        1 => "ifs6_out_dstunreach",
        2 => "ifs6_out_pkttoobig",
        3 => "ifs6_out_timeexceed",
        4 => "ifs6_out_paramprob",
        _ => unreachable!("not an error type"),
    };
    let out = error_permitted(ty, code)
        + originated(port)
        + ifc(port, "ifs6_out_error")
        + ifc(port, kind);
    if (ty, code) == (1, 1) {
        out + ifc(port, "ifs6_out_adminprohib")
    } else {
        out
    }
}

/// A redirect that passed its rules, built and sent out of `port`.
pub fn redirect_sent(port: usize) -> Counts {
    c(&[("icp6s_oredirect", 1), ("outhist[137]", 1)])
        + originated(port)
        + ifc(port, "ifs6_out_redirect")
}

/// An IPv6 packet to build; by default a UDP datagram with 24 bytes of
/// payload whose every byte is distinct, so any corruption shows.
#[derive(Debug, Clone)]
pub struct Ip6 {
    pub version: u8,
    pub tc: u8,
    pub flow: u32,
    pub nxt: u8,
    pub hlim: u8,
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub payload: Vec<u8>,
    /// Overrides the payload length field.
    pub plen: Option<u16>,
}

impl Ip6 {
    pub fn udp(src: &str, dst: &str) -> Ip6 {
        let mut payload = vec![0x30, 0x39, 0x00, 0x35, 0x00, 24, 0, 0];
        payload.extend(0x40..0x50u8);
        Ip6 {
            version: 6,
            tc: 0,
            flow: 0,
            nxt: 17,
            hlim: 64,
            src: ip(src),
            dst: ip(dst),
            payload,
            plen: None,
        }
    }

    /// An ICMPv6 message of `ty`/`code` with an 8-byte body (checksum not
    /// filled: nothing on the path verifies it).
    pub fn icmp(src: &str, dst: &str, ty: u8, code: u8) -> Ip6 {
        Ip6 {
            nxt: 58,
            payload: vec![ty, code, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8],
            ..Ip6::udp(src, dst)
        }
    }

    pub fn hlim(mut self, h: u8) -> Ip6 {
        self.hlim = h;
        self
    }

    /// Puts an extension header of type `kind` (0 HBH, 43 routing, 60 dst
    /// opts) with body `rest` (everything after next-header and length)
    /// in front of the payload.
    pub fn ext(mut self, kind: u8, rest: &[u8]) -> Ip6 {
        assert_eq!(
            (rest.len() + 2) % 8,
            0,
            "extension header must be a multiple of 8 bytes"
        );
        let mut h = vec![self.nxt, ((rest.len() + 2) / 8 - 1) as u8];
        h.extend_from_slice(rest);
        h.extend_from_slice(&self.payload);
        self.payload = h;
        self.nxt = kind;
        self
    }

    /// A hop-by-hop options header holding `opts` (6, 14, ... bytes).
    pub fn hbh(self, opts: &[u8]) -> Ip6 {
        self.ext(0, opts)
    }

    /// Pads the payload so the IPv6 packet is `len` bytes long.
    pub fn sized(mut self, len: usize) -> Ip6 {
        let n = len - 40;
        let mut i = self.payload.len();
        self.payload.resize_with(n, || {
            i += 1;
            (i * 7) as u8
        });
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(40 + self.payload.len());
        let word =
            (u32::from(self.version) << 28) | (u32::from(self.tc) << 20) | (self.flow & 0xfffff);
        v.extend_from_slice(&word.to_be_bytes());
        let plen = self.plen.unwrap_or(self.payload.len() as u16);
        v.extend_from_slice(&plen.to_be_bytes());
        v.extend_from_slice(&[self.nxt, self.hlim]);
        v.extend_from_slice(&self.src.octets());
        v.extend_from_slice(&self.dst.octets());
        v.extend_from_slice(&self.payload);
        v
    }

    /// The packet in a frame to `port`'s MAC address, received on `port`.
    pub fn on(&self, port: u16) -> VecPacket {
        frame(port, PORT_MAC[usize::from(port)], &self.bytes())
    }
}

/// An Ethernet II (IPv6) frame from [`SENDER_MAC`] to `dst_mac`, received on `port`.
pub fn frame(port: u16, dst_mac: Mac, l3: &[u8]) -> VecPacket {
    let mut v = Vec::with_capacity(14 + l3.len());
    v.extend_from_slice(&dst_mac.0);
    v.extend_from_slice(&SENDER_MAC.0);
    v.extend_from_slice(&[0x86, 0xdd]);
    v.extend_from_slice(l3);
    VecPacket::new(v, port)
}

/// What a forwarded copy of `l3` must look like on the wire out of `out`
/// towards `next_hop_mac`: only the MACs and the hop limit differ.
pub fn forwarded(l3: &[u8], out: usize, next_hop_mac: Mac, hlim_dec: u8) -> Vec<u8> {
    let mut v = Vec::with_capacity(14 + l3.len());
    v.extend_from_slice(&next_hop_mac.0);
    v.extend_from_slice(&PORT_MAC[out].0);
    v.extend_from_slice(&[0x86, 0xdd]);
    v.extend_from_slice(l3);
    v[14 + 7] -= hlim_dec;
    v
}

/// An ICMPv6 message the router sent, taken apart, with every header field
/// the router is expected to get right already checked.
#[derive(Debug, Clone)]
pub struct Sent {
    pub port: IfIndex,
    pub eth_dst: Mac,
    pub eth_src: Mac,
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub hlim: u8,
    pub ty: u8,
    pub code: u8,
    /// MTU, pointer, or zero.
    pub word: u32,
    /// Everything after the 8-byte ICMPv6 header.
    pub body: Vec<u8>,
}

pub fn parse_icmp(port: IfIndex, pkt: &VecPacket) -> Sent {
    let d = &pkt.data;
    assert!(d.len() >= 14 + 48, "short ICMPv6 frame: {} bytes", d.len());
    assert_eq!(&d[12..14], &[0x86, 0xdd], "ethertype");
    assert_eq!(
        &d[14..18],
        &[0x60, 0, 0, 0],
        "version 6, traffic class and flow label zero"
    );
    let plen = usize::from(u16::from_be_bytes([d[18], d[19]]));
    assert_eq!(plen, d.len() - 54, "payload length matches the frame");
    assert_eq!(d[20], 58, "next header");
    let src = Ipv6Addr::from(<[u8; 16]>::try_from(&d[22..38]).unwrap());
    let dst = Ipv6Addr::from(<[u8; 16]>::try_from(&d[38..54]).unwrap());
    let icmp = icmpv6::Packet::new_checked(&d[54..]).unwrap();
    assert!(icmp.verify_checksum(&src, &dst), "ICMPv6 checksum");
    assert!(
        d.len() - 14 <= 1280,
        "an ICMPv6 message fits the minimum MTU"
    );
    Sent {
        port,
        eth_dst: Mac(d[0..6].try_into().unwrap()),
        eth_src: Mac(d[6..12].try_into().unwrap()),
        src,
        dst,
        hlim: d[21],
        ty: d[54],
        code: d[55],
        word: u32::from_be_bytes(d[58..62].try_into().unwrap()),
        body: d[62..].to_vec(),
    }
}

/// The only transmitted frame, which must be an ICMPv6 message.
pub fn only_icmp(w: &mut World) -> Sent {
    let tx = w.take_tx();
    assert_eq!(tx.len(), 1, "expected exactly one frame, got {tx:?}");
    parse_icmp(tx[0].0, &tx[0].1)
}

/// Checks the standard shape of an error the router sent about `quoted`
/// (the offending IPv6 packet as it should appear in the quote, before
/// truncation to 1232 bytes).
#[allow(clippy::too_many_arguments)]
pub fn assert_error(
    e: &Sent,
    port: IfIndex,
    eth_dst: Mac,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    ty: u8,
    code: u8,
    word: u32,
    quoted: &[u8],
) {
    assert_eq!(e.port, port, "output port");
    assert_eq!(e.eth_dst, eth_dst, "Ethernet destination");
    assert_eq!(e.eth_src, PORT_MAC[usize::from(port)], "Ethernet source");
    assert_eq!((e.src, e.dst), (src, dst), "addresses");
    assert_eq!(e.hlim, 64, "hop limit");
    assert_eq!((e.ty, e.code, e.word), (ty, code, word), "type, code, word");
    let n = quoted.len().min(1232);
    assert_eq!(e.body.len(), n, "quote length");
    assert_eq!(e.body, quoted[..n], "quoted bytes");
}

/// `l3` with its hop limit lowered by one, as the quote of a packet
/// `ip6_forward` has started on shows it.
pub fn decremented(l3: &[u8]) -> Vec<u8> {
    let mut v = l3.to_vec();
    v[7] -= 1;
    v
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}
