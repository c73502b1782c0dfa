//! `ether_input` and `ip6_input`: header checks in FreeBSD's order with its
//! counters, local delivery, and hop-by-hop options as
//! `ip6_process_hopopts` treats them.

mod common;

use common::*;
use dataplane::VecPacket;
use dataplane::wire::ethernet::Address as Mac;

/// The frame of `l3` as received on port0.
fn on0(l3: &[u8]) -> VecPacket {
    frame(0, PORT_MAC[0], l3)
}

#[test]
fn frame_shorter_than_an_ethernet_header_is_a_runt() {
    let mut w = World::new();
    w.send(VecPacket::new(
        vec![2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x86],
        0,
    ));
    w.assert_counters(c(&[("received", 1), ("drop_ether_runt", 1)]));
}

#[test]
fn frame_for_another_station_is_dropped() {
    let mut w = World::new();
    w.send(frame(0, PORT_MAC[1], &Ip6::udp(A, B).bytes()));
    assert!(w.take_tx().is_empty());
    w.assert_counters(c(&[("received", 1), ("drop_ether_otherhost", 1)]));
}

#[test]
fn frame_that_is_not_ipv6_is_dropped() {
    let mut w = World::new();
    let mut f = Ip6::udp(A, B).on(0);
    f.data[12..14].copy_from_slice(&[0x08, 0x00]);
    w.send(f);
    w.assert_counters(c(&[("received", 1), ("drop_ether_noproto", 1)]));
}

#[test]
fn frame_from_a_port_the_snapshot_does_not_know_is_dropped() {
    let mut w = World::new();
    let mut f = Ip6::udp(A, B).on(0);
    f.port = 7;
    w.send(f);
    w.assert_counters(c(&[("received", 1), ("drop_ether_otherhost", 1)]));
}

#[test]
fn packet_shorter_than_the_ipv6_header_is_too_small() {
    let mut w = World::new();
    let l3 = Ip6::udp(A, B).bytes();
    w.send(on0(&l3[..39]));
    w.assert_counters(
        rx(0)
            + c(&[("ip6s_toosmall", 1), ("drop_toosmall", 1)])
            + ifc(0, "ifs6_in_hdrerr")
            + ifc(0, "ifs6_in_discard"),
    );
}

#[test]
fn version_other_than_6_is_refused() {
    let mut w = World::new();
    let mut p = Ip6::udp(A, B);
    p.version = 4;
    w.send(p.on(0));
    assert!(w.take_tx().is_empty());
    w.assert_counters(
        rx(0)
            + c(&[("ip6s_badvers", 1), ("drop_badvers", 1)])
            + ifc(0, "ifs6_in_hdrerr")
            + ifc(0, "ifs6_in_discard"),
    );
}

#[test]
fn invalid_addresses_are_address_errors() {
    let cases = [
        ("ff02::1", B),          // multicast source
        (A, "::"),               // unspecified destination
        (A, "ff01::1"),          // interface-local multicast
        (A, "ff00::1"),          // multicast scope 0
        (A, "ff10::1"),          // multicast scope 0, transient
        ("::ffff:192.0.2.1", B), // v4-mapped source
        (A, "::ffff:192.0.2.1"), // v4-mapped destination
    ];
    for (src, dst) in cases {
        let mut w = World::new();
        w.send(Ip6::udp(src, dst).on(0));
        assert!(
            w.take_tx().is_empty() && w.io.punted.is_empty(),
            "{src} -> {dst}"
        );
        w.assert_counters(
            rx(0)
                + c(&[("ip6s_badscope", 1), ("drop_badscope", 1)])
                + ifc(0, "ifs6_in_addrerr")
                + ifc(0, "ifs6_in_discard"),
        );
    }
}

