//! `icmp6_error`'s rules in order, its rate limit, and `icmp6_reflect`'s
//! addressing of the error it builds.

mod common;

use common::*;
use dataplane::iface::Ifaddr;
use dataplane::wire::ethernet::Address as Mac;

/// What a packet to an unroutable destination costs before `icmp6_error`.
fn no_route(port: usize) -> Counts {
    rx(port) + c(&[("ip6s_noroute", 1), ("drop_noroute", 1)]) + ifc(port, "ifs6_in_noroute")
}

/// What a packet to the reject route costs before `icmp6_error`.
fn rejected(port: usize) -> Counts {
    rx(port) + c(&[("ip6s_cantforward", 1), ("drop_reject", 1)])
}

fn limited(limit: i32) -> World {
    let mut s = snapshot();
    s.settings.icmp6errppslim = limit;
    World::with(s)
}

#[test]
fn icmpv6_errors_and_redirects_are_not_answered() {
    for ty in [1, 2, 3, 4, 100, 127, 137] {
        let mut w = World::new();
        w.send(Ip6::icmp(A, NOWHERE, ty, 0).on(0));
        assert!(w.take_tx().is_empty(), "type {ty}");
        w.assert_counters(no_route(0) + error_decided(1, 0) + c(&[("icp6s_canterror", 1)]));
    }
}

#[test]
fn informational_icmpv6_is_answered() {
    for ty in [128, 129, 135, 136, 200, 255] {
        let mut w = World::new();
        let l3 = Ip6::icmp(A, NOWHERE, ty, 0).bytes();
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
        w.assert_counters(no_route(0) + error_sent(0, 1, 0));
    }
}

#[test]
fn the_icmpv6_header_is_found_past_extension_headers() {
    let first_fragment = [0x00, 0x01, 0, 0, 0, 1];
    let cases = [
        Ip6::icmp(A, NOWHERE, 1, 0).ext(60, &[0x01, 0x04, 0, 0, 0, 0]),
        Ip6::icmp(A, NOWHERE, 3, 0)
            .ext(44, &first_fragment)
            .hbh(&[0x01, 0x04, 0, 0, 0, 0]),
        Ip6::icmp(A, NOWHERE, 137, 0).ext(43, &[0, 0, 0, 0, 0, 0]),
    ];
    for p in cases {
        let mut w = World::new();
        w.send(p.on(0));
        assert!(w.take_tx().is_empty());
        w.assert_counters(no_route(0) + error_decided(1, 0) + c(&[("icp6s_canterror", 1)]));
    }
}

#[test]
fn a_later_fragment_hides_its_protocol_and_is_answered() {
    let mut w = World::new();
    let l3 = Ip6::icmp(A, NOWHERE, 1, 0)
        .ext(44, &[0x00, 0x09, 0, 0, 0, 1])
        .bytes();
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
    w.assert_counters(no_route(0) + error_sent(0, 1, 0));
}

#[test]
fn an_icmpv6_header_too_short_to_read_is_not_answered() {
    let mut w = World::new();
    let mut p = Ip6::icmp(A, NOWHERE, 128, 0);
    p.payload.truncate(4);
    w.send(p.on(0));
    assert!(w.take_tx().is_empty());
    w.assert_counters(no_route(0) + error_decided(1, 0) + c(&[("ip6s_exthdrtoolong", 1)]));
}

#[test]
fn errors_about_multicast_are_refused_but_for_too_big_and_unknown_option() {
    let bad_ra = [0x05, 0x03, 0, 0, 0, 0x00];
    let mut w = World::new();
    // Group destination; the refusal comes before the ICMPv6-error check.
    w.send(Ip6::udp(A, "ff02::1").hbh(&bad_ra).on(0));
    w.send(Ip6::icmp(A, "ff02::1", 1, 0).hbh(&bad_ra).on(0));
    // Unicast destination in a link-layer broadcast.
    w.send(frame(
        0,
        Mac::BROADCAST,
        &Ip6::udp(A, "2001:db8::1").hbh(&bad_ra).bytes(),
    ));
    assert!(w.take_tx().is_empty());
    let refused = rx(0) + c(&[("drop_badoptions", 1), ("icp6s_badaddr", 1)]) + error_decided(4, 0);
    w.assert_counters(3 * refused.clone() + 2 * ifc(0, "ifs6_in_mcast"));
    // Unrecognised option (Parameter Problem code 2) is allowed through.
    w.send(Ip6::udp(A, "ff02::1").hbh(&[0x9e, 0x04, 1, 2, 3, 4]).on(0));
    let e = only_icmp(&mut w);
    assert_eq!((e.ty, e.code, e.word, e.dst), (4, 2, 42, ip(A)));
    w.assert_counters(
        3 * refused
            + 3 * ifc(0, "ifs6_in_mcast")
            + rx(0)
            + c(&[("ip6s_badoptions", 1), ("drop_badoptions", 1)])
            + error_sent(0, 4, 2),
    );
}

