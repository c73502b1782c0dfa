//! The redirect decision of `ip6_forward` and `icmp6_redirect_output`: when
//! a redirect is sent, what it says, and how the point-to-point case is
//! refused instead.

mod common;

use std::net::Ipv6Addr;

use common::*;
use dataplane::fib::Fib;
use dataplane::iface::IfFlags;
use dataplane::wire::ethernet::Address as Mac;

/// A Redirect's body taken apart: target, destination, the target
/// link-layer address if present, and the redirected packet.
#[derive(Debug, PartialEq)]
struct Redirect {
    target: Ipv6Addr,
    destination: Ipv6Addr,
    tlla: Option<Mac>,
    redirected: Vec<u8>,
}

fn parse_redirect(e: &Sent) -> Redirect {
    assert_eq!((e.ty, e.code, e.word), (137, 0, 0), "type, code, reserved");
    assert_eq!(e.hlim, 255, "ND messages carry hop limit 255");
    let b = &e.body;
    let target = Ipv6Addr::from(<[u8; 16]>::try_from(&b[..16]).unwrap());
    let destination = Ipv6Addr::from(<[u8; 16]>::try_from(&b[16..32]).unwrap());
    let mut opts = &b[32..];
    let mut tlla = None;
    if opts[0] == 2 {
        assert_eq!(opts[1], 1, "TLLA length");
        tlla = Some(Mac(opts[2..8].try_into().unwrap()));
        opts = &opts[8..];
    }
    assert_eq!(opts[0], 4, "redirected header option");
    let len = usize::from(opts[1]) * 8;
    assert_eq!(len, opts.len(), "the redirected header is the last option");
    assert_eq!(&opts[2..8], &[0; 6], "reserved");
    Redirect {
        target,
        destination,
        tlla,
        redirected: opts[8..].to_vec(),
    }
}

/// The redirect and the forwarded frame; the seed's `ip6_forward` sends the
/// packet first and the redirect about it after.
fn redirect_and_forwarded(w: &mut World) -> (Sent, (u16, Vec<u8>)) {
    let mut tx = w.take_tx();
    assert_eq!(tx.len(), 2, "{tx:?}");
    let i = tx
        .iter()
        .position(|(_, f)| f.data.len() > 54 && f.data[54] == 137 && f.data[20] == 58)
        .expect("a redirect");
    assert_eq!(i, 1, "the forwarded packet leaves before the redirect");
    let (p, f) = tx.remove(i);
    (parse_icmp(p, &f), (tx[0].0, tx[0].1.data.clone()))
}

/// Forwarded back out the link it came in on, with a redirect decision.
fn forwarded_with_redirect(port: usize) -> Counts {
    rx(port) + fwd(port) + c(&[("ip6s_redirectsent", 1)])
}

/// The redirect decided (`icp6s_oredirect`) but refused.
fn redirect_refused() -> Counts {
    c(&[("icp6s_oredirect", 1)])
}

#[test]
fn redirect_to_a_better_link_local_router_carries_its_link_layer_address() {
    let mut w = World::new();
    let l3 = Ip6::udp(A, VIA_CC).bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    let (e, fwd_frame) = redirect_and_forwarded(&mut w);
    assert_eq!(fwd_frame, (0, forwarded(&l3, 0, CC_MAC, 1)));
    assert_eq!((e.port, e.eth_dst, e.eth_src), (0, A_MAC, PORT_MAC[0]));
    assert_eq!((e.src, e.dst), (ll(0), ip(A)));
    assert_eq!(
        parse_redirect(&e),
        Redirect {
            target: ip("fe80::cc"),
            destination: ip(VIA_CC),
            tlla: Some(CC_MAC),
            redirected: decremented(&l3),
        }
    );
    w.assert_counters(forwarded_with_redirect(0) + redirect_sent(0));
}

#[test]
fn redirect_to_an_on_link_destination_targets_it_without_link_layer_address() {
    let mut w = World::new();
    let l3 = Ip6::udp(A, D).bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    let (e, fwd_frame) = redirect_and_forwarded(&mut w);
    assert_eq!(fwd_frame, (0, forwarded(&l3, 0, D_MAC, 1)));
    assert_eq!((e.port, e.eth_dst, e.src, e.dst), (0, A_MAC, ll(0), ip(A)));
    assert_eq!(
        parse_redirect(&e),
        Redirect {
            target: ip(D),
            destination: ip(D),
            tlla: None,
            redirected: decremented(&l3),
        }
    );
    w.assert_counters(forwarded_with_redirect(0) + redirect_sent(0));
}

