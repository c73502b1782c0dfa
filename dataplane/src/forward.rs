//! FreeBSD's `ip6_forward`, branch for branch and counter for counter, as a
//! function of the packet, where it came from, the snapshot and the time.
//!
//! It returns what to do; the engine does it, `nd6_output` included. The
//! order is the seed's (FreeBSD's `sys/netinet6/ip6_forward.c`); reject and blackhole routes, which the seed
//! leaves to the loopback driver, are handled as current FreeBSD handles
//! them right after the lookup. Errors quote the packet after its hop limit
//! was decremented, as the seed's `mcopy` does.

use std::net::Ipv6Addr;
use std::time::Instant;

use crate::exthdr;
use crate::fib::cache::RouteCache;
use crate::fib::{Route, RouteId};
use crate::icmp6::IcmpError;
use crate::iface::IfIndex;
use crate::input::{L3, L3View, RxInfo};
use crate::packet::PacketBuf;
use crate::pfil::Action;
use crate::ratelimit::LogLimiter;
use crate::snapshot::Snapshot;
use crate::stats::{Reason, WorkerStats};
use crate::wire::icmpv6::unreach;
use crate::wire::ipv6;

/// What to do with a packet `ip6_forward` looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forward {
    /// `nd6_output` towards `next_hop` on `out`. With `redirect`, tell the
    /// sender about the better first hop once it is sent. The engine
    /// counts it forwarded or not by what `nd6_output` returns, as the
    /// seed does.
    Output {
        out: IfIndex,
        next_hop: Ipv6Addr,
        redirect: Option<Route>,
    },
    /// The route leads to the loopback `out`: the packet comes back to the
    /// router (the engine counts it forwarded once `looutput` takes it).
    Loopback {
        out: IfIndex,
    },
    Drop(Reason),
    /// Dropped and answered with an ICMPv6 error quoting it.
    Error(Reason, IcmpError),
}

/// A "cannot forward" line, limited as `ip6_log_interval` limits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogEvent {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub nxt: u8,
    pub rcvif: IfIndex,
    /// Set for the source-scope case, which names the outgoing interface.
    pub outif: Option<IfIndex>,
}

/// The per-core state `ip6_forward` uses besides the snapshot.
pub struct Ctx<'a> {
    pub stats: &'a WorkerStats,
    pub cache: &'a mut RouteCache,
    pub log: &'a mut LogLimiter,
    /// The line to log, if this packet produced one the limiter let through.
    pub logged: Option<LogEvent>,
    /// The FIB's answer for a destination, looked up with the rest of the
    /// burst: `(destination, route)`.
    pub looked_up: Option<(u128, Option<RouteId>)>,
}

impl Ctx<'_> {
    fn log(&mut self, now: Instant, snap: &Snapshot, ev: LogEvent) {
        if self.log.check(now, snap.settings.log_interval) {
            self.logged = Some(ev);
        }
    }
}

/// The route for `dst`. A link-local destination is on the link of
/// `zone_if` (RFC 4007 §9: its zone is the one it was seen in); anything else
/// goes through the per-core cache to the FIB.
#[inline]
pub fn route_lookup(
    snap: &Snapshot,
    cache: &mut RouteCache,
    dst: &Ipv6Addr,
    zone_if: IfIndex,
    st: &WorkerStats,
) -> Option<Route> {
    if ipv6::is_link_local_unicast(dst) {
        return Some(Route {
            prefix: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0),
            prefix_len: 64,
            gateway: None,
            ifindex: zone_if,
            flags: Default::default(),
        });
    }
    let id = cache.lookup(&snap.fib, snap.generation, dst, &st.rtcache)?;
    Some(*snap.fib.route(id))
}

/// The counters of a failed `nd6_output` (the seed's error branch before
/// `senderr`).
#[inline]
pub fn count_unsent(st: &WorkerStats, out: IfIndex) {
    if let Some(ifs) = st.ifs.get(usize::from(out)) {
        ifs.ifs6_out_discard.inc();
    }
    st.ip6.ip6s_cantforward.inc();
}

/// The counters of a successful `nd6_output`.
#[inline]
pub fn count_forwarded(st: &WorkerStats, out: IfIndex, redirect: bool) {
    st.ip6.ip6s_forward.inc();
    st.ifs[usize::from(out)].ifs6_out_forward.inc();
    if redirect {
        st.ip6.ip6s_redirectsent.inc();
    }
}

