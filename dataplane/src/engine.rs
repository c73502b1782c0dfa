//! One worker's forwarding engine: runs each received packet through
//! `ether_input`, `ip6_input` and `ip6_forward` and carries out what they
//! decide, originating ICMPv6 errors and redirects and holding packets for
//! unresolved neighbours. Generic over the packet type and over [`Io`], the
//! worker's hands, so that all of it runs in tests without DPDK.

use std::net::Ipv6Addr;
use std::sync::Arc;
use std::time::Instant;

use crate::fib::Route;
use crate::fib::cache::RouteCache;
use crate::forward::{self, Ctx, Forward, LogEvent};
use crate::icmp6::{self, IcmpError, Origin};
use crate::iface::{IfIndex, Ifnet};
use crate::input::{self, Input, L3, RxInfo};
use crate::nd6::{self, Event, Held, HoldQueues, HoldResult};
use crate::packet::PacketBuf;
use crate::ratelimit::{self, LogLimiter, PpsLimiter};
use crate::snapshot::Snapshot;
use crate::stats::{Reason, WorkerStats};
use crate::wire::icmpv6::{Message, unreach};
use crate::wire::ipv6;

/// What the engine needs from the worker around it.
pub trait Io<P> {
    /// A fresh, empty packet buffer.
    fn alloc(&mut self) -> Option<P>;
    /// Queues a frame for transmission on a port.
    fn transmit(&mut self, port: IfIndex, pkt: P);
    /// Hands a packet to the control plane; gives it back if the queue is full.
    fn punt(&mut self, pkt: P) -> Result<(), P>;
    /// Asks the control plane to resolve a neighbour.
    fn resolve(&mut self, ifindex: IfIndex, addr: Ipv6Addr);
    fn log(&mut self, event: LogEvent);
}

/// How many times a packet may come back through the loopback before it is
/// dropped: with a hop limit each pass costs a hop, so only a stealthy
/// router (no hop limit) reaches this.
const LOOPBACK_PASSES: usize = 256;

/// A worker's forwarding state: its counters, and the rest, kept apart so
/// that both can be borrowed at once.
pub struct Engine<P> {
    stats: Arc<WorkerStats>,
    core: Core<P>,
}

/// Everything of a worker's but its counters.
struct Core<P> {
    cache: RouteCache,
    limiter: PpsLimiter,
    log: LogLimiter,
    hold: HoldQueues<P>,
    worker: usize,
    workers: usize,
}

impl<P: PacketBuf> Engine<P> {
    /// The engine of worker `worker` of `workers`; the router-wide ICMPv6
    /// rate limit is shared out among them.
    pub fn new(stats: Arc<WorkerStats>, worker: usize, workers: usize) -> Engine<P> {
        Engine {
            stats,
            core: Core {
                cache: RouteCache::default(),
                limiter: PpsLimiter::new(0),
                log: LogLimiter::default(),
                hold: HoldQueues::default(),
                worker,
                workers,
            },
        }
    }

    pub fn stats(&self) -> &Arc<WorkerStats> {
        &self.stats
    }

    /// Packets held for neighbour resolution.
    pub fn held(&self) -> usize {
        self.core.hold.len()
    }

    /// Forwards a burst. Its accounting is one step for readers of the
    /// counters.
    pub fn process_burst(
        &mut self,
        burst: impl IntoIterator<Item = P>,
        snap: &Snapshot,
        now: Instant,
        io: &mut impl Io<P>,
    ) {
        let st = &*self.stats;
        let core = &mut self.core;
        let _burst = st.burst();
        core.sync(snap);
        for pkt in burst {
            core.input(st, pkt, snap, now, io);
        }
        core.publish(st);
    }

    /// Runs the hold queues' timers and releases packets whose neighbour the
    /// snapshot now knows. Cheap when nothing is held.
    pub fn tick(&mut self, snap: &Snapshot, now: Instant, io: &mut impl Io<P>) {
        let st = &*self.stats;
        let core = &mut self.core;
        if core.hold.is_empty() {
            return;
        }
        let _burst = st.burst();
        core.sync(snap);
        let (timeout, retrans) = (snap.settings.nd6_timeout(), snap.settings.nd6_retrans);
        while let Some(ev) = core.hold.next_event(snap, now, timeout, retrans) {
            match ev {
                Event::Resolved(out, mac, h) => {
                    let Some(outif) = snap.ifnet(out) else {
                        core.lost(st, out, h, false, snap, now, io);
                        continue;
                    };
                    let mut pkt = h.pkt;
                    forward::ether_rewrite(&mut pkt, mac, outif);
                    if h.received {
                        st.fates.held.sub(1);
                        st.fates.forwarded.inc();
                    }
                    io.transmit(out, pkt);
                }
                Event::Failed(out, h, first) => core.lost(st, out, h, first, snap, now, io),
                Event::Ask(ifindex, addr) => io.resolve(ifindex, addr),
            }
        }
        core.publish(st);
    }