#[test]
fn header_error_about_a_multicast_packet_is_refused() {
    let mut w = World::new();
    let mut p = Ip6::udp(A, "ff02::1").hbh(&[0x01, 0x04, 0, 0, 0, 0]);
    p.plen = Some(0);
    w.send(p.on(0));
    assert!(w.take_tx().is_empty());
    w.assert_counters(
        rx(0)
            + ifc(0, "ifs6_in_mcast")
            + c(&[
                ("ip6s_badoptions", 1),
                ("drop_badoptions", 1),
                ("icp6s_badaddr", 1),
            ])
            + ifc(0, "ifs6_in_discard")
            + ifc(0, "ifs6_in_hdrerr")
            + error_decided(4, 0),
    );
}

#[test]
fn errors_to_the_unspecified_address_are_refused() {
    let mut w = World::new();
    w.send(
        Ip6::udp("::", "2001:db8::1")
            .hbh(&[0x9e, 0x04, 1, 2, 3, 4])
            .on(0),
    );
    assert!(w.take_tx().is_empty());
    w.assert_counters(
        rx(0)
            + c(&[
                ("ip6s_badoptions", 1),
                ("drop_badoptions", 1),
                ("icp6s_badaddr", 1),
            ])
            + error_decided(4, 2),
    );
}

#[test]
fn rate_limit_passes_exactly_the_limit_in_a_fixed_one_second_window() {
    let mut w = limited(2);
    let l3 = Ip6::udp(A, NOWHERE).bytes();
    w.burst(vec![frame(0, PORT_MAC[0], &l3); 3]);
    assert_eq!(w.take_tx().len(), 2);
    w.at(ms(999)).send(frame(0, PORT_MAC[0], &l3));
    assert!(w.take_tx().is_empty());
    // The window opened at t0 closes at t0+1s; the next opens at 1.5s.
    w.at(ms(1500)).burst(vec![frame(0, PORT_MAC[0], &l3); 3]);
    assert_eq!(w.take_tx().len(), 2);
    w.at(ms(2499)).send(frame(0, PORT_MAC[0], &l3));
    assert!(w.take_tx().is_empty());
    w.at(ms(2500)).send(frame(0, PORT_MAC[0], &l3));
    assert_eq!(w.take_tx().len(), 1);
    w.assert_counters(
        9 * no_route(0)
            + 5 * error_sent(0, 1, 0)
            + 4 * error_decided(1, 0)
            + c(&[("icp6s_toofreq", 4)]),
    );
}

#[test]
fn rate_limit_zero_sends_nothing_and_negative_sends_everything() {
    let l3 = Ip6::udp(A, NOWHERE).bytes();
    let mut w = limited(0);
    w.burst(vec![frame(0, PORT_MAC[0], &l3); 5]);
    w.at(secs(10)).send(frame(0, PORT_MAC[0], &l3));
    assert!(w.take_tx().is_empty());
    w.assert_counters(6 * (no_route(0) + error_decided(1, 0) + c(&[("icp6s_toofreq", 1)])));

    let mut w = limited(-1);
    w.burst(vec![frame(0, PORT_MAC[0], &l3); 300]);
    assert_eq!(w.take_tx().len(), 300);
    w.assert_counters(300 * (no_route(0) + error_sent(0, 1, 0)));
}