/// `ip6_forward(m, srcrt = 0)` for a packet `ip6_input` found not to be the
/// router's, up to its call of `nd6_output`. Decrements the hop limit
/// (unless stealthy).
pub fn ip6_forward<P: PacketBuf>(
    pkt: &mut P,
    rx: &RxInfo,
    snap: &Snapshot,
    now: Instant,
    cx: &mut Ctx<'_>,
) -> Forward {
    let st = cx.stats;
    let rcvif = &snap.ifnets[usize::from(rx.rcvif)];
    let len = pkt.pkt_len().saturating_sub(L3);
    let ip6 = ipv6::Packet::new_unchecked(&pkt.head()[L3..]);
    let (src, dst, nxt, hlim) = (
        ip6.src_addr(),
        ip6.dst_addr(),
        u8::from(ip6.next_header()),
        ip6.hop_limit(),
    );
    let event = |outif| LogEvent {
        src,
        dst,
        nxt,
        rcvif: rx.rcvif,
        outif,
    };

    // Not forwardable: multicast (at either layer) and unspecified sources.
    if rx.l2_mcast || dst.is_multicast() || src.is_unspecified() {
        st.ip6.ip6s_cantforward.inc();
        cx.log(now, snap, event(None));
        return Forward::Drop(Reason::CantForward);
    }

    if !snap.settings.stealth {
        if hlim <= ipv6::HLIM_DEC {
            return Forward::Error(Reason::Hlim, IcmpError::time_exceeded());
        }
        ipv6::Packet::new_unchecked(&mut pkt.head_mut()[L3..]).set_hop_limit(hlim - ipv6::HLIM_DEC);
    }

    let found = match cx.looked_up {
        Some((d, id)) if d == dst.to_bits() && !ipv6::is_link_local_unicast(&dst) => {
            id.map(|id| *snap.fib.route(id))
        }
        _ => route_lookup(snap, cx.cache, &dst, rx.rcvif, st),
    };
    let Some(rt) = found else {
        st.ip6.ip6s_noroute.inc();
        st.ifs[usize::from(rx.rcvif)].ifs6_in_noroute.inc();
        return Forward::Error(Reason::NoRoute, IcmpError::unreach(unreach::NOROUTE));
    };
    if rt.flags.blackhole || rt.flags.reject {
        st.ip6.ip6s_cantforward.inc();
        return if rt.flags.reject {
            Forward::Error(Reason::Reject, IcmpError::unreach(unreach::REJECT))
        } else {
            Forward::Drop(Reason::Blackhole)
        };
    }
    let outif = &snap.ifnets[usize::from(rt.ifindex)];

    // Global addresses have one zone everywhere: only other scopes can
    // leave their zone, so only they are looked at.
    let global = |a: &Ipv6Addr| !a.is_loopback() && ipv6::addr_scope(a) == ipv6::scope::GLOBAL;
    if !(global(&src) && global(&dst)) {
        // Source scope: the packet may not leave the zone of its source.
        let (Some(outzone), Some(inzone)) = (outif.zone_of(&src), rcvif.zone_of(&src)) else {
            st.ip6.ip6s_cantforward.inc();
            st.ip6.ip6s_badscope.inc();
            return Forward::Drop(Reason::BadScope);
        };
        if inzone != outzone {
            st.ip6.ip6s_cantforward.inc();
            st.ip6.ip6s_badscope.inc();
            st.ifs[usize::from(rt.ifindex)].ifs6_in_discard.inc();
            cx.log(now, snap, event(Some(rt.ifindex)));
            return Forward::Error(Reason::BadScope, IcmpError::unreach(unreach::BEYONDSCOPE));
        }

        // Destination scope: a wrong route must not carry it out of its zone.
        match (rcvif.zone_of(&dst), outif.zone_of(&dst)) {
            (Some(a), Some(b)) if a == b => {}
            _ => {
                st.ip6.ip6s_cantforward.inc();
                st.ip6.ip6s_badscope.inc();
                return Forward::Drop(Reason::BadScope);
            }
        }
    }

    if len > outif.mtu as usize {
        st.ifs[usize::from(rt.ifindex)].ifs6_in_toobig.inc();
        return Forward::Error(Reason::TooBig, IcmpError::too_big(outif.mtu));
    }

    let next_hop = rt.next_hop(dst);

    let mut redirect = None;
    if snap.settings.sendredirects
        && rt.ifindex == rx.rcvif
        && !(rt.flags.dynamic || rt.flags.modified)
        && !exthdr::has_routing_header(&L3View(&*pkt), len)
    {
        if outif.flags.pointopoint {
            return Forward::Error(Reason::P2pLoop, IcmpError::unreach(unreach::ADDR));
        }
        redirect = Some(rt);
    }

    if !snap.pfil.is_empty() {
        let hit = snap
            .pfil
            .check(&L3View(&*pkt), len, src, dst, rx.rcvif, rt.ifindex);
        if let Some((i, action)) = hit {
            st.filter_hits[i].inc();
            match action {
                Action::Pass => {}
                Action::Drop => return Forward::Drop(Reason::Filtered),
                Action::Reject => {
                    return Forward::Error(Reason::Filtered, IcmpError::unreach(unreach::ADMIN));
                }
            }
        }
    }

    // Loopback output: the packet comes back in as if received again.
    if outif.flags.loopback {
        return Forward::Loopback { out: rt.ifindex };
    }

    Forward::Output {
        out: rt.ifindex,
        next_hop,
        redirect,
    }
}
