//! `ip6_forward`, branch by branch in the seed's order: what goes out, on
//! which port, with which bytes changed, and which counters move.

mod common;

use common::*;
use dataplane::forward::LogEvent;
use dataplane::iface::IfFlags;
use dataplane::wire::ethernet::Address as Mac;

#[test]
fn forwards_to_a_resolved_neighbour_changing_only_macs_and_hop_limit() {
    let mut w = World::new();
    let mut p = Ip6::udp(A, B);
    p.tc = 0xb8;
    p.flow = 0x12345;
    let l3 = p.bytes();
    w.send(p.on(0));
    let tx = w.take_tx();
    assert_eq!(tx.len(), 1);
    assert_eq!(tx[0].0, 1);
    assert_eq!(tx[0].1.data, forwarded(&l3, 1, B_MAC, 1));
    w.assert_counters(rx(0) + fwd(1));
    assert!(w.io.punted.is_empty() && w.io.resolves.is_empty() && w.io.logs.is_empty());
}

#[test]
fn forwards_through_a_link_local_gateway() {
    let mut w = World::new();
    let l3 = Ip6::udp(A, FAR1).bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    let tx = w.take_tx();
    assert_eq!(tx.len(), 1);
    assert_eq!((tx[0].0, &tx[0].1.data), (1, &forwarded(&l3, 1, AA_MAC, 1)));
    w.assert_counters(rx(0) + fwd(1));
}

#[test]
fn forwards_through_a_global_gateway() {
    let mut w = World::new();
    let l3 = Ip6::udp(B, FAR2).hlim(2).bytes();
    w.send(frame(1, PORT_MAC[1], &l3));
    let tx = w.take_tx();
    assert_eq!(tx.len(), 1);
    assert_eq!((tx[0].0, &tx[0].1.data), (2, &forwarded(&l3, 2, BB_MAC, 1)));
    assert_eq!(tx[0].1.data[14 + 7], 1);
    w.assert_counters(rx(1) + fwd(2));
}

#[test]
fn a_packet_exactly_the_link_mtu_is_forwarded_intact() {
    let mut w = World::new();
    let l3 = Ip6::udp(A, C).sized(1500).bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    let tx = w.take_tx();
    assert_eq!(tx.len(), 1);
    assert_eq!((tx[0].0, &tx[0].1.data), (2, &forwarded(&l3, 2, C_MAC, 1)));
    w.assert_counters(rx(0) + fwd(2));
}

#[test]
fn a_burst_is_forwarded_in_order() {
    let mut w = World::new();
    let pkts: Vec<_> = (0..5u8)
        .map(|i| Ip6::udp(A, B).hlim(10 + i).bytes())
        .collect();
    w.burst(pkts.iter().map(|l3| frame(0, PORT_MAC[0], l3)).collect());
    let tx = w.take_tx();
    let got: Vec<_> = tx.iter().map(|(p, f)| (*p, f.data.clone())).collect();
    let want: Vec<_> = pkts
        .iter()
        .map(|l3| (1, forwarded(l3, 1, B_MAC, 1)))
        .collect();
    assert_eq!(got, want);
    w.assert_counters(5 * (rx(0) + fwd(1)));
}

#[test]
fn hop_limit_one_is_answered_with_time_exceeded_quoting_the_undecremented_packet() {
    let mut w = World::new();
    let l3 = Ip6::udp(A, B).hlim(1).bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    let e = only_icmp(&mut w);
    assert_error(&e, 0, A_MAC, ip("2001:db8::1"), ip(A), 3, 0, 0, &l3);
    assert_eq!(e.body[7], 1, "the quote shows the hop limit as received");
    w.assert_counters(rx(0) + c(&[("drop_hlim", 1)]) + error_sent(0, 3, 0));
}

#[test]
fn hop_limit_zero_is_answered_with_time_exceeded() {
    let mut w = World::new();
    let l3 = Ip6::udp(A, B).hlim(0).bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    let e = only_icmp(&mut w);
    assert_error(&e, 0, A_MAC, ip("2001:db8::1"), ip(A), 3, 0, 0, &l3);
    w.assert_counters(rx(0) + c(&[("drop_hlim", 1)]) + error_sent(0, 3, 0));
}