#[test]
fn embedded_zones_and_the_loopback_address_are_scope_errors() {
    let cases = [
        ("fe80:1::a0", B), // zone in a link-local source
        (A, "fe80:3::aa"), // zone in a link-local destination
        (A, "ff02:5::1"),  // zone in a link-local group
        ("::1", B),        // loopback source on a real link
        (A, "::1"),        // loopback destination on a real link
    ];
    for (src, dst) in cases {
        let mut w = World::new();
        w.send(Ip6::udp(src, dst).on(0));
        assert!(
            w.take_tx().is_empty() && w.io.punted.is_empty(),
            "{src} -> {dst}"
        );
        w.assert_counters(
            rx(0) + c(&[("ip6s_badscope", 1), ("drop_badscope", 1)]) + ifc(0, "ifs6_in_discard"),
        );
    }
}

#[test]
fn own_address_as_source_of_a_packet_to_the_router_is_spoofed() {
    let mut w = World::new();
    w.send(Ip6::udp("2001:db8:1::1", "2001:db8::1").on(0));
    assert!(w.io.punted.is_empty());
    w.assert_counters(
        rx(0) + c(&[("ip6s_badscope", 1), ("drop_badscope", 1)]) + ifc(0, "ifs6_in_discard"),
    );
}

#[test]
fn packets_to_any_router_address_are_delivered_unchanged() {
    let mut w = World::new();
    let dsts = [
        "2001:db8::1".to_string(),
        "2001:db8:2::1".to_string(),
        ll(0).to_string(),
    ];
    let frames: Vec<_> = dsts.iter().map(|d| Ip6::udp(A, d).on(0)).collect();
    w.burst(frames.clone());
    assert!(w.take_tx().is_empty());
    assert_eq!(w.io.punted, frames);
    w.assert_counters(3 * (rx(0) + delivered(0)));
}

#[test]
fn joined_groups_are_delivered() {
    let mut w = World::new();
    // All-nodes, all-routers, and the solicited-node group of port0's
    // addresses (2001:db8::1 and fe80::ff:fe00:1 share ff02::1:ff00:1).
    let frames: Vec<_> = ["ff02::1", "ff02::2", "ff02::1:ff00:1"]
        .iter()
        .map(|g| Ip6::udp(A_LL, g).hlim(1).on(0))
        .collect();
    w.burst(frames.clone());
    assert_eq!(w.io.punted, frames);
    w.assert_counters(3 * (rx(0) + delivered(0) + ifc(0, "ifs6_in_mcast")));
}

#[test]
fn groups_are_joined_per_interface() {
    let mut w = World::new();
    // The solicited-node group of port1's link-local address, heard on port0.
    w.send(Ip6::udp(A_LL, "ff02::1:ff00:2").on(0));
    assert!(w.io.punted.is_empty());
    w.send(Ip6::udp(B, "ff02::1:ff00:2").on(1));
    assert_eq!(w.io.punted.len(), 1);
    w.assert_counters(
        rx(0)
            + ifc(0, "ifs6_in_mcast")
            + c(&[("ip6s_cantforward", 1), ("drop_cantforward", 1)])
            + rx(1)
            + ifc(1, "ifs6_in_mcast")
            + delivered(1),
    );
}

#[test]
fn link_layer_broadcast_to_a_router_address_is_delivered() {
    let mut w = World::new();
    let f = frame(0, Mac::BROADCAST, &Ip6::udp(A, "2001:db8::1").bytes());
    w.send(f.clone());
    assert_eq!(w.io.punted, vec![f]);
    w.assert_counters(rx(0) + delivered(0));
}

#[test]

fn another_interfaces_link_local_address_is_not_ours_on_this_link() {
    // fe80::ff:fe00:2 is port1's address; on port0's link it is someone
    // else's (FreeBSD compares the address with the zone embedded), so the
    // packet is routed on port0 like any link-local destination.
    let mut s = snapshot();
    s.settings.sendredirects = false;
    let mut w = World::with(s);
    w.send(Ip6::udp(A, &ll(1).to_string()).on(0));
    assert!(
        w.io.punted.is_empty(),
        "delivered as if it were port0's address"
    );
    assert_eq!(w.io.resolves, vec![(0, ll(1))]);
    w.assert_counters(rx(0) + c(&[("ip6s_forward", 1), ("held", 1)]) + ifc(0, "ifs6_out_forward"));
}

