//! ICMPv6 errors and redirects, as FreeBSD's `icmp6_error`,
//! `icmp6_reflect` and `icmp6_redirect_output` make them.
//!
//! Deciding and building are split: [`error_permitted`] applies FreeBSD's
//! rules and rate limit and bumps its counters; [`build_error`] and
//! [`build_redirect`] write a complete frame into a fresh buffer. Routing the
//! new packet back is the engine's, through the same `nd6_output` as
//! forwarded traffic.

use std::net::Ipv6Addr;
use std::time::Instant;

use crate::exthdr::{self, Bytes};
use crate::fib::Route;
use crate::iface::Ifnet;
use crate::input::{L3, L3View, RxInfo};
use crate::packet::PacketBuf;
use crate::ratelimit::PpsLimiter;
use crate::stats::{In6IfStat, WorkerStats};
use crate::wire::ethernet::{self, EtherType};
use crate::wire::icmpv6::{self, Message, param_prob, time_exceeded, unreach};
use crate::wire::ipv6::{self, Protocol};
use crate::wire::ndisc;

/// FreeBSD's `ICMPV6_PLD_MAXLEN`: as much of the offending packet as fits
/// in the minimum MTU beside the error's own headers.
pub const PLD_MAXLEN: usize = ipv6::MIN_MTU - ipv6::HEADER_LEN - icmpv6::HEADER_LEN;

/// An ICMPv6 error to send about a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpError {
    pub msg: Message,
    pub code: u8,
    /// The MTU of Packet Too Big, the pointer of Parameter Problem.
    pub param: u32,
}

impl IcmpError {
    pub const fn unreach(code: u8) -> IcmpError {
        IcmpError {
            msg: Message::DstUnreachable,
            code,
            param: 0,
        }
    }

    pub const fn time_exceeded() -> IcmpError {
        IcmpError {
            msg: Message::TimeExceeded,
            code: time_exceeded::TRANSIT,
            param: 0,
        }
    }

    pub const fn too_big(mtu: u32) -> IcmpError {
        IcmpError {
            msg: Message::PktTooBig,
            code: 0,
            param: mtu,
        }
    }

    pub const fn param_prob(code: u8, pointer: u32) -> IcmpError {
        IcmpError {
            msg: Message::ParamProblem,
            code,
            param: pointer,
        }
    }
}

/// FreeBSD's `icmp6_errcount`: the per-type-and-code output counters,
/// bumped for every error decided, sent or not.
fn errcount(st: &WorkerStats, msg: Message, code: u8) {
    let s = &st.icmp6;
    let c = match (msg, code) {
        (Message::DstUnreachable, unreach::NOROUTE) => &s.icp6s_odst_unreach_noroute,
        (Message::DstUnreachable, unreach::ADMIN) => &s.icp6s_odst_unreach_admin,
        (Message::DstUnreachable, unreach::BEYONDSCOPE) => &s.icp6s_odst_unreach_beyondscope,
        (Message::DstUnreachable, unreach::ADDR) => &s.icp6s_odst_unreach_addr,
        (Message::DstUnreachable, unreach::NOPORT) => &s.icp6s_odst_unreach_noport,
        (Message::PktTooBig, _) => &s.icp6s_opacket_too_big,
        (Message::TimeExceeded, time_exceeded::TRANSIT) => &s.icp6s_otime_exceed_transit,
        (Message::TimeExceeded, time_exceeded::REASSEMBLY) => &s.icp6s_otime_exceed_reassembly,
        (Message::ParamProblem, param_prob::HEADER) => &s.icp6s_oparamprob_header,
        (Message::ParamProblem, param_prob::NEXTHEADER) => &s.icp6s_oparamprob_nextheader,
        (Message::ParamProblem, param_prob::OPTION) => &s.icp6s_oparamprob_option,
        (Message::Redirect, _) => &s.icp6s_oredirect,
        _ => &s.icp6s_ounknown,
    };
    c.inc();
}