#[test]
fn hop_limit_is_checked_before_the_route() {
    let mut w = World::new();
    let l3 = Ip6::udp(A, NOWHERE).hlim(1).bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    let e = only_icmp(&mut w);
    assert_eq!((e.ty, e.code), (3, 0));
    w.assert_counters(rx(0) + c(&[("drop_hlim", 1)]) + error_sent(0, 3, 0));
}

#[test]
fn stealth_forwards_without_checking_or_decrementing_the_hop_limit() {
    let mut s = snapshot();
    s.settings.stealth = true;
    let mut w = World::with(s);
    for hlim in [1, 0, 64] {
        let l3 = Ip6::udp(A, B).hlim(hlim).bytes();
        w.send(frame(0, PORT_MAC[0], &l3));
        let tx = w.take_tx();
        assert_eq!(tx.len(), 1);
        assert_eq!((tx[0].0, &tx[0].1.data), (1, &forwarded(&l3, 1, B_MAC, 0)));
    }
    w.assert_counters(3 * (rx(0) + fwd(1)));
}

#[test]
fn no_route_is_answered_with_unreachable_no_route_quoting_the_decremented_packet() {
    let mut w = World::new();
    let l3 = Ip6::udp(A, "2001:db8:9999::1").bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    let e = only_icmp(&mut w);
    assert_error(
        &e,
        0,
        A_MAC,
        ip("2001:db8::1"),
        ip(A),
        1,
        0,
        0,
        &decremented(&l3),
    );
    w.assert_counters(
        rx(0)
            + c(&[("ip6s_noroute", 1), ("drop_noroute", 1)])
            + ifc(0, "ifs6_in_noroute")
            + error_sent(0, 1, 0),
    );
}

#[test]
fn reject_route_is_answered_with_unreachable_code_6() {
    let mut w = World::new();
    let l3 = Ip6::udp(A, REJECT).bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    let e = only_icmp(&mut w);
    assert_error(
        &e,
        0,
        A_MAC,
        ip("2001:db8::1"),
        ip(A),
        1,
        6,
        0,
        &decremented(&l3),
    );
    w.assert_counters(
        rx(0) + c(&[("ip6s_cantforward", 1), ("drop_reject", 1)]) + error_sent(0, 1, 6),
    );
}

#[test]
fn blackhole_route_drops_silently() {
    let mut w = World::new();
    w.send(Ip6::udp(A, BLACKHOLE).on(0));
    assert!(w.take_tx().is_empty());
    assert!(w.io.punted.is_empty());
    w.assert_counters(rx(0) + c(&[("ip6s_cantforward", 1), ("drop_blackhole", 1)]));
}

#[test]
fn too_big_is_answered_with_the_outgoing_link_mtu() {
    let mut w = World::new();
    let l3 = Ip6::udp(A, C).sized(1501).bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    let e = only_icmp(&mut w);
    assert_error(
        &e,
        0,
        A_MAC,
        ip("2001:db8::1"),
        ip(A),
        2,
        0,
        1500,
        &decremented(&l3),
    );
    assert_eq!(e.body.len(), 1232);
    w.assert_counters(
        rx(0) + c(&[("drop_toobig", 1)]) + ifc(2, "ifs6_in_toobig") + error_sent(0, 2, 0),
    );
}

#[test]
fn too_big_uses_the_mtu_of_the_outgoing_link_not_the_incoming_one() {
    let mut s = snapshot();
    s.ifnets[1].mtu = 1280;
    let mut w = World::with(s);
    let ok = Ip6::udp(A, B).sized(1280).bytes();
    w.send(frame(0, PORT_MAC[0], &ok));
    assert_eq!(w.take_tx()[0].1.data, forwarded(&ok, 1, B_MAC, 1));
    let big = Ip6::udp(A, B).sized(1281).bytes();
    w.send(frame(0, PORT_MAC[0], &big));
    let e = only_icmp(&mut w);
    assert_error(
        &e,
        0,
        A_MAC,
        ip("2001:db8::1"),
        ip(A),
        2,
        0,
        1280,
        &decremented(&big),
    );
    w.assert_counters(
        2 * rx(0)
            + fwd(1)
            + c(&[("drop_toobig", 1)])
            + ifc(1, "ifs6_in_toobig")
            + error_sent(0, 2, 0),
    );
}

