//! `nd6_output`'s hold queues: packets waiting for their next hop, the
//! requests for resolution, release on a snapshot that knows the
//! neighbour, eviction, failure, and shutdown.

mod common;

use common::*;
use dataplane::VecPacket;
use dataplane::wire::ethernet::Address as Mac;

const B2_MAC: Mac = Mac([0x0a, 0, 0, 0, 0, 0xb2]);

/// A packet from A to the unresolved B2, told apart by its hop limit.
fn to_b2(hlim: u8) -> Vec<u8> {
    Ip6::udp(A, B2).hlim(hlim).bytes()
}

fn on0(l3: &[u8]) -> VecPacket {
    frame(0, PORT_MAC[0], l3)
}

/// A packet taken in on port0 and held for a next hop on `out`: counted
/// forwarded, as FreeBSD's `nd6_output` returns 0 for it. The `held` gauge
/// is not in it; see [`waiting`].
fn held(out: usize) -> Counts {
    rx(0) + c(&[("ip6s_forward", 1)]) + ifc(out, "ifs6_out_forward")
}

/// The `held` gauge: received packets still waiting.
fn waiting(n: u64) -> Counts {
    c(&[("held", n)])
}

/// A held packet given up.
fn lost(out: usize) -> Counts {
    c(&[
        ("icp6s_dropped", 1),
        ("ip6s_cantforward", 1),
        ("drop_unresolved", 1),
    ]) + ifc(out, "ifs6_out_discard")
}

/// A held packet that finally went out: `held` down, `forwarded` up.
fn released() -> Counts {
    c(&[("forwarded", 1)])
}

fn resolve_b2(w: &mut World) {
    w.update(|s| s.neighbors.insert(1, ip(B2), B2_MAC));
}

#[test]
fn packets_wait_for_their_neighbour_and_leave_in_order_once_it_is_known() {
    let mut w = World::new();
    let pkts = [to_b2(64), to_b2(63), to_b2(62)];
    w.burst(pkts.iter().map(|p| on0(p)).collect());
    assert!(w.take_tx().is_empty());
    assert_eq!(w.io.resolves, vec![(1, ip(B2))]);
    assert_eq!(w.engine.held(), 3);
    w.assert_counters(3 * held(1) + waiting(3));

    w.at(ms(500)).tick();
    assert!(w.take_tx().is_empty());

    resolve_b2(&mut w);
    w.at(ms(600)).tick();
    let tx: Vec<_> = w.take_tx().into_iter().map(|(p, f)| (p, f.data)).collect();
    let want: Vec<_> = pkts
        .iter()
        .map(|p| (1, forwarded(p, 1, B2_MAC, 1)))
        .collect();
    assert_eq!(tx, want);
    assert_eq!(w.engine.held(), 0);
    assert_eq!(w.io.resolves.len(), 1);
    w.assert_counters(3 * (held(1) + released()));
}

#[test]
fn resolution_is_asked_every_retrans_and_fails_after_mmaxtries() {
    let mut w = World::new();
    let first = to_b2(64);
    w.burst(vec![on0(&first), on0(&to_b2(63))]);
    let mut asked_at = vec![0];
    for t in [500, 999, 1000, 1500, 1999, 2000, 2500, 2999] {
        let before = w.io.resolves.len();
        w.at(ms(t)).tick();
        if w.io.resolves.len() > before {
            asked_at.push(t);
        }
    }
    assert_eq!(asked_at, vec![0, 1000, 2000]);
    assert!(w.io.resolves.iter().all(|r| *r == (1, ip(B2))));
    assert!(w.take_tx().is_empty());
    assert_eq!(w.engine.held(), 2);

    w.at(ms(3000)).tick();
    assert_eq!(w.io.resolves.len(), 3, "no request at the failure");
    // Only the oldest packet is answered, with the hop limit it was held with.
    let e = only_icmp(&mut w);
    assert_error(
        &e,
        0,
        A_MAC,
        ip("2001:db8::1"),
        ip(A),
        1,
        3,
        0,
        &decremented(&first),
    );
    assert_eq!(w.engine.held(), 0);
    let done = 2 * (held(1) + lost(1)) + error_sent(0, 1, 3);
    w.assert_counters(done.clone());

    w.at(secs(10)).tick();
    assert!(w.take_tx().is_empty());
    w.assert_counters(done);
}

#[test]
fn retrans_and_mmaxtries_come_from_the_settings() {
    let mut s = snapshot();
    s.settings.nd6_retrans = ms(250);
    s.settings.nd6_mmaxtries = 2;
    let mut w = World::with(s);
    w.send(on0(&to_b2(64)));
    w.at(ms(249)).tick();
    w.at(ms(250)).tick();
    w.at(ms(499)).tick();
    assert_eq!(w.io.resolves.len(), 2);
    assert!(w.take_tx().is_empty());
    w.at(ms(500)).tick();
    assert_eq!(only_icmp(&mut w).code, 3);
    assert_eq!(w.engine.held(), 0);
}