    /// Gives up every held packet (at shutdown), counting each as its
    /// resolution failing.
    pub fn shutdown(&mut self) {
        let st = &*self.stats;
        let _burst = st.burst();
        self.core.hold.drain(|out, h| count_lost(st, out, &h));
        self.core.publish(st);
    }
}

/// The counters of a held packet given up: `nd6_output` failing, as the
/// seed's `senderr` counts it.
fn count_lost<P>(st: &WorkerStats, out: IfIndex, h: &Held<P>) {
    st.icmp6.icp6s_dropped.inc();
    forward::count_unsent(st, out);
    if h.received {
        st.fates.held.sub(1);
        st.fates.drop_unresolved.inc();
    }
}

impl<P: PacketBuf> Core<P> {
    /// Takes this worker's share of the snapshot's ICMPv6 rate limit.
    fn sync(&mut self, snap: &Snapshot) {
        let lim = ratelimit::share(snap.settings.icmp6errppslim, self.workers, self.worker);
        if self.limiter.max() != lim {
            self.limiter.set_max(lim);
        }
    }

    /// Publishes the gauges with the rest of the burst's counters.
    fn publish(&self, st: &WorkerStats) {
        st.upcalls.hold_queue.set(self.hold.len() as u64);
    }

    fn input(
        &mut self,
        st: &WorkerStats,
        mut pkt: P,
        snap: &Snapshot,
        now: Instant,
        io: &mut impl Io<P>,
    ) {
        st.fates.received.inc();
        // Workers poll only ports the snapshot has; were one missing, its
        // frames would be for no interface of this router.
        let Some(ifp) = snap.ifnet(pkt.rx_port()) else {
            st.fates.drop_ether_otherhost.inc();
            return;
        };
        let rx = match input::ether_input(&pkt, ifp) {
            Ok(rx) => rx,
            Err(r) => {
                st.fates.drop(r).inc();
                return;
            }
        };
        for _ in 0..LOOPBACK_PASSES {
            match input::ip6_input(&mut pkt, &rx, ifp, snap, st) {
                Input::Forward => {}
                Input::Local => return punt(st, pkt, io),
                Input::Drop(r) => return st.fates.drop(r).inc(),
                Input::Error(r, err) => {
                    st.fates.drop(r).inc();
                    return self.send_error(st, &pkt, &rx, err, snap, now, io);
                }
            }
            match self.forward(st, pkt, rx, snap, now, io) {
                // Loopback output (`looutput`): the packet comes back in on
                // the interface it was received on, the seed's `origifp`.
                Some(back) => pkt = back,
                None => return,
            }
        }
        st.fates.drop(Reason::Hlim).inc();
    }

    /// `ip6_forward` and what follows it; a packet routed to the loopback is
    /// handed back to be received again.
    fn forward(
        &mut self,
        st: &WorkerStats,
        mut pkt: P,
        rx: RxInfo,
        snap: &Snapshot,
        now: Instant,
        io: &mut impl Io<P>,
    ) -> Option<P> {
        let mut cx = Ctx {
            stats: st,
            cache: &mut self.cache,
            log: &mut self.log,
            logged: None,
        };
        let decision = forward::ip6_forward(&mut pkt, &rx, snap, now, &mut cx);
        if let Some(ev) = cx.logged {
            io.log(ev);
        }
        match decision {
            Forward::Transmit { out, redirect } => {
                // The seed sends the packet, then the redirect about it.
                let redirect =
                    redirect.and_then(|rt| self.build_redirect(st, &pkt, &rt, snap, now, io));
                st.fates.forwarded.inc();
                io.transmit(out, pkt);
                if let Some((r, rt, dst)) = redirect {
                    self.originate(st, r, &rt, dst, Message::Redirect, 0, snap, now, io);
                }
            }
            Forward::Hold {
                out,
                next_hop,
                redirect,
            } => {
                if !self.hold.can_hold(out, &next_hop) {
                    // nd6_resolve_slow cannot make an entry: ENOBUFS.
                    forward::count_unsent(st, out);
                    st.fates.drop_unresolved.inc();
                    return None;
                }
                forward::count_forwarded(st, out, redirect.is_some());
                let redirect =
                    redirect.and_then(|rt| self.build_redirect(st, &pkt, &rt, snap, now, io));
                st.fates.held.inc();
                self.hold_packet(
                    st,
                    out,
                    next_hop,
                    Held {
                        pkt,
                        received: true,
                    },
                    snap,
                    now,
                    io,
                );
                if let Some((r, rt, dst)) = redirect {
                    self.originate(st, r, &rt, dst, Message::Redirect, 0, snap, now, io);
                }
            }
            Forward::Loopback => return Some(pkt),
            Forward::Drop(r) => st.fates.drop(r).inc(),
            Forward::Error(r, err) => {
                st.fates.drop(r).inc();
                self.send_error(st, &pkt, &rx, err, snap, now, io);
            }
        }
        None
    }