#[test]
fn link_local_source_cannot_leave_its_link() {
    let mut w = World::new();
    let l3 = Ip6::udp(A_LL, B).bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    let e = only_icmp(&mut w);
    assert_error(&e, 0, A_MAC, ll(0), ip(A_LL), 1, 2, 0, &decremented(&l3));
    assert_eq!(
        w.io.logs,
        vec![LogEvent {
            src: ip(A_LL),
            dst: ip(B),
            nxt: 17,
            rcvif: 0,
            outif: Some(1),
        }]
    );
    w.assert_counters(
        rx(0)
            + c(&[
                ("ip6s_cantforward", 1),
                ("ip6s_badscope", 1),
                ("drop_badscope", 1),
            ])
            + ifc(1, "ifs6_in_discard")
            + error_sent(0, 1, 2),
    );
}

#[test]
fn source_scope_is_checked_before_the_mtu() {
    let mut w = World::new();
    let l3 = Ip6::udp(A_LL, B).sized(1501).bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    let e = only_icmp(&mut w);
    assert_eq!((e.ty, e.code, e.body.len()), (1, 2, 1232));
}

#[test]
fn reject_is_decided_before_the_source_scope() {
    let mut w = World::new();
    w.send(Ip6::udp(A_LL, REJECT).on(0));
    let e = only_icmp(&mut w);
    assert_eq!((e.ty, e.code, e.src, e.dst), (1, 6, ll(0), ip(A_LL)));
    assert!(w.io.logs.is_empty());
}

/// Site-local zones are 0 everywhere by default; give port1 its own.
fn site_zoned() -> World {
    let mut s = snapshot();
    s.ifnets[1].zones.0[5] = 7;
    let mut routes = routes();
    routes.push(route("fec0:1::", 32, 1));
    routes.push(route("fec0::", 32, 0));
    s.fib = dataplane::fib::Fib::new(routes);
    s.neighbors.insert(0, ip("fec0::5"), A_MAC);
    World::with(s)
}

#[test]
fn site_local_source_beyond_its_zone_is_answered_beyond_scope() {
    let mut w = site_zoned();
    let l3 = Ip6::udp("fec0::5", B).bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    let e = only_icmp(&mut w);
    // No site-local address on the router: rule 2 picks the global one of
    // the outgoing interface.
    assert_error(
        &e,
        0,
        A_MAC,
        ip("2001:db8::1"),
        ip("fec0::5"),
        1,
        2,
        0,
        &decremented(&l3),
    );
    w.assert_counters(
        rx(0)
            + c(&[
                ("ip6s_cantforward", 1),
                ("ip6s_badscope", 1),
                ("drop_badscope", 1),
            ])
            + ifc(1, "ifs6_in_discard")
            + error_sent(0, 1, 2),
    );
}

#[test]
fn destination_beyond_its_zone_is_dropped_silently() {
    let mut w = site_zoned();
    w.send(Ip6::udp(A, "fec0:1::9").on(0));
    assert!(w.take_tx().is_empty());
    assert!(w.io.logs.is_empty());
    w.assert_counters(
        rx(0)
            + c(&[
                ("ip6s_cantforward", 1),
                ("ip6s_badscope", 1),
                ("drop_badscope", 1),
            ]),
    );
}

#[test]
fn unspecified_source_cannot_be_forwarded() {
    let mut w = World::new();
    w.send(Ip6::udp("::", B).on(0));
    assert!(w.take_tx().is_empty());
    assert_eq!(
        w.io.logs,
        vec![LogEvent {
            src: ip("::"),
            dst: ip(B),
            nxt: 17,
            rcvif: 0,
            outif: None,
        }]
    );
    w.assert_counters(rx(0) + c(&[("ip6s_cantforward", 1), ("drop_cantforward", 1)]));
}

#[test]
fn multicast_group_not_joined_goes_to_ip6_forward_and_is_dropped() {
    let mut w = World::new();
    for g in ["ff02::1:ff00:99", "ff05::1:3", "ff0e::1"] {
        w.send(Ip6::udp(A, g).on(0));
    }
    assert!(w.take_tx().is_empty() && w.io.punted.is_empty());
    // One line: the log limiter holds the next two back.
    assert_eq!(
        w.io.logs,
        vec![LogEvent {
            src: ip(A),
            dst: ip("ff02::1:ff00:99"),
            nxt: 17,
            rcvif: 0,
            outif: None,
        }]
    );
    w.assert_counters(
        3 * (rx(0)
            + c(&[("ip6s_cantforward", 1), ("drop_cantforward", 1)])
            + ifc(0, "ifs6_in_mcast")),
    );
}