#[test]
fn refused_errors_take_no_share_of_the_rate_limit() {
    let mut w = limited(1);
    w.send(Ip6::icmp(A, NOWHERE, 1, 0).on(0)); // canterror
    w.send(Ip6::udp(A, "ff02::1").hbh(&[0x05, 0x03, 0, 0, 0, 0]).on(0)); // badaddr
    w.send(Ip6::udp(A, NOWHERE).on(0));
    assert_eq!(only_icmp(&mut w).ty, 1);
    w.send(Ip6::udp(A, NOWHERE).on(0));
    assert!(w.take_tx().is_empty());
    let st = w.stats().icmp6;
    assert_eq!(
        (
            st.icp6s_error,
            st.icp6s_canterror,
            st.icp6s_badaddr,
            st.icp6s_toofreq
        ),
        (4, 1, 1, 1)
    );
}

#[test]
fn rate_limit_is_shared_out_among_workers() {
    let l3 = Ip6::udp(A, NOWHERE).bytes();
    let mut sent = vec![];
    for worker in 0..3 {
        let mut w = World::worker(snapshot(), worker, 3);
        w.burst(vec![frame(0, PORT_MAC[0], &l3); 50]);
        sent.push(w.take_tx().len());
        assert_eq!(w.stats().icmp6.icp6s_toofreq, 50 - sent[worker] as u64);
    }
    // 100 a second, router-wide.
    assert_eq!(sent, vec![34, 33, 33]);
}

#[test]
fn error_source_prefers_a_global_address_of_the_outgoing_interface() {
    let mut w = World::new();
    let l3 = Ip6::udp(FAR1, REJECT).bytes();
    w.send(frame(1, PORT_MAC[1], &l3));
    let e = only_icmp(&mut w);
    // Back through fe80::aa on port1, from port1's global address.
    assert_error(
        &e,
        1,
        AA_MAC,
        ip("2001:db8:1::1"),
        ip(FAR1),
        1,
        6,
        0,
        &decremented(&l3),
    );
    w.assert_counters(rejected(1) + error_sent(1, 1, 6));
}

#[test]
fn error_source_falls_back_to_the_longest_matching_global_address() {
    let mut s = snapshot();
    s.ifnets[1].addrs.retain(|a| a.addr != ip("2001:db8:1::1"));
    let mut r = routes();
    r.push(via("2001:db8:2:8000::", 49, "fe80::aa", 1));
    s.fib = dataplane::fib::Fib::new(r);
    let mut w = World::with(s);
    let src = "2001:db8:2:8000::9";
    let l3 = Ip6::udp(src, REJECT).bytes();
    w.send(frame(1, PORT_MAC[1], &l3));
    let e = only_icmp(&mut w);
    // Port1 has only its link-local address: a global address beats it
    // (scope), and port2's shares 48 bits with the destination, port0's 46.
    assert_error(
        &e,
        1,
        AA_MAC,
        ip("2001:db8:2::1"),
        ip(src),
        1,
        6,
        0,
        &decremented(&l3),
    );
}

#[test]
fn error_to_a_link_local_source_comes_from_the_links_link_local_address() {
    let mut w = World::new();
    let l3 = Ip6::udp(A_LL, REJECT).bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    let e = only_icmp(&mut w);
    assert_error(&e, 0, A_MAC, ll(0), ip(A_LL), 1, 6, 0, &decremented(&l3));
    w.assert_counters(rejected(0) + error_sent(0, 1, 6));
}

#[test]
fn error_hop_limit_is_the_default_hop_limit_setting() {
    let mut s = snapshot();
    s.settings.defhlim = 77;
    let mut w = World::with(s);
    w.send(Ip6::udp(A, REJECT).on(0));
    assert_eq!(only_icmp(&mut w).hlim, 77);
}

#[test]
fn error_clears_traffic_class_and_flow_label_but_quotes_them() {
    let mut w = World::new();
    let mut p = Ip6::udp(A, REJECT);
    p.tc = 0xfc;
    p.flow = 0xfffff;
    let l3 = p.bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    let e = only_icmp(&mut w);
    // parse_icmp has checked the error's own header is 60 00 00 00.
    assert_eq!(&e.body[..4], &[0x6f, 0xcf, 0xff, 0xff]);
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
}