#[test]
fn punt_queue_overflow_is_counted() {
    let mut w = World::new();
    w.io.punt_room = 1;
    w.burst(vec![
        Ip6::udp(A, "2001:db8::1").on(0),
        Ip6::udp(A, "2001:db8::1").on(0),
    ]);
    assert_eq!(w.io.punted.len(), 1);
    w.assert_counters(
        2 * rx(0)
            + c(&[
                ("ip6s_delivered", 2),
                ("punted", 1),
                ("drop_punt_overflow", 1),
            ])
            + c(&[("if0.ifs6_in_deliver", 2)]),
    );
}

#[test]
fn payload_length_beyond_the_data_is_truncated() {
    let mut w = World::new();
    let mut p = Ip6::udp(A, B);
    p.plen = Some(p.payload.len() as u16 + 1);
    w.send(p.on(0));
    assert!(w.take_tx().is_empty());
    w.assert_counters(
        rx(0)
            + c(&[("ip6s_tooshort", 1), ("drop_tooshort", 1)])
            + ifc(0, "ifs6_in_truncated")
            + ifc(0, "ifs6_in_discard"),
    );
}

#[test]
fn bytes_beyond_the_payload_length_are_trimmed_before_delivery() {
    let mut w = World::new();
    let l3 = Ip6::udp(A, "2001:db8::1").bytes();
    let mut padded = l3.clone();
    padded.extend_from_slice(&[0xee; 6]);
    w.send(on0(&padded));
    assert_eq!(w.io.punted, vec![on0(&l3)]);
    w.assert_counters(rx(0) + delivered(0));
}

#[test]
fn zero_payload_length_without_hop_by_hop_forwards_the_bare_header() {
    let mut w = World::new();
    let mut p = Ip6::udp(A, B);
    p.plen = Some(0);
    let l3 = p.bytes();
    w.send(on0(&l3));
    let tx = w.take_tx();
    assert_eq!(tx.len(), 1);
    assert_eq!(tx[0].1.data, forwarded(&l3[..40], 1, B_MAC, 1));
    w.assert_counters(rx(0) + fwd(1));
}

// Hop-by-hop options. The options area of an 8-byte header starts at
// offset 42 from the IPv6 header, so a first option's pointer is 42.

#[test]
fn padding_options_are_skipped() {
    let mut w = World::new();
    let l3 = Ip6::udp(A, B).hbh(&[0x00, 0x01, 0x03, 0, 0, 0]).bytes();
    w.send(on0(&l3));
    assert_eq!(w.take_tx()[0].1.data, forwarded(&l3, 1, B_MAC, 1));
    w.assert_counters(rx(0) + fwd(1));
}

#[test]
fn unknown_option_00_is_skipped() {
    let mut w = World::new();
    let l3 = Ip6::udp(A, B).hbh(&[0x1e, 0x04, 1, 2, 3, 4]).bytes();
    w.send(on0(&l3));
    assert_eq!(w.take_tx()[0].1.data, forwarded(&l3, 1, B_MAC, 1));
    w.assert_counters(rx(0) + fwd(1));
}

#[test]
fn option_overrunning_the_header_ends_the_walk() {
    for opts in [[0x01, 0x09, 0, 0, 0, 0], [0x1e, 0x20, 0, 0, 0, 0]] {
        let mut w = World::new();
        let l3 = Ip6::udp(A, B).hbh(&opts).bytes();
        w.send(on0(&l3));
        assert_eq!(w.take_tx()[0].1.data, forwarded(&l3, 1, B_MAC, 1));
        w.assert_counters(rx(0) + fwd(1));
    }
}

