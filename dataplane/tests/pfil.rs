//! Output filter rules, run where the seed runs `pfil_run_hooks`: after the
//! MTU, redirect and loopback decisions and before `nd6_output`.

mod common;

use common::*;
use dataplane::iface::IfFlags;
use dataplane::pfil::{Action, Pfil, Ports, Rule};

fn filtered(rules: Vec<Rule>) -> World {
    let mut s = snapshot();
    s.pfil = Pfil::new(rules);
    World::with(s)
}

/// Dropped by rule `i`.
fn dropped_by(i: usize) -> Counts {
    rx(0) + c(&[("drop_filtered", 1), (format!("filter[{i}]").as_str(), 1)])
}

#[test]
fn drop_rule_discards_silently() {
    let mut r = Rule::new(Action::Drop);
    r.dst = Some((ip("2001:db8:1::"), 64));
    let mut w = filtered(vec![r]);
    w.send(Ip6::udp(A, B).on(0));
    assert!(w.take_tx().is_empty());
    w.assert_counters(dropped_by(0));
    // Traffic the rule does not cover passes, counting no hit.
    w.send(Ip6::udp(A, C).on(0));
    assert_eq!(w.take_tx()[0].0, 2);
    w.assert_counters(dropped_by(0) + rx(0) + fwd(2));
}

#[test]
fn reject_rule_answers_administratively_prohibited() {
    let mut w = filtered(vec![Rule::new(Action::Reject)]);
    let l3 = Ip6::udp(A, B).bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    let e = only_icmp(&mut w);
    assert_error(
        &e,
        0,
        A_MAC,
        ip("2001:db8::1"),
        ip(A),
        1,
        1,
        0,
        &decremented(&l3),
    );
    w.assert_counters(dropped_by(0) + error_sent(0, 1, 1));
}

#[test]
fn first_matching_rule_decides() {
    let mut dns = Rule::new(Action::Pass);
    dns.proto = Some(17);
    dns.dport = Some(Ports { low: 53, high: 53 });
    let mut w = filtered(vec![dns, Rule::new(Action::Drop)]);
    let l3 = Ip6::udp(A, B).bytes(); // UDP 12345 -> 53
    w.send(frame(0, PORT_MAC[0], &l3));
    assert_eq!(w.take_tx()[0].1.data, forwarded(&l3, 1, B_MAC, 1));
    let mut other = Ip6::udp(A, B);
    other.payload[3] = 54;
    w.send(other.on(0));
    assert!(w.take_tx().is_empty());
    w.assert_counters(rx(0) + fwd(1) + c(&[("filter[0]", 1)]) + dropped_by(1));
}

#[test]
fn rules_match_interfaces_and_source_prefixes() {
    let mut by_oif = Rule::new(Action::Drop);
    by_oif.oif = Some(2);
    let mut by_iif = Rule::new(Action::Drop);
    by_iif.iif = Some(1);
    let mut by_src = Rule::new(Action::Drop);
    by_src.src = Some((ip("2001:db8:100::"), 48));
    let mut w = filtered(vec![by_oif, by_iif, by_src]);
    w.send(Ip6::udp(A, C).on(0)); // out port2: rule 0
    w.send(Ip6::udp(B, A).on(1)); // in port1: rule 1
    w.send(Ip6::udp(FAR1, A).on(2)); // from 2001:db8:100::/48: rule 2
    w.send(Ip6::udp(A, B).on(0)); // none
    let tx = w.take_tx();
    assert_eq!(tx.len(), 1);
    assert_eq!(tx[0].0, 1);
    w.assert_counters(
        rx(0)
            + rx(1)
            + rx(2)
            + c(&[
                ("drop_filtered", 3),
                ("filter[0]", 1),
                ("filter[1]", 1),
                ("filter[2]", 1),
            ])
            + rx(0)
            + fwd(1),
    );
}

#[test]
fn rules_see_the_protocol_past_extension_headers() {
    let mut udp = Rule::new(Action::Drop);
    udp.proto = Some(17);
    udp.sport = Some(Ports {
        low: 12345,
        high: 12345,
    });
    let mut w = filtered(vec![udp]);
    w.send(Ip6::udp(A, B).hbh(&[0x01, 0x04, 0, 0, 0, 0]).on(0));
    assert!(w.take_tx().is_empty());
    w.assert_counters(dropped_by(0));
}

#[test]
fn too_big_is_decided_before_the_filter() {
    let mut w = filtered(vec![Rule::new(Action::Drop)]);
    w.send(Ip6::udp(A, C).sized(1501).on(0));
    assert_eq!(only_icmp(&mut w).ty, 2);
    w.assert_counters(
        rx(0) + c(&[("drop_toobig", 1)]) + ifc(2, "ifs6_in_toobig") + error_sent(0, 2, 0),
    );
}

#[test]
fn hop_limit_reject_and_scope_are_decided_before_the_filter() {
    let mut w = filtered(vec![Rule::new(Action::Drop)]);
    w.send(Ip6::udp(A, B).hlim(1).on(0));
    w.send(Ip6::udp(A, REJECT).on(0));
    w.send(Ip6::udp(A_LL, B).on(0));
    let kinds: Vec<_> = w
        .take_tx()
        .iter()
        .map(|(p, f)| {
            let e = parse_icmp(*p, f);
            (e.ty, e.code)
        })
        .collect();
    assert_eq!(kinds, vec![(3, 0), (1, 6), (1, 2)]);
    assert_eq!(w.stats().filter_hits[0], 0);
}

#[test]
fn point_to_point_loop_is_decided_before_the_filter() {
    let mut s = snapshot();
    s.ifnets[0].flags = IfFlags {
        pointopoint: true,
        ..Default::default()
    };
    s.pfil = Pfil::new(vec![Rule::new(Action::Drop)]);
    let mut w = World::with(s);
    w.send(Ip6::udp(A, VIA_CC).on(0));
    let e = only_icmp(&mut w);
    assert_eq!((e.ty, e.code), (1, 3));
    w.assert_counters(rx(0) + c(&[("drop_p2p_loop", 1)]) + error_sent(0, 1, 3));
}

#[test]
fn a_filtered_packet_gets_no_redirect() {
    let mut w = filtered(vec![Rule::new(Action::Drop)]);
    w.send(Ip6::udp(A, VIA_CC).on(0));
    assert!(w.take_tx().is_empty());
    w.assert_counters(dropped_by(0));
}

#[test]
fn a_filtered_packet_is_not_held() {
    let mut w = filtered(vec![Rule::new(Action::Drop)]);
    w.send(Ip6::udp(A, B2).on(0));
    assert!(w.io.resolves.is_empty());
    assert_eq!(w.engine.held(), 0);
    w.assert_counters(dropped_by(0));
}

#[test]
fn packets_for_the_router_are_not_filtered() {
    let mut w = filtered(vec![Rule::new(Action::Drop)]);
    w.send(Ip6::udp(A, "2001:db8::1").on(0));
    assert_eq!(w.io.punted.len(), 1);
    w.assert_counters(rx(0) + delivered(0));
}

#[test]

fn packets_routed_to_the_loopback_are_filtered() {
    let mut w = filtered(vec![Rule::new(Action::Drop)]);
    w.send(Ip6::udp(A, TO_LO).on(0));
    assert!(w.io.punted.is_empty(), "punted past the filter");
    w.assert_counters(dropped_by(0));
}