#[test]
fn unicast_packet_in_a_link_layer_multicast_frame_is_not_forwarded() {
    let mut w = World::new();
    let l3 = Ip6::udp(A, B).bytes();
    w.send(frame(0, Mac::BROADCAST, &l3));
    w.send(frame(0, Mac([0x33, 0x33, 0, 0, 0, 1]), &l3));
    assert!(w.take_tx().is_empty());
    assert_eq!(w.io.logs.len(), 1);
    w.assert_counters(2 * (rx(0) + c(&[("ip6s_cantforward", 1), ("drop_cantforward", 1)])));
}

#[test]
fn cannot_forward_lines_are_limited_by_log_interval() {
    let mut s = snapshot();
    s.settings.log_interval = secs(2);
    let mut w = World::with(s);
    let mut logged_at = vec![];
    for t in [0, 1000, 2000, 2001, 3000, 4001, 4002] {
        let before = w.io.logs.len();
        w.at(ms(t)).send(Ip6::udp("::", B).on(0));
        if w.io.logs.len() > before {
            logged_at.push(t);
        }
    }
    // A line, then silence until strictly more than the interval has passed.
    assert_eq!(logged_at, vec![0, 2001, 4002]);
    w.assert_counters(7 * (rx(0) + c(&[("ip6s_cantforward", 1), ("drop_cantforward", 1)])));
}

#[test]
fn both_kinds_of_cannot_forward_line_share_one_limiter() {
    let mut w = World::new();
    w.send(Ip6::udp("::", B).on(0));
    w.at(ms(100)).send(Ip6::udp(A_LL, B).on(0));
    assert_eq!(w.io.logs.len(), 1);
    w.at(ms(5100)).send(Ip6::udp(A_LL, B).on(0));
    assert_eq!(w.io.logs.len(), 2);
    assert_eq!(w.io.logs[1].outif, Some(1));
}

#[test]
fn link_local_destination_is_routed_on_the_receiving_interface() {
    let mut s = snapshot();
    s.settings.sendredirects = false;
    let mut w = World::with(s);
    // fe80::aa is a known neighbour on port1, but a packet that arrived on
    // port0 is for the fe80::aa of port0's link.
    let l3 = Ip6::udp(A, "fe80::aa").bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    assert!(w.take_tx().is_empty());
    assert_eq!(w.io.resolves, vec![(0, ip("fe80::aa"))]);
    assert_eq!(w.engine.held(), 1);
    // Received on port1, the same address is port1's neighbour.
    let l3b = Ip6::udp(B, "fe80::aa").bytes();
    w.send(frame(1, PORT_MAC[1], &l3b));
    let tx = w.take_tx();
    assert_eq!(tx.len(), 1);
    assert_eq!(
        (tx[0].0, &tx[0].1.data),
        (1, &forwarded(&l3b, 1, AA_MAC, 1))
    );
    w.assert_counters(
        rx(0)
            + c(&[("ip6s_forward", 1), ("held", 1)])
            + ifc(0, "ifs6_out_forward")
            + rx(1)
            + fwd(1),
    );
}

#[test]
fn loopback_route_brings_the_packet_back_until_its_hop_limit_runs_out() {
    // The seed's looutput hands the packet back in on the interface it was
    // received on; not being the router's, it is forwarded again, one hop
    // a pass, until Time Exceeded quotes it as it arrived the last time.
    let mut w = World::new();
    let l3 = Ip6::udp(A, TO_LO).hlim(3).bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    let e = only_icmp(&mut w);
    assert!(w.io.punted.is_empty());
    let mut last_pass = l3.clone();
    last_pass[7] = 1;
    assert_error(&e, 0, A_MAC, ip("2001:db8::1"), ip(A), 3, 0, 0, &last_pass);
    w.assert_counters(
        rx(0)
            + ifc(0, "ifs6_in_receive")
            + ifc(0, "ifs6_in_receive")
            + c(&[("ip6s_total", 2), ("ip6s_forward", 2), ("drop_hlim", 1)])
            + ifc(LO.into(), "ifs6_out_forward")
            + ifc(LO.into(), "ifs6_out_forward")
            + error_sent(0, 3, 0),
    );
}

