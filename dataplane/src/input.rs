//! Receiving: the Ethernet demux and FreeBSD's `ip6_input` checks, in
//! FreeBSD's order and with its counters, up to the point where a packet is
//! either the router's own or handed to `ip6_forward`.

use crate::exthdr::Bytes;
use crate::icmp6::IcmpError;
use crate::iface::{IfIndex, Ifnet};
use crate::packet::PacketBuf;
use crate::snapshot::Snapshot;
use crate::stats::{Reason, WorkerStats};
use crate::wire::ethernet::{self, EtherType};
use crate::wire::icmpv6::param_prob;
use crate::wire::ipv6::{self, Protocol, scope};
use crate::wire::ipv6option::{self, OptionType, UnknownAction};

/// Where the IPv6 header starts in a frame.
pub const L3: usize = ethernet::HEADER_LEN;

/// The IPv6 packet of a frame, read across segments.
pub struct L3View<'a, P>(pub &'a P);

impl<P: PacketBuf> Bytes for L3View<'_, P> {
    fn read_at(&self, off: usize, dst: &mut [u8]) -> usize {
        self.0.read(L3 + off, dst)
    }
}

/// What the link layer tells the IP layer about a received packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxInfo {
    pub rcvif: IfIndex,
    /// The frame went to a group address (FreeBSD's `M_MCAST|M_BCAST`).
    pub l2_mcast: bool,
}

/// `ether_input`: frames too short, for another station, or not IPv6 go no
/// further.
pub fn ether_input<P: PacketBuf>(pkt: &P, ifp: &Ifnet) -> Result<RxInfo, Reason> {
    let head = pkt.head();
    let frame = ethernet::Frame::new_checked(head).map_err(|_| Reason::EtherRunt)?;
    let dst = frame.dst_addr();
    if dst.is_unicast() && dst != ifp.lladdr {
        return Err(Reason::EtherOtherhost);
    }
    if frame.ethertype() != EtherType::Ipv6 {
        return Err(Reason::EtherNoproto);
    }
    Ok(RxInfo {
        rcvif: ifp.index,
        l2_mcast: dst.is_multicast(),
    })
}

/// What `ip6_input` decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// Not for the router: forward it.
    Forward,
    /// For the router: one of its addresses, a group it joined, or a router
    /// alert for MLD.
    Local,
    Drop(Reason),
    /// Dropped and answered with an error quoting it as received.
    Error(Reason, IcmpError),
}

/// A link-scoped address whose second 16-bit word is not zero: FreeBSD
/// keeps its zone there internally, so such an address on the wire is
/// refused (`in6_clearscope` finding something to clear).
fn has_embedded_zone(a: &std::net::Ipv6Addr) -> bool {
    let link_scoped = ipv6::is_link_local_unicast(a)
        || (a.is_multicast()
            && matches!(
                ipv6::multicast_scope(a),
                scope::INTERFACE_LOCAL | scope::LINK_LOCAL
            ));
    link_scoped && a.segments()[1] != 0
}

/// `ip6_input` from the header checks to the forward-or-deliver decision.
/// Trims link-layer padding so the packet ends where its payload length says.
pub fn ip6_input<P: PacketBuf>(
    pkt: &mut P,
    rx: &RxInfo,
    ifp: &Ifnet,
    snap: &Snapshot,
    st: &WorkerStats,
) -> Input {
    let ifs = &st.ifs[usize::from(rx.rcvif)];
    let ip6s = &st.ip6;
    ifs.ifs6_in_receive.inc();
    ip6s.ip6s_total.inc();
    // FreeBSD's `bad:` label.
    let bad = |r: Reason| {
        ifs.ifs6_in_discard.inc();
        Input::Drop(r)
    };
    let len = pkt.pkt_len().saturating_sub(L3);
    if len < ipv6::HEADER_LEN {
        ip6s.ip6s_toosmall.inc();
        ifs.ifs6_in_hdrerr.inc();
        return bad(Reason::TooSmall);
    }
    if pkt.head().len() < L3 + ipv6::HEADER_LEN {
        ip6s.ip6s_exthdrtoolong.inc();
        return Input::Drop(Reason::ExthdrTooLong);
    }
    let ip6 = ipv6::Packet::new_unchecked(&pkt.head()[L3..]);
    if ip6.version() != 6 {
        ip6s.ip6s_badvers.inc();
        ifs.ifs6_in_hdrerr.inc();
        return bad(Reason::BadVers);
    }
    let (src, dst) = (ip6.src_addr(), ip6.dst_addr());
    let addr_err = src.is_multicast()
        || dst.is_unspecified()
        || (dst.is_multicast()
            && ipv6::multicast_scope(&dst) == scope::INTERFACE_LOCAL
            && !ifp.flags.loopback)
        || (dst.is_multicast() && ipv6::multicast_scope(&dst) == 0)
        || ipv6::is_v4_mapped(&src)
        || ipv6::is_v4_mapped(&dst);
    if addr_err {
        ip6s.ip6s_badscope.inc();
        ifs.ifs6_in_addrerr.inc();
        return bad(Reason::BadScope);
    }
    if has_embedded_zone(&src)
        || has_embedded_zone(&dst)
        || ifp.zone_of(&src).is_none()
        || ifp.zone_of(&dst).is_none()
    {
        ip6s.ip6s_badscope.inc();
        return bad(Reason::BadScope);
    }
    let mut ours = false;
    if dst.is_multicast() {
        ifs.ifs6_in_mcast.inc();
        ours = ifp.is_member(&dst);
    } else if snap.is_ours(&dst, ifp) {
        // Source address validation: our own address as the source of a
        // packet that came from outside is spoofed.
        if snap.is_ours(&src, ifp) {
            ip6s.ip6s_badscope.inc();
            return bad(Reason::BadScope);
        }
        ours = true;
    }
    let ip6_plen = usize::from(ip6.payload_len());
    let mut plen = ip6_plen;
    if ip6.next_header() == Protocol::HopByHop {
        match hopopts(pkt, rx, ip6_plen, &dst, st) {
            Ok(h) => {
                if let Some(j) = h.jumbo {
                    plen = j as usize;
                }
                if h.rtalert == Some(0) {
                    ours = true;
                }
            }
            Err(input) => return input,
        }
    }
    if len - ipv6::HEADER_LEN < plen {
        ip6s.ip6s_tooshort.inc();
        ifs.ifs6_in_truncated.inc();
        return bad(Reason::TooShort);
    }
    if len - ipv6::HEADER_LEN > plen {
        pkt.truncate(L3 + ipv6::HEADER_LEN + plen);
    }
    if ours {
        ip6s.ip6s_delivered.inc();
        ifs.ifs6_in_deliver.inc();
        Input::Local
    } else {
        Input::Forward
    }
}