/// `icmp6_error`'s rules, in its order: count the call, refuse errors about
/// multicast (but Packet Too Big and unrecognised-option Parameter Problem),
/// about packets from an unspecified or multicast source, and about ICMPv6
/// errors and redirects; then the rate limit. True if the error may be sent;
/// `icp6s_outhist` is bumped then, as FreeBSD bumps it before reflecting.
pub fn error_permitted<P: PacketBuf>(
    pkt: &P,
    rx: &RxInfo,
    err: &IcmpError,
    limiter: &mut PpsLimiter,
    now: Instant,
    st: &WorkerStats,
) -> bool {
    st.icmp6.icp6s_error.inc();
    errcount(st, err.msg, err.code);
    let len = pkt.pkt_len().saturating_sub(L3);
    let ip6 = ipv6::Packet::new_unchecked(&pkt.head()[L3..]);
    let (src, dst) = (ip6.src_addr(), ip6.dst_addr());
    let mcast_ok = err.msg == Message::PktTooBig
        || (err.msg == Message::ParamProblem && err.code == param_prob::OPTION);
    if (rx.l2_mcast || dst.is_multicast()) && !mcast_ok {
        st.icmp6.icp6s_badaddr.inc();
        return false;
    }
    if src.is_unspecified() || src.is_multicast() {
        st.icmp6.icp6s_badaddr.inc();
        return false;
    }
    let view = L3View(pkt);
    let (off, nxt) = exthdr::last_header(&view, len);
    if nxt == Protocol::Icmpv6 {
        let mut t = [0u8; icmpv6::HEADER_LEN];
        if off + icmpv6::HEADER_LEN > len || view.read_at(off, &mut t) < icmpv6::HEADER_LEN {
            st.ip6.ip6s_exthdrtoolong.inc();
            return false;
        }
        let m = Message::from(t[0]);
        if m.is_error() || m == Message::Redirect {
            st.icmp6.icp6s_canterror.inc();
            return false;
        }
    }
    if !limiter.check(now) {
        st.icmp6.icp6s_toofreq.inc();
        return false;
    }
    st.icmp6_outhist.0[usize::from(u8::from(err.msg))].inc();
    true
}

/// Copies the offending packet from its IPv6 header into `quote`; were it
/// shorter than promised, the rest is zeroed rather than left as whatever
/// the fresh buffer held.
fn fill_from<P: PacketBuf>(offending: &P, quote: &mut [u8]) {
    let n = offending.read(L3, quote);
    quote[n..].fill(0);
}

/// Addresses and hop limit of a packet the router sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub hop_limit: u8,
}

/// Writes an Ethernet + IPv6 header for a router-originated packet whose
/// ICMPv6 message is `icmp_len` long; the Ethernet destination is filled in
/// by `nd6_output`.
fn emit_headers(frame: &mut [u8], outif: &Ifnet, o: &Origin, icmp_len: usize) {
    let mut eth = ethernet::Frame::new_unchecked(&mut frame[..]);
    eth.set_src_addr(outif.lladdr);
    eth.set_ethertype(EtherType::Ipv6);
    let repr = ipv6::Repr {
        src_addr: o.src,
        dst_addr: o.dst,
        next_header: Protocol::Icmpv6,
        payload_len: icmp_len as u16,
        hop_limit: o.hop_limit,
    };
    repr.emit(&mut ipv6::Packet::new_unchecked(&mut frame[L3..]));
}

/// Builds the error frame into `out`, an empty buffer: Ethernet, IPv6 (traffic
/// class and flow label zero, as `icmp6_reflect` leaves them), the ICMPv6
/// header and up to [`PLD_MAXLEN`] bytes of the offending packet, checksummed.
/// Returns false if `out` has no room.
pub fn build_error<P: PacketBuf, Q: PacketBuf>(
    out: &mut Q,
    offending: &P,
    outif: &Ifnet,
    o: &Origin,
    err: &IcmpError,
) -> bool {
    let quote = (offending.pkt_len().saturating_sub(L3)).min(PLD_MAXLEN);
    let icmp_len = icmpv6::HEADER_LEN + quote;
    let Some(frame) = out.extend(L3 + ipv6::HEADER_LEN + icmp_len) else {
        return false;
    };
    emit_headers(frame, outif, o, icmp_len);
    let icmp_at = L3 + ipv6::HEADER_LEN;
    fill_from(offending, &mut frame[icmp_at + icmpv6::HEADER_LEN..]);
    let mut icmp = icmpv6::Packet::new_unchecked(&mut frame[icmp_at..]);
    icmp.set_msg_type(err.msg);
    icmp.set_msg_code(err.code);
    icmp.set_data_word(err.param);
    icmp.fill_checksum(&o.src, &o.dst);
    true
}