    /// Holds a packet for its next hop. A packet evicted to make room is
    /// lost as if its resolution had failed, and answered; `icmp6_error`'s
    /// rules keep errors about errors and redirects from chaining, and the
    /// rate limit bounds the rest.
    #[allow(clippy::too_many_arguments)]
    fn hold_packet(
        &mut self,
        st: &WorkerStats,
        out: IfIndex,
        next_hop: Ipv6Addr,
        h: Held<P>,
        snap: &Snapshot,
        now: Instant,
        io: &mut impl Io<P>,
    ) {
        let s = &snap.settings;
        match self
            .hold
            .hold(out, next_hop, h, now, s.nd6_maxqlen, s.nd6_retrans)
        {
            HoldResult::Held { ask } => {
                if ask {
                    io.resolve(out, next_hop);
                }
            }
            HoldResult::Evicted(old) => self.lost(st, out, old, true, snap, now, io),
            HoldResult::NoEntry(h) => {
                debug_assert!(
                    !h.received,
                    "forwarded packets are checked with can_hold first"
                );
                st.ip6.ip6s_odropped.inc();
            }
        }
    }

    /// A held packet given up, and, if `answer`, reported to its source as
    /// Destination Unreachable, address unreachable (the seed's `senderr`
    /// for a failed next hop).
    #[allow(clippy::too_many_arguments)]
    fn lost(
        &mut self,
        st: &WorkerStats,
        out: IfIndex,
        h: Held<P>,
        answer: bool,
        snap: &Snapshot,
        now: Instant,
        io: &mut impl Io<P>,
    ) {
        count_lost(st, out, &h);
        if answer {
            let rx = RxInfo {
                rcvif: out,
                l2_mcast: false,
            };
            self.send_error(
                st,
                &h.pkt,
                &rx,
                IcmpError::unreach(unreach::ADDR),
                snap,
                now,
                io,
            );
        }
    }

    /// `icmp6_error`: the rules, then `icmp6_reflect`, then `ip6_output`.
    #[allow(clippy::too_many_arguments)]
    fn send_error(
        &mut self,
        st: &WorkerStats,
        offending: &P,
        rx: &RxInfo,
        err: IcmpError,
        snap: &Snapshot,
        now: Instant,
        io: &mut impl Io<P>,
    ) {
        if !icmp6::error_permitted(offending, rx, &err, &mut self.limiter, now, st) {
            return;
        }
        let Some((origin, rt, outif)) = self.reflect(st, offending, rx, snap) else {
            st.ip6.ip6s_odropped.inc();
            return;
        };
        let Some(mut pkt) = io.alloc() else {
            st.ip6.ip6s_odropped.inc();
            return;
        };
        if !icmp6::build_error(&mut pkt, offending, outif, &origin, &err) {
            st.ip6.ip6s_odropped.inc();
            return;
        }
        self.originate(st, pkt, &rt, origin.dst, err.msg, err.code, snap, now, io);
    }