/// What the hop-by-hop options said.
struct Hopopts {
    jumbo: Option<u32>,
    rtalert: Option<u16>,
}

/// `ip6_hopopts_input` + `ip6_process_hopopts` + `ip6_unknown_opt`.
/// Parameter Problem pointers are offsets from the IPv6 header. Like
/// FreeBSD, an option whose length runs past the header ends the walk
/// rather than failing it.
fn hopopts<P: PacketBuf>(
    pkt: &P,
    rx: &RxInfo,
    ip6_plen: usize,
    dst: &std::net::Ipv6Addr,
    st: &WorkerStats,
) -> Result<Hopopts, Input> {
    let ip6s = &st.ip6;
    let ifs = &st.ifs[usize::from(rx.rcvif)];
    // The header must lie within the packet and within its first segment.
    let len = pkt.pkt_len().saturating_sub(L3);
    let head = &pkt.head()[L3..];
    let avail = &head[..len.min(head.len())];
    let Ok(hbh) = ipv6option::Header::new_checked(avail.get(ipv6::HEADER_LEN..).unwrap_or(&[]))
    else {
        ip6s.ip6s_exthdrtoolong.inc();
        return Err(Input::Drop(Reason::ExthdrTooLong));
    };
    let opts = hbh.options();
    let erroff = (ipv6::HEADER_LEN + 2) as u32;
    let problem = |code: u8, at: usize| {
        Err(Input::Error(
            Reason::BadOptions,
            IcmpError::param_prob(code, erroff + at as u32),
        ))
    };
    let toosmall = || {
        ip6s.ip6s_toosmall.inc();
        Err(Input::Drop(Reason::TooSmall))
    };
    let mut out = Hopopts {
        jumbo: None,
        rtalert: None,
    };
    let mut i = 0;
    while i < opts.len() {
        let rem = opts.len() - i;
        let kind = opts[i];
        let optlen = match OptionType::from(kind) {
            OptionType::Pad1 => 1,
            OptionType::PadN => {
                if rem < 2 {
                    return toosmall();
                }
                usize::from(opts[i + 1]) + 2
            }
            OptionType::RouterAlert => {
                if rem < 4 {
                    return toosmall();
                }
                if opts[i + 1] != 2 {
                    return problem(param_prob::HEADER, i + 1);
                }
                out.rtalert = Some(u16::from_be_bytes([opts[i + 2], opts[i + 3]]));
                4
            }
            OptionType::Jumbo => {
                if rem < 6 {
                    return toosmall();
                }
                if opts[i + 1] != 4 {
                    return problem(param_prob::HEADER, i + 1);
                }
                if ip6_plen != 0 {
                    ip6s.ip6s_badoptions.inc();
                    return problem(param_prob::HEADER, i);
                }
                let jumbo =
                    u32::from_be_bytes([opts[i + 2], opts[i + 3], opts[i + 4], opts[i + 5]]);
                if out.jumbo.is_some() || jumbo <= 0xffff {
                    ip6s.ip6s_badoptions.inc();
                    return problem(param_prob::HEADER, i + 2);
                }
                out.jumbo = Some(jumbo);
                6
            }
            OptionType::Unknown(_) => {
                if rem < 2 {
                    return toosmall();
                }
                match UnknownAction::of(kind) {
                    UnknownAction::Skip => usize::from(opts[i + 1]) + 2,
                    UnknownAction::Discard => return Err(Input::Drop(Reason::BadOptions)),
                    UnknownAction::DiscardSendIcmp => {
                        ip6s.ip6s_badoptions.inc();
                        return problem(param_prob::OPTION, i);
                    }
                    UnknownAction::DiscardSendIcmpIfUnicast => {
                        ip6s.ip6s_badoptions.inc();
                        if dst.is_multicast() || rx.l2_mcast {
                            return Err(Input::Drop(Reason::BadOptions));
                        }
                        return problem(param_prob::OPTION, i);
                    }
                }
            }
        };
        i += optlen;
    }
    if ip6_plen == 0 && out.jumbo.is_none() {
        ip6s.ip6s_badoptions.inc();
        ifs.ifs6_in_discard.inc();
        ifs.ifs6_in_hdrerr.inc();
        return Err(Input::Error(
            Reason::BadOptions,
            IcmpError::param_prob(param_prob::HEADER, 4),
        ));
    }
    Ok(out)
}