#[test]
fn next_hop_that_is_not_a_neighbour_is_dropped_silently() {
    let mut w = World::new();
    w.send(Ip6::udp(A, UNREACHABLE_GW).on(0));
    assert!(w.take_tx().is_empty());
    assert!(w.io.resolves.is_empty());
    assert_eq!(w.engine.held(), 0);
    w.assert_counters(
        rx(0) + c(&[("ip6s_cantforward", 1), ("drop_unresolved", 1)]) + ifc(2, "ifs6_out_discard"),
    );
}

#[test]
fn link_layer_padding_is_not_forwarded() {
    let mut w = World::new();
    // The smallest IPv6 packet, padded to the Ethernet minimum of 60 bytes.
    let mut p = Ip6::udp(A, B);
    p.nxt = 59;
    p.payload.clear();
    let l3 = p.bytes();
    let mut f = frame(0, PORT_MAC[0], &l3);
    f.data.resize(60, 0xee);
    w.send(f);
    let tx = w.take_tx();
    assert_eq!(tx[0].1.data, forwarded(&l3, 1, B_MAC, 1));
    assert_eq!(tx[0].1.data.len(), 54);
    w.assert_counters(rx(0) + fwd(1));
}

#[test]
fn a_new_snapshot_replaces_cached_routes() {
    let mut w = World::new();
    w.send(Ip6::udp(A, B).on(0));
    assert_eq!(w.take_tx()[0].0, 1);
    w.update(|s| {
        let mut r = routes();
        r[1].flags.blackhole = true;
        s.fib = dataplane::fib::Fib::new(r);
    });
    w.send(Ip6::udp(A, B).on(0));
    assert!(w.take_tx().is_empty());
    w.assert_counters(2 * rx(0) + fwd(1) + c(&[("ip6s_cantforward", 1), ("drop_blackhole", 1)]));
}

#[test]
fn a_mixed_burst_is_conserved() {
    let mut w = World::new();
    let burst = vec![
        Ip6::udp(A, B).on(0),
        Ip6::udp(A, "2001:db8::1").on(0),
        Ip6::udp(A, BLACKHOLE).on(0),
        Ip6::udp(A, REJECT).on(0),
        Ip6::udp(A, B2).on(0),
        Ip6::udp(A, B).hlim(1).on(0),
        Ip6::udp(A, "ff02::1").on(0),
        Ip6::udp(A, "ff02::9").on(0),
        frame(0, PORT_MAC[0], &[0x60; 20]),
        frame(0, Mac([2, 0, 0, 0, 0, 9]), &Ip6::udp(A, B).bytes()),
    ];
    w.burst(burst);
    let f = w.stats().fates;
    assert_eq!(f.received, 10);
    assert_eq!((f.forwarded, f.punted, f.held), (1, 2, 1));
    assert_eq!(w.stats().dropped(), 6);
    assert_eq!(w.take_tx().len(), 3, "the forwarded packet and two errors");
}

#[test]
fn point_to_point_link_forwards_back_out_when_redirects_are_off() {
    let mut s = snapshot();
    s.settings.sendredirects = false;
    s.ifnets[0].flags = IfFlags {
        pointopoint: true,
        ..Default::default()
    };
    let mut w = World::with(s);
    let l3 = Ip6::udp(A, VIA_CC).bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    let tx = w.take_tx();
    assert_eq!(tx.len(), 1);
    assert_eq!((tx[0].0, &tx[0].1.data), (0, &forwarded(&l3, 0, CC_MAC, 1)));
    w.assert_counters(rx(0) + fwd(0));
}

#[test]
fn unforwardable_packets_are_refused_before_the_hop_limit_is_looked_at() {
    let mut w = World::new();
    w.send(Ip6::udp(A, "ff05::1:3").hlim(1).on(0));
    w.send(Ip6::udp("::", B).hlim(1).on(0));
    assert!(w.take_tx().is_empty());
    w.assert_counters(
        2 * (rx(0) + c(&[("ip6s_cantforward", 1), ("drop_cantforward", 1)]))
            + ifc(0, "ifs6_in_mcast"),
    );
}