#[test]
fn unknown_option_01_discards_silently_without_counting() {
    let mut w = World::new();
    w.send(Ip6::udp(A, B).hbh(&[0x5e, 0x04, 1, 2, 3, 4]).on(0));
    assert!(w.take_tx().is_empty());
    w.assert_counters(rx(0) + c(&[("drop_badoptions", 1)]));
}

#[test]
fn unknown_option_10_is_answered_with_parameter_problem_code_2() {
    let mut w = World::new();
    let l3 = Ip6::udp(A, B).hbh(&[0x9e, 0x04, 1, 2, 3, 4]).bytes();
    w.send(on0(&l3));
    let e = only_icmp(&mut w);
    // Errors from ip6_input quote the packet as received.
    assert_error(&e, 0, A_MAC, ip("2001:db8::1"), ip(A), 4, 2, 42, &l3);
    w.assert_counters(
        rx(0) + c(&[("ip6s_badoptions", 1), ("drop_badoptions", 1)]) + error_sent(0, 4, 2),
    );
}

#[test]
fn parameter_problem_points_at_the_offending_option() {
    for (opts, pointer) in [
        ([0x00, 0x9e, 0x02, 0, 0, 0], 43),
        ([0x01, 0x00, 0x9e, 0x02, 0, 0], 44),
        ([0x01, 0x02, 0, 0, 0xbe, 0x00], 46),
    ] {
        let mut w = World::new();
        let l3 = Ip6::udp(A, B).hbh(&opts).bytes();
        w.send(on0(&l3));
        let e = only_icmp(&mut w);
        assert_error(&e, 0, A_MAC, ip("2001:db8::1"), ip(A), 4, 2, pointer, &l3);
    }
}

#[test]
fn unknown_option_11_is_answered_only_for_unicast() {
    let opts = [0xde, 0x04, 1, 2, 3, 4];
    let mut w = World::new();
    let l3 = Ip6::udp(A, B).hbh(&opts).bytes();
    w.send(on0(&l3));
    let e = only_icmp(&mut w);
    assert_error(&e, 0, A_MAC, ip("2001:db8::1"), ip(A), 4, 2, 42, &l3);
    let unicast =
        rx(0) + c(&[("ip6s_badoptions", 1), ("drop_badoptions", 1)]) + error_sent(0, 4, 2);
    w.assert_counters(unicast.clone());

    // To a group, or to a unicast address in a link-layer broadcast: no
    // icmp6_error call at all.
    w.send(Ip6::udp(A, "ff02::1").hbh(&opts).on(0));
    w.send(frame(0, Mac::BROADCAST, &l3));
    assert!(w.take_tx().is_empty());
    w.assert_counters(
        unicast
            + 2 * (rx(0) + c(&[("ip6s_badoptions", 1), ("drop_badoptions", 1)]))
            + ifc(0, "ifs6_in_mcast"),
    );
}

#[test]
fn unknown_option_10_is_answered_even_for_multicast() {
    let mut w = World::new();
    let l3 = Ip6::udp(A, "ff02::1")
        .hbh(&[0x9e, 0x04, 1, 2, 3, 4])
        .bytes();
    w.send(on0(&l3));
    let e = only_icmp(&mut w);
    assert_error(&e, 0, A_MAC, ip("2001:db8::1"), ip(A), 4, 2, 42, &l3);
    w.assert_counters(
        rx(0)
            + ifc(0, "ifs6_in_mcast")
            + c(&[("ip6s_badoptions", 1), ("drop_badoptions", 1)])
            + error_sent(0, 4, 2),
    );
}

#[test]
fn router_alert_with_a_bad_length_points_at_its_length_byte() {
    let mut w = World::new();
    let l3 = Ip6::udp(A, B).hbh(&[0x05, 0x03, 0, 0, 0, 0x00]).bytes();
    w.send(on0(&l3));
    let e = only_icmp(&mut w);
    assert_error(&e, 0, A_MAC, ip("2001:db8::1"), ip(A), 4, 0, 43, &l3);
    // FreeBSD has no counter for it ("XXX stat").
    w.assert_counters(rx(0) + c(&[("drop_badoptions", 1)]) + error_sent(0, 4, 0));
}

