//! MAC labels through the engine: packets labelled where they arrive,
//! checked wherever they leave (transmit, hold-queue release, loopback),
//! answers labelled from what they answer, and no label work without a
//! policy.

mod common;

use common::*;
use dataplane::mac::Errno;
use dataplane::mac::lattice::{self, Element};
use dataplane::wire::ethernet::Address as Mac;
use dataplane::wire::icmpv6::unreach;

fn mls(labels: &[(usize, &str)]) -> World {
    World::with(labelled(&[("mls", &[])], labels))
}

/// The mls effective element a packet carries (mls has slot 0).
fn mls_label(pkt: &dataplane::VecPacket) -> Option<Element> {
    lattice::decode(&pkt.label.slots[0])
}

fn level(n: u16) -> Element {
    format!("{n}").parse().unwrap()
}

/// The denial counter of the policy loaded first (id 0), by errno.
fn denied(w: &World, e: Errno) -> u64 {
    w.stats().mac_denied[0][e.index()]
}

#[test]
fn a_packet_leaves_only_where_its_label_is_in_range_and_is_answered_otherwise() {
    let mut w = mls(&[
        (0, "mls/5(low-high)"),
        (1, "mls/10(10-high)"),
        (2, "mls/low(low-5)"),
    ]);
    w.send(Ip6::udp(A, C).on(0));
    let tx = w.take_tx();
    assert_eq!(tx.len(), 1, "5 may leave by port2 (low-5)");
    assert_eq!(tx[0].0, 2);
    assert_eq!(mls_label(&tx[0].1), Some(level(5)), "labelled from port0");

    w.send(Ip6::udp(A, B).on(0));
    let sent = only_icmp(&mut w);
    assert_eq!(sent.port, 0);
    assert_eq!(
        (sent.ty, sent.code),
        (1, unreach::ADDR),
        "the seed's answer to an nd6_output error"
    );
    assert_eq!(denied(&w, Errno::EACCES), 1);
    let s = w.stats();
    assert_eq!(s.fates.drop_mac, 1);
    assert_eq!(s.ip6.ip6s_cantforward, 1);
    assert_eq!(s.ifs[1].ifs6_out_discard, 1);
}

#[test]
fn an_answer_carries_the_label_of_what_it_answers_and_is_checked_on_its_way() {
    let mut w = mls(&[(0, "mls/5(low-high)"), (1, "mls/10(10-high)")]);
    w.send(Ip6::udp(A, B).hlim(1).on(0));
    let tx = w.take_tx();
    assert_eq!(tx.len(), 1);
    assert_eq!(
        mls_label(&tx[0].1),
        Some(level(5)),
        "time exceeded labelled 5"
    );

    // A packet from B (behind port1) arriving on port0 is labelled 5; its
    // answer goes back to B by port1, whose range 10-high refuses 5.
    let mut w = mls(&[(0, "mls/5(low-high)"), (1, "mls/10(10-high)")]);
    w.send(Ip6::udp(B, C).hlim(1).on(0));
    assert!(
        w.take_tx().is_empty(),
        "the answer goes to B by port1, which refuses 5"
    );
    let s = w.stats();
    assert_eq!(s.ip6.ip6s_odropped, 1);
    assert_eq!(denied(&w, Errno::EACCES), 1);
}

#[test]
fn a_held_packet_is_checked_when_it_is_released() {
    let mut w = mls(&[(0, "mls/5(low-high)"), (1, "mls/10(10-high)")]);
    w.send(Ip6::udp(A, B2).on(0));
    assert_eq!(w.stats().fates.held, 1);
    w.update(|s| s.neighbors.insert(1, ip(B2), Mac([0x0a, 0, 0, 0, 0, 0xb2])));
    w.tick();
    assert!(w.take_tx().is_empty());
    let s = w.stats();
    assert_eq!(s.fates.held, 0);
    assert_eq!(s.fates.drop_mac, 1, "conserved: the refusal is its fate");
    assert_eq!(s.ifs[1].ifs6_out_discard, 1);
    assert_eq!(denied(&w, Errno::EACCES), 1);
}

#[test]
fn loopback_output_is_checked_against_the_interface_it_came_in_on() {
    let mut w = World::with(labelled(&[("ifoff", &[("other_enabled", "0")])], &[]));
    w.send(Ip6::udp(A, TO_LO).on(0));
    let s = w.stats();
    assert_eq!(s.fates.drop_mac, 1, "looutput(origifp = port0) refuses it");
    assert_eq!(s.fates.drop_hlim, 0, "refused on the first pass");
    assert_eq!(s.ifs[usize::from(LO)].ifs6_out_discard, 1);
    assert_eq!(denied(&w, Errno::EPERM), 2, "the packet, then its answer");
    assert!(w.take_tx().is_empty());

    let mut w = World::with(labelled(&[("ifoff", &[("other_enabled", "1")])], &[]));
    w.send(Ip6::udp(A, TO_LO).hlim(3).on(0));
    assert_eq!(w.stats().fates.drop_mac, 0);
    assert_eq!(
        w.stats().fates.drop_hlim,
        1,
        "round the loopback until the hop limit ends"
    );
}

#[test]
fn without_a_policy_no_label_is_touched() {
    let mut w = World::new();
    let mut pkt = Ip6::udp(A, C).on(0);
    pkt.label.slots[0].0 = [7; 5];
    let before = pkt.label;
    w.send(pkt);
    let tx = w.take_tx();
    assert_eq!(tx.len(), 1);
    assert_eq!(tx[0].1.label, before);
}

#[test]
fn with_the_test_policy_every_packet_label_ends_once() {
    let mut w = World::with(labelled(
        &[("mls", &[]), ("test", &[])],
        &[(1, "mls/10(10-high)")],
    ));
    w.burst(vec![
        Ip6::udp(A, C).on(0),
        Ip6::udp(A, B).on(0),
        Ip6::udp(A, B2).on(0),
        Ip6::udp(A, C).hlim(1).on(0),
        Ip6::udp(A, TO_LO).hlim(2).on(0),
    ]);
    w.at(secs(60)).tick();
    w.shutdown();
    let test = w.snap.mac.get("test").unwrap().report();
    let get = |k: &str| test.iter().find(|(n, _)| n == k).map(|(_, v)| *v).unwrap();
    assert!(get("mbuf_init_label") >= 5);
    assert_eq!(get("mbuf_labels_live"), 0, "{test:?}");
    assert_eq!(
        get("double_destroy") + get("use_after_destroy") + get("corrupted"),
        0
    );
}