#[test]
fn redirect_for_a_link_local_destination() {
    let mut s = snapshot();
    s.neighbors.insert(0, ip("fe80::d1"), D_MAC);
    let mut w = World::with(s);
    let l3 = Ip6::udp(A, "fe80::d1").bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    let (e, fwd_frame) = redirect_and_forwarded(&mut w);
    assert_eq!(fwd_frame, (0, forwarded(&l3, 0, D_MAC, 1)));
    let r = parse_redirect(&e);
    assert_eq!(
        (r.target, r.destination, r.tlla),
        (ip("fe80::d1"), ip("fe80::d1"), None)
    );
    w.assert_counters(forwarded_with_redirect(0) + redirect_sent(0));
}

#[test]
fn redirect_names_an_unresolved_gateway_without_link_layer_address() {
    let mut s = snapshot();
    let mut r = routes();
    r.push(via("2001:db8:0:9::", 64, "fe80::dd", 0));
    s.fib = Fib::new(r);
    let mut w = World::with(s);
    let l3 = Ip6::udp(A, "2001:db8:0:9::1").bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    // The packet waits for fe80::dd; the redirect goes out at once.
    let e = only_icmp(&mut w);
    assert_eq!((e.port, e.eth_dst, e.src, e.dst), (0, A_MAC, ll(0), ip(A)));
    assert_eq!(
        parse_redirect(&e),
        Redirect {
            target: ip("fe80::dd"),
            destination: ip("2001:db8:0:9::1"),
            tlla: None,
            redirected: decremented(&l3),
        }
    );
    assert_eq!(w.io.resolves, vec![(0, ip("fe80::dd"))]);
    w.assert_counters(
        rx(0)
            + c(&[("ip6s_forward", 1), ("ip6s_redirectsent", 1), ("held", 1)])
            + ifc(0, "ifs6_out_forward")
            + redirect_sent(0),
    );
}

#[test]
fn no_redirect_names_a_global_gateway() {
    let mut w = World::new();
    let l3 = Ip6::udp(A, VIA_FE).bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    let tx = w.take_tx();
    assert_eq!(tx.len(), 1);
    assert_eq!((tx[0].0, &tx[0].1.data), (0, &forwarded(&l3, 0, FE_MAC, 1)));
    w.assert_counters(forwarded_with_redirect(0) + redirect_refused());
}

#[test]
fn no_redirect_to_a_source_that_is_not_a_neighbour() {
    let mut w = World::new();
    let l3 = Ip6::udp(NOWHERE, VIA_CC).bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    let tx = w.take_tx();
    assert_eq!(tx.len(), 1);
    assert_eq!((tx[0].0, &tx[0].1.data), (0, &forwarded(&l3, 0, CC_MAC, 1)));
    w.assert_counters(forwarded_with_redirect(0) + redirect_refused());
}

#[test]
fn no_redirect_decision_for_routes_learnt_from_redirects() {
    for dst in [VIA_CC_DYNAMIC, VIA_CC_MODIFIED] {
        let mut w = World::new();
        let l3 = Ip6::udp(A, dst).bytes();
        w.send(frame(0, PORT_MAC[0], &l3));
        let tx = w.take_tx();
        assert_eq!(tx.len(), 1, "{dst}");
        assert_eq!((tx[0].0, &tx[0].1.data), (0, &forwarded(&l3, 0, CC_MAC, 1)));
        w.assert_counters(rx(0) + fwd(0));
    }
}

#[test]
fn no_redirect_decision_when_redirects_are_off() {
    let mut s = snapshot();
    s.settings.sendredirects = false;
    let mut w = World::with(s);
    let l3 = Ip6::udp(A, VIA_CC).bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    let tx = w.take_tx();
    assert_eq!(tx.len(), 1);
    assert_eq!((tx[0].0, &tx[0].1.data), (0, &forwarded(&l3, 0, CC_MAC, 1)));
    w.assert_counters(rx(0) + fwd(0));
}