#[test]
fn quote_is_cut_at_1232_bytes() {
    let mut w = World::new();
    let l3 = Ip6::udp(A, REJECT).sized(1500).bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    let tx = w.take_tx();
    assert_eq!(tx[0].1.data.len(), 14 + 1280);
    let e = parse_icmp(tx[0].0, &tx[0].1);
    assert_eq!(e.body, decremented(&l3)[..1232]);
    // One byte under the cut is quoted whole.
    let l3 = Ip6::udp(A, REJECT).sized(1232).bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    let e = only_icmp(&mut w);
    assert_eq!(e.body, decremented(&l3));
    w.assert_counters(2 * (rejected(0) + error_sent(0, 1, 6)));
}

#[test]
fn no_route_back_drops_the_error() {
    let mut w = World::new();
    w.send(Ip6::udp(NOWHERE, REJECT).on(0));
    assert!(w.take_tx().is_empty());
    w.assert_counters(
        rejected(0) + error_permitted(1, 6) + c(&[("ip6s_noroute", 1), ("ip6s_odropped", 1)]),
    );
}

#[test]
fn route_back_into_a_blackhole_or_the_loopback_drops_the_error() {
    for src in ["2001:db8:dead::5", "2001:db8:1000::5"] {
        let mut w = World::new();
        w.send(Ip6::udp(src, REJECT).on(0));
        assert!(w.take_tx().is_empty(), "{src}");
        w.assert_counters(rejected(0) + error_permitted(1, 6) + c(&[("ip6s_odropped", 1)]));
    }
}

#[test]
fn no_buffer_for_the_error_drops_it() {
    let mut w = World::new();
    w.io.buffers = 0;
    w.send(Ip6::udp(A, REJECT).on(0));
    assert!(w.take_tx().is_empty());
    w.assert_counters(rejected(0) + error_permitted(1, 6) + c(&[("ip6s_odropped", 1)]));
}

#[test]
fn error_to_an_unresolved_neighbour_waits_for_resolution() {
    let mut w = World::new();
    let l3 = Ip6::udp(A2, REJECT).bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    assert!(w.take_tx().is_empty());
    assert_eq!(w.io.resolves, vec![(0, ip(A2))]);
    assert_eq!(w.engine.held(), 1);
    let sent = rejected(0) + error_sent(0, 1, 6);
    // Held errors are not received packets: no `held` fate.
    w.assert_counters(sent.clone());

    w.update(|s| s.neighbors.insert(0, ip(A2), D_MAC));
    w.at(ms(10)).tick();
    let e = only_icmp(&mut w);
    assert_error(
        &e,
        0,
        D_MAC,
        ip("2001:db8::1"),
        ip(A2),
        1,
        6,
        0,
        &decremented(&l3),
    );
    assert_eq!(w.engine.held(), 0);
    w.assert_counters(sent);
}

#[test]
fn error_towards_a_next_hop_off_every_link_is_discarded() {
    let mut w = World::new();
    w.send(Ip6::udp(UNREACHABLE_GW, REJECT).on(2));
    assert!(w.take_tx().is_empty());
    assert!(w.io.resolves.is_empty());
    w.assert_counters(
        rejected(2) + error_sent(2, 1, 6) + ifc(2, "ifs6_out_discard") + c(&[("ip6s_odropped", 1)]),
    );
}

#[test]
fn error_source_may_be_a_global_address_of_another_interface() {
    let mut s = snapshot();
    // Port0 keeps only link-local addresses: a global address of another
    // interface beats them for a global destination (rule 2), and of
    // those the longest match wins (2001:db8:1::1 shares 47 bits with A,
    // 2001:db8:2::1 46).
    s.ifnets[0].addrs.retain(|a| a.addr != ip("2001:db8::1"));
    s.ifnets[0].add_addr(Ifaddr {
        addr: ip("fe80::1:1"),
        prefix_len: 64,
    });
    let mut w = World::with(s);
    let l3 = Ip6::udp(A, REJECT).bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    let e = only_icmp(&mut w);
    assert_error(
        &e,
        0,
        A_MAC,
        ip("2001:db8:1::1"),
        ip(A),
        1,
        6,
        0,
        &decremented(&l3),
    );
}