    /// `icmp6_reflect`'s addressing: the error goes back to the offending
    /// packet's source, from the address it was sent to if that is the
    /// router's, else from the address source selection picks for the way
    /// back; `None` if there is no usable way back.
    fn reflect<'s>(
        &mut self,
        st: &WorkerStats,
        offending: &P,
        rx: &RxInfo,
        snap: &'s Snapshot,
    ) -> Option<(Origin, Route, &'s Ifnet)> {
        let ip6 = ipv6::Packet::new_unchecked(&offending.head()[L3..]);
        let (osrc, odst) = (ip6.src_addr(), ip6.dst_addr());
        let Some(rt) = forward::route_lookup(snap, &mut self.cache, &osrc, rx.rcvif, st) else {
            st.ip6.ip6s_noroute.inc();
            return None;
        };
        let outif = snap.ifnet(rt.ifindex)?;
        if rt.flags.blackhole || rt.flags.reject || outif.flags.loopback {
            return None;
        }
        let rcvif = snap.ifnet(rx.rcvif)?;
        let src = if !odst.is_multicast() && snap.is_ours(&odst, rcvif) {
            odst
        } else {
            crate::in6_src::select_source(snap, &osrc, outif)?
        };
        let origin = Origin {
            src,
            dst: osrc,
            hop_limit: snap.settings.defhlim,
        };
        Some((origin, rt, outif))
    }

    /// `icmp6_redirect_output` about a packet about to be forwarded back out
    /// the link it came in on: the message, the route back to the packet's
    /// source (on that link) and that source; `None` if none is sent.
    #[allow(clippy::type_complexity)]
    fn build_redirect(
        &mut self,
        st: &WorkerStats,
        offending: &P,
        rt: &Route,
        snap: &Snapshot,
        now: Instant,
        io: &mut impl Io<P>,
    ) -> Option<(P, Route, Ipv6Addr)> {
        let ip6 = ipv6::Packet::new_unchecked(&offending.head()[L3..]);
        let (src, dst) = (ip6.src_addr(), ip6.dst_addr());
        let outif = snap.ifnet(rt.ifindex)?;
        let src_is_neighbor = nd6::is_neighbor(snap, rt.ifindex, &src);
        if !icmp6::redirect_permitted(src_is_neighbor, &dst, outif, rt, &mut self.limiter, now, st)
        {
            return None;
        }
        let gateway_lladdr = rt
            .gateway
            .and_then(|g| snap.neighbors.lookup(rt.ifindex, &g));
        let Some(mut pkt) = io.alloc() else {
            st.ip6.ip6s_odropped.inc();
            return None;
        };
        if !icmp6::build_redirect(&mut pkt, offending, outif, rt, gateway_lladdr) {
            st.ip6.ip6s_odropped.inc();
            return None;
        }
        st.icmp6_outhist.0[usize::from(u8::from(Message::Redirect))].inc();
        let back = Route {
            gateway: None,
            flags: Default::default(),
            ..*rt
        };
        Some((pkt, back, src))
    }

    /// `ip6_output` for a packet the router made: counted, then through
    /// `nd6_output` like forwarded traffic.
    #[allow(clippy::too_many_arguments)]
    fn originate(
        &mut self,
        st: &WorkerStats,
        mut pkt: P,
        rt: &Route,
        dst: Ipv6Addr,
        msg: Message,
        code: u8,
        snap: &Snapshot,
        now: Instant,
        io: &mut impl Io<P>,
    ) {
        let out = rt.ifindex;
        let (Some(outif), Some(ifs)) = (snap.ifnet(out), st.ifs.get(usize::from(out))) else {
            st.ip6.ip6s_odropped.inc();
            return;
        };
        st.ip6.ip6s_localout.inc();
        ifs.ifs6_out_request.inc();
        icmp6::ifoutstat(ifs, msg, code);
        let next_hop = rt.next_hop(dst);
        match snap.neighbors.lookup(out, &next_hop) {
            Some(mac) => {
                forward::ether_rewrite(&mut pkt, mac, outif);
                io.transmit(out, pkt);
            }
            None if nd6::is_neighbor(snap, out, &next_hop) => {
                let h = Held {
                    pkt,
                    received: false,
                };
                self.hold_packet(st, out, next_hop, h, snap, now, io);
            }
            None => {
                ifs.ifs6_out_discard.inc();
                st.ip6.ip6s_odropped.inc();
            }
        }
    }
}

/// Hands a packet to the control plane, or counts the overflow.
fn punt<P>(st: &WorkerStats, pkt: P, io: &mut impl Io<P>) {
    match io.punt(pkt) {
        Ok(()) => st.fates.punted.inc(),
        Err(_) => st.fates.drop_punt_overflow.inc(),
    }
}