#[test]
fn no_redirect_decision_for_source_routed_packets() {
    let mut w = World::new();
    let l3 = Ip6::udp(A, VIA_CC).ext(43, &[0, 0, 0, 0, 0, 0]).bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    let tx = w.take_tx();
    assert_eq!(tx.len(), 1);
    assert_eq!((tx[0].0, &tx[0].1.data), (0, &forwarded(&l3, 0, CC_MAC, 1)));
    w.assert_counters(rx(0) + fwd(0));
}

#[test]
fn other_extension_headers_do_not_prevent_a_redirect() {
    let mut w = World::new();
    let l3 = Ip6::udp(A, VIA_CC)
        .ext(60, &[0x01, 0x04, 0, 0, 0, 0])
        .bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    let (e, _) = redirect_and_forwarded(&mut w);
    assert_eq!(parse_redirect(&e).redirected, decremented(&l3));
    w.assert_counters(forwarded_with_redirect(0) + redirect_sent(0));
}

#[test]
fn rate_limited_redirect_is_dropped_without_toofreq() {
    let mut s = snapshot();
    s.settings.icmp6errppslim = 0;
    let mut w = World::with(s);
    w.send(Ip6::udp(A, VIA_CC).on(0));
    assert_eq!(w.take_tx().len(), 1);
    w.assert_counters(forwarded_with_redirect(0) + redirect_refused());
}

#[test]
fn redirects_and_errors_share_the_rate_limit() {
    let mut s = snapshot();
    s.settings.icmp6errppslim = 1;
    let mut w = World::with(s);
    w.send(Ip6::udp(A, VIA_CC).on(0));
    assert_eq!(w.take_tx().len(), 2);
    w.send(Ip6::udp(A, NOWHERE).on(0));
    assert!(w.take_tx().is_empty());
    w.assert_counters(
        forwarded_with_redirect(0)
            + redirect_sent(0)
            + rx(0)
            + c(&[
                ("ip6s_noroute", 1),
                ("drop_noroute", 1),
                ("icp6s_toofreq", 1),
            ])
            + ifc(0, "ifs6_in_noroute")
            + error_decided(1, 0),
    );
}

#[test]
fn a_redirect_refused_for_its_global_gateway_still_spends_a_token() {
    let mut s = snapshot();
    s.settings.icmp6errppslim = 1;
    let mut w = World::with(s);
    w.send(Ip6::udp(A, VIA_FE).on(0));
    w.send(Ip6::udp(A, NOWHERE).on(0));
    assert_eq!(w.take_tx().len(), 1, "only the forwarded packet");
    assert_eq!(w.stats().icmp6.icp6s_toofreq, 1);
}

#[test]
fn a_redirect_refused_for_its_source_spends_no_token() {
    let mut s = snapshot();
    s.settings.icmp6errppslim = 1;
    let mut w = World::with(s);
    w.send(Ip6::udp(NOWHERE, VIA_CC).on(0));
    w.send(Ip6::udp(A, REJECT).on(0));
    let tx = w.take_tx();
    assert_eq!(tx.len(), 2, "the forwarded packet and the error");
    assert_eq!(w.stats().icmp6.icp6s_toofreq, 0);
}

#[test]
fn no_redirect_from_a_link_without_a_link_local_address() {
    let mut s = snapshot();
    s.ifnets[0]
        .addrs
        .retain(|a| !a.addr.is_unicast_link_local());
    let mut w = World::with(s);
    w.send(Ip6::udp(A, VIA_CC).on(0));
    assert_eq!(w.take_tx().len(), 1);
    w.assert_counters(forwarded_with_redirect(0) + redirect_refused());
}

#[test]
fn redirected_header_is_cut_to_a_multiple_of_8_within_the_minimum_mtu() {
    // (destination, IPv6 packet size, bytes redirected): 1184 of room
    // beside a TLLA option, 1192 without.
    let cases = [
        (VIA_CC, 1500, 1184),
        (VIA_CC, 1184, 1184),
        (VIA_CC, 1191, 1184),
        (D, 1500, 1192),
        (D, 1199, 1192),
        (D, 1191, 1184),
        (D, 101, 96),
        (D, 48, 48),
    ];
    for (dst, size, quoted) in cases {
        let mut w = World::new();
        let l3 = Ip6::udp(A, dst).sized(size).bytes();
        w.send(frame(0, PORT_MAC[0], &l3));
        let (e, _) = redirect_and_forwarded(&mut w);
        let r = parse_redirect(&e);
        assert_eq!(r.redirected, decremented(&l3)[..quoted], "{dst} {size}");
        let header = 40 + 8 + 32 + if r.tlla.is_some() { 8 } else { 0 } + 8;
        assert_eq!(48 + e.body.len(), header + quoted, "IPv6 length");
        assert!(header + quoted <= 1280);
    }
}