#[test]
fn router_alert_for_mld_makes_the_packet_the_routers() {
    let ra_mld = [0x05, 0x02, 0x00, 0x00, 0x01, 0x00];
    let mut w = World::new();
    let report = Ip6::icmp(A_LL, "ff02::16", 143, 0)
        .hlim(1)
        .hbh(&ra_mld)
        .on(0);
    let to_b = Ip6::udp(A, B).hbh(&ra_mld).on(0);
    w.burst(vec![report.clone(), to_b.clone()]);
    assert!(w.take_tx().is_empty());
    assert_eq!(w.io.punted, vec![report, to_b]);
    w.assert_counters(2 * (rx(0) + delivered(0)) + ifc(0, "ifs6_in_mcast"));
}

#[test]
fn router_alert_for_something_else_is_forwarded() {
    let mut w = World::new();
    let l3 = Ip6::udp(A, B)
        .hbh(&[0x05, 0x02, 0x00, 0x01, 0x01, 0x00])
        .bytes();
    w.send(on0(&l3));
    assert_eq!(w.take_tx()[0].1.data, forwarded(&l3, 1, B_MAC, 1));
    w.assert_counters(rx(0) + fwd(1));
}

#[test]
fn options_cut_short_by_the_header_end_are_too_small() {
    // Router alert needs 4 bytes, jumbo 6, PadN 2; each starts too late.
    for opts in [
        [0, 0, 0, 0x05, 0x02, 0x00],
        [0, 0xc2, 0x04, 0, 0, 0],
        [0, 0, 0, 0, 0, 0x01],
    ] {
        let mut w = World::new();
        w.send(Ip6::udp(A, B).hbh(&opts).on(0));
        assert!(w.take_tx().is_empty());
        w.assert_counters(rx(0) + c(&[("ip6s_toosmall", 1), ("drop_toosmall", 1)]));
    }
}

#[test]
fn hop_by_hop_with_zero_payload_length_and_no_jumbo_is_a_header_error() {
    let mut w = World::new();
    let mut p = Ip6::udp(A, B).hbh(&[0x01, 0x04, 0, 0, 0, 0]);
    p.plen = Some(0);
    let l3 = p.bytes();
    w.send(on0(&l3));
    let e = only_icmp(&mut w);
    assert_error(&e, 0, A_MAC, ip("2001:db8::1"), ip(A), 4, 0, 4, &l3);
    w.assert_counters(
        rx(0)
            + c(&[("ip6s_badoptions", 1), ("drop_badoptions", 1)])
            + ifc(0, "ifs6_in_discard")
            + ifc(0, "ifs6_in_hdrerr")
            + error_sent(0, 4, 0),
    );
}

/// A jumbogram of `jumbo` bytes after the fixed header (HBH included),
/// claiming `jumbo_len` in its option.
fn jumbogram(dst: &str, opt_len: u8, jumbo_len: u32, plen: u16) -> Vec<u8> {
    let mut p = Ip6::udp(A, dst).sized(40 + 65_536);
    let v = jumbo_len.to_be_bytes();
    p = p.hbh(&[0xc2, opt_len, v[0], v[1], v[2], v[3]]);
    p.plen = Some(plen);
    p.bytes()
}

#[test]
fn jumbo_payload_is_accepted_and_then_too_big_for_the_link() {
    let mut w = World::new();
    let l3 = jumbogram(C, 4, 65_536 + 8, 0);
    assert_eq!(l3.len(), 40 + 65_544);
    w.send(on0(&l3));
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
    w.assert_counters(
        rx(0) + c(&[("drop_toobig", 1)]) + ifc(2, "ifs6_in_toobig") + error_sent(0, 2, 0),
    );
}

