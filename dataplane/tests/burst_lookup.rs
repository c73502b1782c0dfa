//! A burst's destinations are looked up together before its packets are
//! processed, in the trie a level at a time across them when the table is
//! larger than the CPU's cache: every decision, frame and counter (but the
//! route cache's) is the same on such a table as on a small one.

mod common;

use common::*;
use dataplane::fib::Fib;
use dataplane::wire::ethernet::Address as Mac;

/// The common routes plus 4000 more /48s, each under its own /40 of
/// 2a00::/16 (far from every address the tests use), so that the trie
/// outgrows the cache.
fn large() -> World {
    let mut s = snapshot();
    let mut routes = routes();
    for i in 0..4000u32 {
        let p = format!("2a00:{:x}:{:x}00::", i >> 8, i & 0xff);
        routes.push(via(&p, 48, "fe80::aa", 1));
    }
    s.fib = Fib::new(routes);
    assert!(!s.fib.fits_in_cache());
    World::with(s)
}

fn traffic() -> Vec<dataplane::VecPacket> {
    let mut v = vec![
        Ip6::udp(A, B).on(0),
        Ip6::udp(A, C).on(0),
        Ip6::udp(A, FAR1).on(0),
        Ip6::udp(A, FAR2).on(0),
        Ip6::udp(A, "2001:db8::1").on(0),
        Ip6::udp(A, BLACKHOLE).on(0),
        Ip6::udp(A, REJECT).on(0),
        Ip6::udp(A, B2).on(0),
        Ip6::udp(A, NOWHERE).on(0),
        Ip6::udp(A, TO_LO).hlim(3).on(0),
        Ip6::udp(A, B).hlim(1).on(0),
        Ip6::udp(A, "fe80::a0").on(1),
        Ip6::udp(A, VIA_CC).on(0),
        Ip6::udp(A, "ff02::1").on(0),
        frame(0, PORT_MAC[0], &[0x60; 20]),
        frame(0, Mac([2, 0, 0, 0, 0, 9]), &Ip6::udp(A, B).bytes()),
    ];
    // More than one lookup burst, with repeats the route cache answers.
    let again = v.clone();
    v.extend(again);
    v
}

#[test]
fn a_burst_looked_up_together_decides_as_packets_looked_up_alone() {
    let mut small = World::new();
    let mut big = large();
    small.burst(traffic());
    big.burst(traffic());
    let strip = |w: &mut World| {
        let mut c = counters(&w.stats());
        c.retain(|k, _| !k.starts_with("rtcache"));
        c
    };
    assert_eq!(strip(&mut big), strip(&mut small));
    let mut a = small.take_tx();
    let mut b = big.take_tx();
    a.sort_by(|x, y| x.1.data.cmp(&y.1.data));
    b.sort_by(|x, y| x.1.data.cmp(&y.1.data));
    assert!(!a.is_empty());
    assert_eq!(a, b, "the same frames out of the same ports");
    let mut far = large();
    far.send(Ip6::udp(A, "2a00:1:200::1").on(0));
    let tx = far.take_tx();
    assert_eq!(tx.len(), 1, "a destination only the large table routes");
    assert_eq!(tx[0].0, 1);
    let s = big.stats();
    assert!(
        s.rtcache.rtcache_hits > 0,
        "repeats are answered by the route cache"
    );
}