/// Whether `icmp6_redirect_output` would say anything: FreeBSD counts
/// `icp6s_oredirect` first, then refuses silently when the packet's source
/// is not a neighbour on the link, its destination is multicast, the rate
/// limit is reached, the link has no link-local address, or the better
/// router's address is not link-local.
pub fn redirect_permitted(
    src_is_neighbor: bool,
    dst: &Ipv6Addr,
    outif: &Ifnet,
    route: &Route,
    limiter: &mut PpsLimiter,
    now: Instant,
    st: &WorkerStats,
) -> bool {
    errcount(st, Message::Redirect, 0);
    if !src_is_neighbor || dst.is_multicast() || !limiter.check(now) || outif.link_local().is_none()
    {
        return false;
    }
    !route.flags.gateway
        || route
            .gateway
            .is_some_and(|g| ipv6::is_link_local_unicast(&g))
}

/// Builds an ND Redirect about `offending` into the empty buffer `out`:
/// from the link's link-local address, hop limit 255, to the packet's
/// source. The target is the better router (the gateway) or, for an
/// on-link destination, the destination itself; the target link-layer
/// option goes only with a gateway whose address is known; the redirected
/// header option carries the offending packet cut to a multiple of 8 bytes
/// so the message stays within the minimum MTU.
pub fn build_redirect<P: PacketBuf, Q: PacketBuf>(
    out: &mut Q,
    offending: &P,
    outif: &Ifnet,
    route: &Route,
    target_lladdr: Option<ethernet::Address>,
) -> bool {
    let ip6 = ipv6::Packet::new_unchecked(&offending.head()[L3..]);
    let (src, dst) = (ip6.src_addr(), ip6.dst_addr());
    let Some(ll) = outif.link_local() else {
        return false;
    };
    let target = route.next_hop(dst);
    let tlla = target_lladdr.filter(|_| route.flags.gateway);
    let opts_at = ipv6::HEADER_LEN
        + ndisc::REDIRECT_LEN
        + if tlla.is_some() {
            ndisc::LLADDR_OPTION_LEN
        } else {
            0
        };
    let room = (ipv6::MIN_MTU - opts_at) & !7;
    let data_room = room - ndisc::REDIRECTED_HEADER_OPTION_LEN;
    let quote = (offending.pkt_len().saturating_sub(L3)).min(data_room) & !7;
    let icmp_len = opts_at - ipv6::HEADER_LEN + ndisc::REDIRECTED_HEADER_OPTION_LEN + quote;
    let Some(frame) = out.extend(L3 + ipv6::HEADER_LEN + icmp_len) else {
        return false;
    };
    let o = Origin {
        src: ll,
        dst: src,
        hop_limit: 255,
    };
    emit_headers(frame, outif, &o, icmp_len);
    let icmp_at = L3 + ipv6::HEADER_LEN;
    let mut r = ndisc::Redirect::new_unchecked(&mut frame[icmp_at..]);
    r.emit_header(&target, &dst);
    let opts = r.options_mut();
    let mut at = 0;
    if let Some(mac) = tlla {
        ndisc::emit_lladdr_option(
            &mut opts[..ndisc::LLADDR_OPTION_LEN],
            ndisc::option::TARGET_LLADDR,
            &mac,
        );
        at = ndisc::LLADDR_OPTION_LEN;
    }
    ndisc::emit_redirected_header_option(
        &mut opts[at..at + ndisc::REDIRECTED_HEADER_OPTION_LEN],
        quote,
    );
    at += ndisc::REDIRECTED_HEADER_OPTION_LEN;
    fill_from(offending, &mut opts[at..at + quote]);
    icmpv6::Packet::new_unchecked(&mut frame[icmp_at..]).fill_checksum(&o.src, &o.dst);
    true
}

/// FreeBSD's `icmp6_ifoutstat_inc`: per-interface ICMPv6 output counters.
pub fn ifoutstat(ifs: &In6IfStat, msg: Message, code: u8) {
    ifs.ifs6_out_msg.inc();
    match msg {
        Message::DstUnreachable => {
            ifs.ifs6_out_error.inc();
            ifs.ifs6_out_dstunreach.inc();
            if code == unreach::ADMIN {
                ifs.ifs6_out_adminprohib.inc();
            }
        }
        Message::PktTooBig => {
            ifs.ifs6_out_error.inc();
            ifs.ifs6_out_pkttoobig.inc();
        }
        Message::TimeExceeded => {
            ifs.ifs6_out_error.inc();
            ifs.ifs6_out_timeexceed.inc();
        }
        Message::ParamProblem => {
            ifs.ifs6_out_error.inc();
            ifs.ifs6_out_paramprob.inc();
        }
        Message::Redirect => ifs.ifs6_out_redirect.inc(),
        m if m.is_error() => ifs.ifs6_out_error.inc(),
        _ => {}
    }
}