#[test]
fn malformed_jumbo_options_are_header_errors() {
    // (option length, jumbo length, payload length, pointer, counted)
    let cases = [
        (3, 65_544, 0, 43, false), // option length not 4
        (4, 65_544, 8, 42, true),  // payload length not zero
        (4, 65_535, 0, 44, true),  // jumbo length that fits 16 bits
    ];
    for (opt_len, jumbo, plen, pointer, counted) in cases {
        let mut w = World::new();
        let l3 = jumbogram(C, opt_len, jumbo, plen);
        w.send(on0(&l3));
        let e = only_icmp(&mut w);
        assert_error(&e, 0, A_MAC, ip("2001:db8::1"), ip(A), 4, 0, pointer, &l3);
        w.assert_counters(
            rx(0)
                + c(&[
                    ("ip6s_badoptions", u64::from(counted)),
                    ("drop_badoptions", 1),
                ])
                + error_sent(0, 4, 0),
        );
    }
}

#[test]
fn hop_by_hop_header_running_past_the_packet_is_dropped() {
    let mut w = World::new();
    let mut p = Ip6::udp(A, B);
    p.nxt = 0;
    p.payload = vec![17, 1, 0x01, 0x04, 0, 0, 0, 0]; // claims 16 bytes, has 8
    w.send(p.on(0));
    assert!(w.take_tx().is_empty());
    w.assert_counters(rx(0) + c(&[("ip6s_exthdrtoolong", 1), ("drop_exthdrtoolong", 1)]));
}

#[test]
fn error_about_a_packet_to_a_router_address_comes_from_that_address() {
    let mut w = World::new();
    // Sent to port2's address, received on port0.
    let l3 = Ip6::udp(A, "2001:db8:2::1")
        .hbh(&[0x9e, 0x04, 1, 2, 3, 4])
        .bytes();
    w.send(on0(&l3));
    let e = only_icmp(&mut w);
    assert_error(&e, 0, A_MAC, ip("2001:db8:2::1"), ip(A), 4, 2, 42, &l3);
    w.assert_counters(
        rx(0) + c(&[("ip6s_badoptions", 1), ("drop_badoptions", 1)]) + error_sent(0, 4, 2),
    );
}

#[test]
fn parameter_problem_pointer_runs_on_in_a_longer_header() {
    let mut w = World::new();
    let opts = [0x01, 0x06, 0, 0, 0, 0, 0, 0, 0x9e, 0x04, 1, 2, 3, 4];
    let l3 = Ip6::udp(A, B).hbh(&opts).bytes();
    w.send(on0(&l3));
    let e = only_icmp(&mut w);
    assert_error(&e, 0, A_MAC, ip("2001:db8::1"), ip(A), 4, 2, 50, &l3);
}

#[test]
fn destination_options_are_not_examined_on_the_way_through() {
    let mut w = World::new();
    let l3 = Ip6::udp(A, B).ext(60, &[0x9e, 0x04, 1, 2, 3, 4]).bytes();
    w.send(on0(&l3));
    assert_eq!(w.take_tx()[0].1.data, forwarded(&l3, 1, B_MAC, 1));
    w.assert_counters(rx(0) + fwd(1));
}

#[test]
fn unknown_option_10_in_a_link_layer_broadcast_is_answered() {
    let mut w = World::new();
    let l3 = Ip6::udp(A, B).hbh(&[0x9e, 0x04, 1, 2, 3, 4]).bytes();
    w.send(frame(0, Mac::BROADCAST, &l3));
    let e = only_icmp(&mut w);
    assert_error(&e, 0, A_MAC, ip("2001:db8::1"), ip(A), 4, 2, 42, &l3);
    w.assert_counters(
        rx(0) + c(&[("ip6s_badoptions", 1), ("drop_badoptions", 1)]) + error_sent(0, 4, 2),
    );
}