#[test]
fn a_later_packet_joins_the_queue_without_restarting_its_clock() {
    let mut w = World::new();
    w.send(on0(&to_b2(64)));
    w.at(ms(2500)).send(on0(&to_b2(63)));
    assert_eq!(w.io.resolves.len(), 1);
    w.at(ms(3000)).tick();
    assert_eq!(w.take_tx().len(), 1, "one answer for the queue");
    assert_eq!(w.engine.held(), 0);
    assert_eq!(w.stats().fates.drop_unresolved, 2);
}

#[test]
fn resolution_before_the_deadline_cancels_the_failure() {
    let mut w = World::new();
    let l3 = to_b2(64);
    w.send(on0(&l3));
    w.at(ms(2500)).tick();
    resolve_b2(&mut w);
    w.at(ms(2600)).tick();
    assert_eq!(w.take_tx()[0].1.data, forwarded(&l3, 1, B2_MAC, 1));
    w.at(ms(3000)).tick();
    w.at(ms(9000)).tick();
    assert!(w.take_tx().is_empty());
    w.assert_counters(held(1) + released());
}

#[test]
fn full_queue_evicts_the_oldest_and_answers_it() {
    let mut s = snapshot();
    s.settings.nd6_maxqlen = 2;
    let mut w = World::with(s);
    let pkts = [to_b2(64), to_b2(63), to_b2(62)];
    w.burst(vec![on0(&pkts[0]), on0(&pkts[1])]);
    assert!(w.take_tx().is_empty());
    w.send(on0(&pkts[2]));
    let e = only_icmp(&mut w);
    assert_error(
        &e,
        0,
        A_MAC,
        ip("2001:db8::1"),
        ip(A),
        1,
        3,
        0,
        &decremented(&pkts[0]),
    );
    assert_eq!(w.engine.held(), 2);
    assert_eq!(w.io.resolves, vec![(1, ip(B2))]);
    let after_eviction = 3 * held(1) + lost(1) + error_sent(0, 1, 3);
    w.assert_counters(after_eviction.clone() + waiting(2));

    resolve_b2(&mut w);
    w.at(ms(10)).tick();
    let tx: Vec<_> = w.take_tx().into_iter().map(|(p, f)| (p, f.data)).collect();
    assert_eq!(
        tx,
        vec![
            (1, forwarded(&pkts[1], 1, B2_MAC, 1)),
            (1, forwarded(&pkts[2], 1, B2_MAC, 1))
        ]
    );
    w.assert_counters(after_eviction + 2 * released());
}

#[test]
fn packets_for_different_next_hops_wait_apart() {
    let mut w = World::new();
    let other = "2001:db8:1::7";
    let l3 = to_b2(64);
    w.burst(vec![on0(&l3), Ip6::udp(A, other).on(0)]);
    assert_eq!(w.io.resolves, vec![(1, ip(B2)), (1, ip(other))]);
    resolve_b2(&mut w);
    w.at(ms(100)).tick();
    let tx = w.take_tx();
    assert_eq!(tx.len(), 1);
    assert_eq!(tx[0].1.data, forwarded(&l3, 1, B2_MAC, 1));
    assert_eq!(w.engine.held(), 1);
    w.at(ms(3000)).tick();
    let e = only_icmp(&mut w);
    assert_eq!((e.ty, e.code, e.dst), (1, 3, ip(A)));
    assert_eq!(w.engine.held(), 0);
}

#[test]
fn packets_through_an_unresolved_gateway_wait_for_the_gateway() {
    let mut s = snapshot();
    let mut n = dataplane::neigh::Neighbors::default();
    for (i, a, m) in neighbors().iter().filter(|(_, a, _)| *a != ip("fe80::aa")) {
        n.insert(i, a, m);
    }
    s.neighbors = n;
    let mut w = World::with(s);
    let l3 = Ip6::udp(A, FAR1).bytes();
    w.send(on0(&l3));
    assert_eq!(w.io.resolves, vec![(1, ip("fe80::aa"))]);
    w.update(|s| s.neighbors = neighbors());
    w.at(ms(1)).tick();
    assert_eq!(w.take_tx()[0].1.data, forwarded(&l3, 1, AA_MAC, 1));
}