#[test]
fn point_to_point_link_answers_unreachable_instead_of_redirecting() {
    let mut s = snapshot();
    s.ifnets[0].flags = IfFlags {
        pointopoint: true,
        ..Default::default()
    };
    let mut w = World::with(s);
    let l3 = Ip6::udp(A, VIA_CC).bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
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
        &decremented(&l3),
    );
    w.assert_counters(rx(0) + c(&[("drop_p2p_loop", 1)]) + error_sent(0, 1, 3));
}

#[test]
fn point_to_point_check_needs_the_redirect_decision() {
    let mut s = snapshot();
    s.ifnets[0].flags.pointopoint = true;
    let mut w = World::with(s);
    // A dynamic route makes no redirect decision, so no loop check either.
    let l3 = Ip6::udp(A, VIA_CC_DYNAMIC).bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    let tx = w.take_tx();
    assert_eq!((tx.len(), tx[0].0), (1, 0));
    w.assert_counters(rx(0) + fwd(0));
}

#[test]
fn redirect_to_an_unresolved_neighbour_waits_for_it() {
    let mut w = World::new();
    let l3 = Ip6::udp(A2, VIA_CC).bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    let tx = w.take_tx();
    assert_eq!(tx.len(), 1);
    assert_eq!((tx[0].0, &tx[0].1.data), (0, &forwarded(&l3, 0, CC_MAC, 1)));
    assert_eq!(w.io.resolves, vec![(0, ip(A2))]);
    assert_eq!(w.engine.held(), 1);
    let counts = forwarded_with_redirect(0) + redirect_sent(0);
    w.assert_counters(counts.clone());

    w.update(|s| s.neighbors.insert(0, ip(A2), D_MAC));
    w.tick();
    let e = only_icmp(&mut w);
    assert_eq!((e.port, e.eth_dst, e.src, e.dst), (0, D_MAC, ll(0), ip(A2)));
    assert_eq!(parse_redirect(&e).target, ip("fe80::cc"));
    w.assert_counters(counts);
}

#[test]
fn redirect_to_a_link_local_source() {
    let mut w = World::new();
    let l3 = Ip6::udp(A_LL, VIA_CC).bytes();
    w.send(frame(0, PORT_MAC[0], &l3));
    let (e, _) = redirect_and_forwarded(&mut w);
    assert_eq!(
        (e.port, e.eth_dst, e.src, e.dst),
        (0, A_MAC, ll(0), ip(A_LL))
    );
    assert_eq!(parse_redirect(&e).tlla, Some(CC_MAC));
    w.assert_counters(forwarded_with_redirect(0) + redirect_sent(0));
}

#[test]
fn no_redirect_when_the_packet_leaves_by_another_link() {
    let mut w = World::new();
    w.send(Ip6::udp(A, FAR1).on(0));
    assert_eq!(w.take_tx().len(), 1);
    w.assert_counters(rx(0) + fwd(1));
}

#[test]
fn source_known_only_by_its_neighbour_entry_gets_a_redirect() {
    let mut s = snapshot();
    s.neighbors.insert(0, ip("2001:db9::5"), D_MAC);
    let mut w = World::with(s);
    w.send(Ip6::udp("2001:db9::5", VIA_CC).on(0));
    let (e, _) = redirect_and_forwarded(&mut w);
    assert_eq!(
        (e.port, e.eth_dst, e.src, e.dst),
        (0, D_MAC, ll(0), ip("2001:db9::5"))
    );
    w.assert_counters(forwarded_with_redirect(0) + redirect_sent(0));
}

#[test]
fn source_on_another_links_prefix_gets_no_redirect() {
    let mut w = World::new();
    w.send(Ip6::udp(B, VIA_CC).on(0));
    assert_eq!(w.take_tx().len(), 1);
    w.assert_counters(forwarded_with_redirect(0) + redirect_refused());
}