#[test]
fn hold_table_takes_at_most_64_next_hops() {
    let mut w = World::new();
    let dsts: Vec<String> = (0..65).map(|i| format!("2001:db8:1::1:{i:x}")).collect();
    w.burst(dsts.iter().map(|d| Ip6::udp(A, d).on(0)).collect());
    assert_eq!(w.io.resolves.len(), 64);
    assert!(!w.io.resolves.contains(&(1, ip(&dsts[64]))));
    assert_eq!(w.engine.held(), 64);
    // A next hop already waiting still takes packets.
    w.send(Ip6::udp(A, &dsts[0]).on(0));
    assert_eq!(w.engine.held(), 65);
    assert!(w.take_tx().is_empty(), "dropped without an answer");
    w.assert_counters(
        65 * held(1)
            + waiting(65)
            + rx(0)
            + c(&[("ip6s_cantforward", 1), ("drop_unresolved", 1)])
            + ifc(1, "ifs6_out_discard"),
    );
}

#[test]
fn shutdown_gives_up_every_held_packet() {
    let mut w = World::new();
    w.burst(vec![
        on0(&to_b2(64)),
        on0(&to_b2(63)),
        Ip6::udp(A2, REJECT).on(0),
    ]);
    assert_eq!(w.engine.held(), 3, "two forwarded packets and an error");
    let before = 2 * held(1)
        + rx(0)
        + c(&[("ip6s_cantforward", 1), ("drop_reject", 1)])
        + error_sent(0, 1, 6);
    w.assert_counters(before.clone() + waiting(2));
    w.shutdown();
    assert!(w.take_tx().is_empty());
    assert_eq!(w.engine.held(), 0);
    // Given up at shutdown as when resolution fails: nd6_output's error.
    let after = before
        + c(&[
            ("icp6s_dropped", 3),
            ("ip6s_cantforward", 3),
            ("drop_unresolved", 2),
        ])
        + 2 * ifc(1, "ifs6_out_discard")
        + ifc(0, "ifs6_out_discard");
    w.assert_counters(after);
}

#[test]
fn tick_with_nothing_held_does_nothing() {
    let mut w = World::new();
    w.at(secs(100)).tick();
    assert!(w.take_tx().is_empty() && w.io.resolves.is_empty());
    w.assert_counters(Counts::default());
}

#[test]

fn failure_answer_obeys_the_rate_limit_of_the_snapshot_it_is_given() {
    let mut s = snapshot();
    s.settings.icmp6errppslim = 0;
    let mut w = World::with(s);
    w.send(on0(&to_b2(64)));
    w.update(|s| s.settings.icmp6errppslim = 100);
    w.at(ms(3000)).tick();
    let e = only_icmp(&mut w);
    assert_eq!((e.ty, e.code), (1, 3));
}

#[test]
fn next_hop_on_a_connected_route_without_an_address_is_a_neighbour() {
    let mut s = snapshot();
    let mut r = routes();
    r.push(route("2001:db8:50::", 64, 1));
    s.fib = dataplane::fib::Fib::new(r);
    let mut w = World::with(s);
    w.send(Ip6::udp(A, "2001:db8:50::7").on(0));
    assert_eq!(w.io.resolves, vec![(1, ip("2001:db8:50::7"))]);
    w.assert_counters(held(1) + waiting(1));
}

#[test]
fn an_error_finding_the_hold_table_full_is_dropped() {
    let mut w = World::new();
    let dsts: Vec<String> = (0..64).map(|i| format!("2001:db8:1::1:{i:x}")).collect();
    w.burst(dsts.iter().map(|d| Ip6::udp(A, d).on(0)).collect());
    w.send(Ip6::udp(A2, REJECT).on(0));
    assert!(w.take_tx().is_empty());
    assert_eq!(w.engine.held(), 64);
    w.assert_counters(
        64 * held(1)
            + waiting(64)
            + rx(0)
            + c(&[
                ("ip6s_cantforward", 1),
                ("drop_reject", 1),
                ("ip6s_odropped", 1),
            ])
            + error_sent(0, 1, 6),
    );
}

#[test]

fn a_received_packet_evicted_by_an_error_is_still_answered() {
    let mut s = snapshot();
    s.settings.nd6_maxqlen = 1;
    let mut w = World::with(s);
    // B's packet waits on port0 for A2...
    let waiting = Ip6::udp(B, A2).bytes();
    w.send(frame(1, PORT_MAC[1], &waiting));
    // ...and an error to A2 takes its place in the one-packet queue.
    w.send(Ip6::udp(A2, REJECT).on(0));
    let e = only_icmp(&mut w);
    assert_error(
        &e,
        1,
        B_MAC,
        ip("2001:db8:1::1"),
        ip(B),
        1,
        3,
        0,
        &decremented(&waiting),
    );
}
