//! One worker's forwarding engine: runs each received packet through
//! `ether_input`, `ip6_input` and `ip6_forward` and carries out what they
//! decide, originating ICMPv6 errors and redirects and holding packets for
//! unresolved neighbours. Generic over the packet type and over [`Io`], the
//! worker's hands, so that all of it runs in tests without DPDK.
//!
//! Every frame the router sends leaves through one function,
//! [`Core::ether_send`] (the tail of FreeBSD's `ether_output` under
//! `nd6_output`): the link-layer rewrite, the count and the transmit,
//! after [`Core::ether_output`]'s MAC transmit check or, on the fast path,
//! the check made once for the packet's interface pair. On the full path
//! MAC labelling is compiled in or out (`const MAC`), chosen once a packet:
//! with no policy loaded it has no label work.

use std::net::Ipv6Addr;
use std::sync::Arc;

use arrayvec::ArrayVec;
use std::time::Instant;

use crate::fastfwd;
use crate::fib::cache::RouteCache;
use crate::fib::{Route, RouteId};
use crate::forward::{self, Ctx, Forward, LogEvent};
use crate::icmp6::{self, IcmpError, Origin};
use crate::iface::{IfIndex, Ifnet};
use crate::input::{self, Input, L3, RxInfo};
use crate::mac::MbufLabel;
use crate::nd6::{self, Event, Held, HoldQueues, HoldResult};
use crate::packet::{Burst, PacketBuf};
use crate::ratelimit::{self, LogLimiter, PpsLimiter};
use crate::snapshot::Snapshot;
use crate::stats::{Counter, In6IfStat, Reason, WorkerStats};
use crate::wire::ethernet::{self, Address as EthernetAddress};
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

/// Packets whose destinations are looked up together, and the longest
/// burst read in place (a worker's receive burst is no longer).
pub const LOOKUP_BURST: usize = 32;

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
    links: fastfwd::Links,
    verdicts: Verdicts,
    tally: Tally,
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
                links: fastfwd::Links::default(),
                verdicts: Verdicts::default(),
                tally: Tally::default(),
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
    /// counters. Kept out of line (one call a burst) so that a profile can
    /// name the engine's own cost apart from the driver's and the poll
    /// loop's.
    ///
    /// A burst of up to [`LOOKUP_BURST`] packets (a worker's, from one
    /// queue) is read in place; a longer one is taken in runs of that
    /// many. Each run goes in stages ([`Core::run`]).
    #[inline(never)]
    pub fn process_burst(
        &mut self,
        burst: &mut impl Burst<P>,
        snap: &Snapshot,
        now: Instant,
        io: &mut impl Io<P>,
    ) {
        let st = &*self.stats;
        let core = &mut self.core;
        let _burst = st.burst();
        core.sync(snap);
        if !fastfwd::enabled(snap) {
            for pkt in burst.take_all() {
                core.full(st, pkt, None, snap, now, io);
            }
            core.publish(st);
            return;
        }
        let mut run = Run::default();
        core.links.sync(snap);
        core.verdicts.sync(snap);
        if burst.packets().len() <= LOOKUP_BURST {
            core.run(st, burst, &mut run, snap, now, io);
        } else {
            let mut pkts = burst.take_all();
            loop {
                let mut some: ArrayVec<P, LOOKUP_BURST> =
                    pkts.by_ref().take(LOOKUP_BURST).collect();
                if some.is_empty() {
                    break;
                }
                core.run(st, &mut some, &mut run, snap, now, io);
            }
        }
        core.tally.flush(st);
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
        if snap.mac.is_empty() {
            core.tick::<false>(st, snap, now, io);
        } else {
            core.tick::<true>(st, snap, now, io);
        }
        core.publish(st);
    }

    /// Gives up every held packet (at shutdown), counting each as its
    /// resolution failing.
    pub fn shutdown(&mut self, snap: &Snapshot) {
        let st = &*self.stats;
        let _burst = st.burst();
        self.core.hold.drain(|out, h| {
            count_lost(st, out, &h);
            free::<true, P>(snap, h.pkt);
        });
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

/// A packet's end inside the router: its label is destroyed (when packets
/// carry labels) and its buffer freed.
#[inline]
fn free<const MAC: bool, P: PacketBuf>(snap: &Snapshot, mut pkt: P) {
    if MAC
        && snap.mac.labels_mbufs()
        && let Some(l) = pkt.label_mut()
    {
        snap.mac.mbuf_destroy(l);
    }
}

/// `nd6_output`'s link-layer rewrite: the next hop's address as
/// destination, the outgoing interface's as source. Every packet that gets
/// here passed `ether_input`'s length check or was built by the router.
#[inline]
fn ether_rewrite<P: PacketBuf>(pkt: &mut P, src: EthernetAddress, dst: EthernetAddress) {
    if let Ok(mut eth) = ethernet::Frame::new_checked(pkt.head_mut()) {
        eth.set_dst_addr(dst);
        eth.set_src_addr(src);
    }
}

/// How `nd6_output` disposed of a packet it accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    /// Handed to the transmit queue.
    Now,
    /// Held until its next hop is resolved.
    Held,
}

/// Why `nd6_output` did not take a packet, and the packet back.
enum Unsent<P> {
    /// No hold queue entry can be made (`nd6_resolve_slow`'s ENOBUFS).
    NoEntry(P),
    /// The next hop is not on the link (ENOBUFS too, no error sent).
    OffLink(P),
    /// `ether_output` refused it (a MAC policy; its errno is counted).
    Denied(P),
}

/// What the fast path carries from one run of a burst to the next: the
/// arrival interface and the last on-link neighbour.
#[derive(Default)]
struct Run<'s> {
    arrival: fastfwd::Arrival<'s>,
    last: fastfwd::LastNeighbor,
}

/// The fast path's per-interface counts of a burst (`ifs6_in_receive`
/// and `ifs6_out_forward`), added to the shared counters once at its end
/// rather than read and written a packet at a time. The first [`TALLIED`]
/// interfaces are tallied (in arrays of a fixed size, whose bounds the
/// compiler knows: sized to the worker's interfaces, the count cost six
/// instructions a packet more); the rest are counted as they come.
struct Tally {
    received: [u32; TALLIED],
    forwarded: [u32; TALLIED],
}

const TALLIED: usize = 64;

impl Default for Tally {
    fn default() -> Self {
        Tally {
            received: [0; TALLIED],
            forwarded: [0; TALLIED],
        }
    }
}

impl Tally {
    #[inline]
    fn received(&mut self, st: &WorkerStats, rcvif: IfIndex) {
        tally(&mut self.received, st, rcvif, |i| &i.ifs6_in_receive);
    }

    #[inline]
    fn forwarded(&mut self, st: &WorkerStats, outif: IfIndex) {
        tally(&mut self.forwarded, st, outif, |i| &i.ifs6_out_forward);
    }

    /// Adds the counts to the shared counters and starts again: an entry
    /// per interface the worker has counters for. The snapshot's
    /// interfaces are never more; a tally for one past them would have no
    /// counter to go to and is left, wrapping rather than overflowing.
    fn flush(&mut self, st: &WorkerStats) {
        let ifs = st
            .ifs
            .iter()
            .zip(self.received.iter_mut().zip(&mut self.forwarded));
        for (ifs, (r, f)) in ifs {
            if *r > 0 {
                ifs.ifs6_in_receive.add(u64::from(std::mem::take(r)));
            }
            if *f > 0 {
                ifs.ifs6_out_forward.add(u64::from(std::mem::take(f)));
            }
        }
    }
}

/// Counts one for `ifindex` in `n`, or, past it, in the shared counter.
#[inline]
fn tally(
    n: &mut [u32; TALLIED],
    st: &WorkerStats,
    ifindex: IfIndex,
    counter: impl Fn(&In6IfStat) -> &Counter,
) {
    match n.get_mut(usize::from(ifindex)) {
        Some(n) => *n = n.wrapping_add(1),
        None => {
            if let Some(ifs) = st.ifs.get(usize::from(ifindex)) {
                counter(ifs).inc();
            }
        }
    }
}

/// The MAC verdicts by (arrival, departure) interface: the label a
/// forwarded packet gets and whether it may leave,
/// [`Policies::forward_verdict`](crate::mac::Policies::forward_verdict)
/// asked once per pair and kept while the snapshot (interface labels,
/// policies) and the policies' settings stay the same.
struct Verdicts {
    pairs: ArrayVec<(IfIndex, IfIndex, MbufLabel, bool), 8>,
    /// The pair asked last: a run's packets mostly share theirs.
    last: usize,
    /// What the pairs were asked under: a snapshot generation and a
    /// settings epoch ([`crate::mac::settings_epoch`]).
    asked: (u64, u64),
}

impl Default for Verdicts {
    fn default() -> Self {
        Verdicts {
            pairs: ArrayVec::new(),
            last: 0,
            asked: (u64::MAX, u64::MAX),
        }
    }
}

impl Verdicts {
    /// Forgets verdicts asked under another snapshot or other settings.
    #[inline]
    fn sync(&mut self, snap: &Snapshot) {
        if snap.mac.is_empty() {
            return;
        }
        let now = (snap.generation, crate::mac::settings_epoch());
        if self.asked != now {
            self.asked = now;
            self.pairs.clear();
        }
    }

    /// The label a packet from `rcvif` to `outif` carries, if it may go.
    /// The interfaces are looked up only for a pair not asked yet.
    #[inline]
    fn permitted(&mut self, snap: &Snapshot, rcvif: IfIndex, outif: IfIndex) -> Option<&MbufLabel> {
        let key = (rcvif, outif);
        let is = |e: &(IfIndex, IfIndex, MbufLabel, bool)| (e.0, e.1) == key;
        let i = if self.pairs.get(self.last).is_some_and(is) {
            self.last
        } else if let Some(i) = self.pairs.iter().position(is) {
            i
        } else {
            let (r, o) = (snap.ifnet(rcvif)?, snap.ifnet(outif)?);
            let (label, ok) = snap.mac.forward_verdict(r, o)?;
            if self.pairs.is_full() {
                // Beyond this many pairs, the last is asked again as it comes.
                self.pairs.pop();
            }
            self.pairs.push((rcvif, outif, label, ok));
            self.pairs.len() - 1
        };
        self.last = i;
        let (_, _, label, ok) = &self.pairs[i];
        ok.then_some(label)
    }
}

/// An empty label, for a packet checked while packets carry none.
static UNLABELLED: MbufLabel = MbufLabel {
    slots: [crate::mac::MbufSlot([0; 5]); crate::mac::MAX_SLOTS],
};

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

    /// Up to [`LOOKUP_BURST`] packets, in stages: every packet's fixed
    /// headers are read (`ip6_tryforward`'s
    /// [`classify`](fastfwd::classify)), the destinations of those it may
    /// take are looked up together, then, in arrival order, each is either
    /// finished by the fast path or handed whole to the full one.
    fn run<'s>(
        &mut self,
        st: &WorkerStats,
        burst: &mut impl Burst<P>,
        run: &mut Run<'s>,
        snap: &'s Snapshot,
        now: Instant,
        io: &mut impl Io<P>,
    ) {
        debug_assert!(burst.packets().len() <= LOOKUP_BURST);
        // Which packets the fast path may take (a bit each), and their
        // headers' facts, in order.
        let mut may: u64 = 0;
        let mut cands = [fastfwd::Candidate::default(); LOOKUP_BURST];
        let mut dsts = [0u128; LOOKUP_BURST];
        let mut n = 0;
        for (i, p) in burst.packets().iter().enumerate().take(LOOKUP_BURST) {
            if let Some((dst, c)) = fastfwd::classify(p, &mut run.arrival, snap) {
                may |= 1 << i;
                dsts[n] = dst;
                cands[n] = c;
                n += 1;
            }
        }
        // Looked up together (the route cache, then the FIB for what it
        // misses), so that the trie's reads overlap rather than each
        // packet waiting on its own.
        let mut found = [None; LOOKUP_BURST];
        self.cache.lookup_burst(
            &snap.fib,
            snap.generation,
            &dsts[..n],
            &mut found[..n],
            &st.rtcache,
        );
        snap.fib.touch_nexthops(&found[..n]);
        let mut taken = 0;
        let mut looked_up = dsts.iter().zip(&cands).zip(&found);
        for (i, pkt) in burst.take_all().enumerate() {
            let next = if may & (1 << i) == 0 {
                None
            } else {
                looked_up.next()
            };
            let Some(((&dst, c), &id)) = next else {
                self.full(st, pkt, None, snap, now, io);
                continue;
            };
            match self.tryforward(st, pkt, dst, c, id, run, snap, io) {
                None => taken += 1,
                Some(pkt) => self.full(st, pkt, Some((dst, id)), snap, now, io),
            }
        }
        // What the full path counts per packet (`ip6_input`'s and
        // `ip6_forward`'s router-wide counters), for the run.
        st.fates.received.add(taken);
        st.ip6.ip6s_total.add(taken);
        st.ip6.ip6s_forward.add(taken);
        st.fastfwd.fastfwd_forwarded.add(taken);
    }

    /// The full path for one packet, with MAC labelling compiled in or out.
    #[inline]
    fn full(
        &mut self,
        st: &WorkerStats,
        pkt: P,
        looked_up: Option<(u128, Option<RouteId>)>,
        snap: &Snapshot,
        now: Instant,
        io: &mut impl Io<P>,
    ) {
        if snap.mac.is_empty() {
            self.input::<false>(st, pkt, looked_up, snap, now, io);
        } else {
            self.input::<true>(st, pkt, looked_up, snap, now, io);
        }
    }

    /// `ip6_tryforward` for a [`classify`](fastfwd::classify)d packet
    /// whose route `id` was looked up: sent, or given back untouched (and
    /// uncounted) for the full path when anything about it needs more than
    /// the common case. Its label and MAC check are the ones made for its
    /// interface pair under this snapshot and these policy settings (a
    /// setting changed mid-burst applies from the next burst, as a new
    /// snapshot does).
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn tryforward(
        &mut self,
        st: &WorkerStats,
        mut pkt: P,
        dst: u128,
        c: &fastfwd::Candidate,
        id: Option<RouteId>,
        run: &mut Run,
        snap: &Snapshot,
        io: &mut impl Io<P>,
    ) -> Option<P> {
        let Some(id) = id else {
            return Some(pkt);
        };
        let link = self.links.link(snap.fib.hop(id), snap);
        let Some(lladdr) = fastfwd::output(link, dst, c, &mut run.last, snap) else {
            return Some(pkt);
        };
        if !snap.mac.is_empty() {
            let Some(label) = self.verdicts.permitted(snap, c.rcvif, link.outif) else {
                return Some(pkt);
            };
            if snap.mac.labels_mbufs() {
                // A packet without room for a label is checked unlabelled
                // on the full path; only one that can carry the pair's
                // label is judged by it.
                let Some(l) = pkt.label_mut() else {
                    return Some(pkt);
                };
                snap.mac.mbuf_copy_slots(label, l);
            }
        }
        // Taken: from here on the packet is counted as the full path
        // counts a forwarded one (the router-wide counters once a run, by
        // the caller).
        self.tally.received(st, c.rcvif);
        let frame_len = L3 + c.ip_len as usize;
        if pkt.pkt_len() > frame_len {
            pkt.truncate(frame_len);
        }
        if !snap.settings.stealth {
            let mut ip6 = ipv6::Packet::new_unchecked(&mut pkt.head_mut()[L3..]);
            let hlim = ip6.hop_limit();
            ip6.set_hop_limit(hlim - ipv6::HLIM_DEC);
        }
        self.tally.forwarded(st, link.outif);
        Self::ether_send::<false>(st, pkt, link.outif, link.src, lladdr, true, snap, io);
        None
    }

    fn input<const MAC: bool>(
        &mut self,
        st: &WorkerStats,
        mut pkt: P,
        mut looked_up: Option<(u128, Option<RouteId>)>,
        snap: &Snapshot,
        now: Instant,
        io: &mut impl Io<P>,
    ) {
        st.fates.received.inc();
        // Workers poll only ports the snapshot has; were one missing, its
        // frames would be for no interface of this router.
        let ifp = snap.ifnet(pkt.rx_port());
        if MAC
            && snap.mac.labels_mbufs()
            && let Some(l) = pkt.label_mut()
        {
            snap.mac.mbuf_init(l);
            if let Some(ifp) = ifp {
                snap.mac.mbuf_create_from_ifnet(ifp, l);
            }
        }
        let Some(ifp) = ifp else {
            st.fates.drop_ether_otherhost.inc();
            return free::<MAC, P>(snap, pkt);
        };
        let rx = match input::ether_input(&pkt, ifp) {
            Ok(rx) => rx,
            Err(r) => {
                st.fates.drop(r).inc();
                return free::<MAC, P>(snap, pkt);
            }
        };
        for _ in 0..LOOPBACK_PASSES {
            match input::ip6_input(&mut pkt, &rx, ifp, snap, st) {
                Input::Forward => {}
                Input::Local => return punt::<MAC, P>(st, pkt, snap, io),
                Input::Drop(r) => {
                    st.fates.drop(r).inc();
                    return free::<MAC, P>(snap, pkt);
                }
                Input::Error(r, err) => {
                    st.fates.drop(r).inc();
                    self.send_error::<MAC>(st, &pkt, &rx, err, snap, now, io);
                    return free::<MAC, P>(snap, pkt);
                }
            }
            // A pass back through the loopback looks its route up again.
            match self.forward::<MAC>(st, pkt, rx, looked_up.take(), snap, now, io) {
                // Loopback output (`looutput`): the packet comes back in on
                // the interface it was received on, the seed's `origifp`,
                // with its label.
                Some(back) => pkt = back,
                None => return,
            }
        }
        st.fates.drop(Reason::Hlim).inc();
        free::<MAC, P>(snap, pkt);
    }

    /// `ip6_forward` and what follows it; a packet routed to the loopback is
    /// handed back to be received again.
    #[allow(clippy::too_many_arguments)]
    fn forward<const MAC: bool>(
        &mut self,
        st: &WorkerStats,
        mut pkt: P,
        rx: RxInfo,
        looked_up: Option<(u128, Option<RouteId>)>,
        snap: &Snapshot,
        now: Instant,
        io: &mut impl Io<P>,
    ) -> Option<P> {
        let mut cx = Ctx {
            stats: st,
            cache: &mut self.cache,
            log: &mut self.log,
            logged: None,
            looked_up,
        };
        let decision = forward::ip6_forward(&mut pkt, &rx, snap, now, &mut cx);
        if let Some(ev) = cx.logged {
            io.log(ev);
        }
        match decision {
            Forward::Output {
                out,
                next_hop,
                redirect,
            } => {
                // The seed sends the packet, then (only if nd6_output took
                // it) the redirect about it, built from its copy: here
                // built once the packet is accepted, before it is handed on.
                let decided = redirect.is_some();
                let sent = self.nd6_output::<MAC, _, _>(
                    st,
                    pkt,
                    out,
                    next_hop,
                    true,
                    snap,
                    now,
                    io,
                    |core, pkt, io| {
                        redirect
                            .and_then(|rt| core.build_redirect::<MAC>(st, pkt, &rt, snap, now, io))
                    },
                );
                match sent {
                    Ok((how, built)) => {
                        forward::count_forwarded(st, out, decided);
                        if how == Sent::Held {
                            st.fates.held.inc();
                        }
                        if let Some((r, rt, dst)) = built {
                            self.originate::<MAC>(
                                st,
                                r,
                                &rt,
                                dst,
                                Message::Redirect,
                                0,
                                snap,
                                now,
                                io,
                            );
                        }
                    }
                    Err(Unsent::NoEntry(pkt) | Unsent::OffLink(pkt)) => {
                        forward::count_unsent(st, out);
                        st.fates.drop_unresolved.inc();
                        free::<MAC, P>(snap, pkt);
                    }
                    Err(Unsent::Denied(pkt)) => {
                        self.refused::<MAC>(st, out, pkt, &rx, snap, now, io);
                    }
                }
            }
            Forward::Loopback { out } => {
                // The seed's nd6_output hands a loopback route's packet to
                // lo0's if_output as `origifp` (the interface it came in
                // on), and looutput makes the MAC transmit check there.
                let rcvif = snap.ifnet(rx.rcvif);
                if rcvif.is_some_and(|ifp| !Self::mac_permits::<MAC>(st, snap, ifp, &pkt)) {
                    self.refused::<MAC>(st, out, pkt, &rx, snap, now, io);
                    return None;
                }
                forward::count_forwarded(st, out, false);
                return Some(pkt);
            }
            Forward::Drop(r) => {
                st.fates.drop(r).inc();
                free::<MAC, P>(snap, pkt);
            }
            Forward::Error(r, err) => {
                st.fates.drop(r).inc();
                self.send_error::<MAC>(st, &pkt, &rx, err, snap, now, io);
                free::<MAC, P>(snap, pkt);
            }
        }
        None
    }

    /// A forwarded packet a MAC policy refused on its way out through `out`:
    /// an error of nd6_output, which the seed's default case answers with
    /// destination unreachable, address unreachable.
    #[allow(clippy::too_many_arguments)]
    fn refused<const MAC: bool>(
        &mut self,
        st: &WorkerStats,
        out: IfIndex,
        pkt: P,
        rx: &RxInfo,
        snap: &Snapshot,
        now: Instant,
        io: &mut impl Io<P>,
    ) {
        forward::count_unsent(st, out);
        st.fates.drop_mac.inc();
        self.send_error::<MAC>(
            st,
            &pkt,
            rx,
            IcmpError::unreach(unreach::ADDR),
            snap,
            now,
            io,
        );
        free::<MAC, P>(snap, pkt);
    }

    /// The hold queues' events: packets released to their now-known next
    /// hop, given up, or due another solicitation.
    fn tick<const MAC: bool>(
        &mut self,
        st: &WorkerStats,
        snap: &Snapshot,
        now: Instant,
        io: &mut impl Io<P>,
    ) {
        let (timeout, retrans) = (snap.settings.nd6_timeout(), snap.settings.nd6_retrans);
        while let Some(ev) = self.hold.next_event(snap, now, timeout, retrans) {
            match ev {
                Event::Resolved(out, mac, h) => {
                    let Some(outif) = snap.ifnet(out) else {
                        self.lost::<MAC>(st, out, h, false, snap, now, io);
                        continue;
                    };
                    let received = h.received;
                    if received {
                        st.fates.held.sub(1);
                    }
                    let sent = self.ether_output::<MAC, _, _>(
                        st,
                        h.pkt,
                        outif,
                        mac,
                        received,
                        snap,
                        io,
                        |_, _, _| (),
                    );
                    if let Err(pkt) = sent {
                        // nd6_flush_holdchain ignores the error: counted.
                        st.ifs[usize::from(out)].ifs6_out_discard.inc();
                        if received {
                            st.fates.drop_mac.inc();
                        } else {
                            st.ip6.ip6s_odropped.inc();
                        }
                        free::<MAC, P>(snap, pkt);
                    }
                }
                Event::Failed(out, h, first) => self.lost::<MAC>(st, out, h, first, snap, now, io),
                Event::Ask(ifindex, addr) => io.resolve(ifindex, addr),
            }
        }
    }

    /// `nd6_output`: a known neighbour gets the packet through
    /// [`Core::ether_output`]; an unknown one on the link has it held while
    /// it is resolved; one off the link is ENOBUFS. `before` runs once the
    /// packet is accepted (sent or held), with the packet still in hand.
    #[allow(clippy::too_many_arguments)]
    fn nd6_output<const MAC: bool, IO: Io<P>, R>(
        &mut self,
        st: &WorkerStats,
        pkt: P,
        out: IfIndex,
        next_hop: Ipv6Addr,
        received: bool,
        snap: &Snapshot,
        now: Instant,
        io: &mut IO,
        before: impl FnOnce(&mut Self, &P, &mut IO) -> R,
    ) -> Result<(Sent, R), Unsent<P>> {
        let Some(outif) = snap.ifnet(out) else {
            return Err(Unsent::OffLink(pkt));
        };
        match snap.neighbors.lookup(out, &next_hop) {
            Some(mac) => self
                .ether_output::<MAC, IO, R>(st, pkt, outif, mac, received, snap, io, before)
                .map(|r| (Sent::Now, r))
                .map_err(Unsent::Denied),
            None if nd6::is_neighbor(snap, out, &next_hop) => {
                if !self.hold.can_hold(out, &next_hop) {
                    return Err(Unsent::NoEntry(pkt));
                }
                let r = before(self, &pkt, io);
                self.hold_packet::<MAC>(st, out, next_hop, Held { pkt, received }, snap, now, io);
                Ok((Sent::Held, r))
            }
            None => Err(Unsent::OffLink(pkt)),
        }
    }

    /// `ether_output`: the MAC transmit check (a refusal, counted by
    /// policy and errno, is returned with the packet, as `ether_output`
    /// returns its error to `nd6_output`), then `before`, then
    /// [`ether_send`](Self::ether_send).
    #[allow(clippy::too_many_arguments)]
    fn ether_output<const MAC: bool, IO: Io<P>, R>(
        &mut self,
        st: &WorkerStats,
        pkt: P,
        outif: &Ifnet,
        dst: EthernetAddress,
        received: bool,
        snap: &Snapshot,
        io: &mut IO,
        before: impl FnOnce(&mut Self, &P, &mut IO) -> R,
    ) -> Result<R, P> {
        if !Self::mac_permits::<MAC>(st, snap, outif, &pkt) {
            return Err(pkt);
        }
        let r = before(self, &pkt, io);
        Self::ether_send::<MAC>(st, pkt, outif.index, outif.lladdr, dst, received, snap, io);
        Ok(r)
    }

    /// The one way out of the router, for a frame the MAC check let go
    /// (in [`ether_output`](Self::ether_output), or for its interface pair
    /// on the fast path): the link-layer rewrite, the end of the label
    /// (nothing after the NIC reads it), the count of a received packet
    /// as forwarded, and the transmit. Out of `out`, whose address is
    /// `src`, to `dst`.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn ether_send<const MAC: bool>(
        st: &WorkerStats,
        mut pkt: P,
        out: IfIndex,
        src: EthernetAddress,
        dst: EthernetAddress,
        received: bool,
        snap: &Snapshot,
        io: &mut impl Io<P>,
    ) {
        ether_rewrite(&mut pkt, src, dst);
        if MAC
            && snap.mac.labels_mbufs()
            && let Some(l) = pkt.label_mut()
        {
            snap.mac.mbuf_destroy(l);
        }
        if received {
            st.fates.forwarded.inc();
        }
        io.transmit(out, pkt);
    }

    /// `mac_ifnet_check_transmit`: whether the policies let `pkt` leave
    /// through `ifp`; each refusal is counted by policy and errno.
    #[inline]
    fn mac_permits<const MAC: bool>(
        st: &WorkerStats,
        snap: &Snapshot,
        ifp: &Ifnet,
        pkt: &P,
    ) -> bool {
        if !MAC {
            return true;
        }
        let m = if snap.mac.labels_mbufs() {
            pkt.label().unwrap_or(&UNLABELLED)
        } else {
            &UNLABELLED
        };
        snap.mac
            .ifnet_check_transmit(ifp, m, |id, e| st.mac_denied.count(id, e))
            .is_ok()
    }

    /// Holds a packet for its next hop. A packet evicted to make room is
    /// lost as if its resolution had failed, and answered; `icmp6_error`'s
    /// rules keep errors about errors and redirects from chaining, and the
    /// rate limit bounds the rest.
    #[allow(clippy::too_many_arguments)]
    fn hold_packet<const MAC: bool>(
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
            HoldResult::Evicted(old) => self.lost::<MAC>(st, out, old, true, snap, now, io),
            HoldResult::NoEntry(h) => {
                debug_assert!(false, "nd6_output checks can_hold first");
                st.ip6.ip6s_odropped.inc();
                free::<MAC, P>(snap, h.pkt);
            }
        }
    }

    /// A held packet given up, and, if `answer`, reported to its source as
    /// Destination Unreachable, address unreachable (the seed's `senderr`
    /// for a failed next hop).
    #[allow(clippy::too_many_arguments)]
    fn lost<const MAC: bool>(
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
            self.send_error::<MAC>(
                st,
                &h.pkt,
                &rx,
                IcmpError::unreach(unreach::ADDR),
                snap,
                now,
                io,
            );
        }
        free::<MAC, P>(snap, h.pkt);
    }

    /// A packet the router makes in answer to `offending` is labelled from
    /// it (`mac_netinet6_*`, FreeBSD's `mbuf_create_netlayer`).
    #[inline]
    fn label_answer<const MAC: bool>(snap: &Snapshot, offending: &P, new: &mut P) {
        if MAC
            && snap.mac.labels_mbufs()
            && let Some(l) = new.label_mut()
        {
            snap.mac.mbuf_init(l);
            snap.mac
                .mbuf_create_netlayer(offending.label().unwrap_or(&UNLABELLED), l);
        }
    }

    /// `icmp6_error`: the rules, then `icmp6_reflect`, then `ip6_output`.
    #[allow(clippy::too_many_arguments)]
    fn send_error<const MAC: bool>(
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
        Self::label_answer::<MAC>(snap, offending, &mut pkt);
        self.originate::<MAC>(st, pkt, &rt, origin.dst, err.msg, err.code, snap, now, io);
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
    fn build_redirect<const MAC: bool>(
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
        Self::label_answer::<MAC>(snap, offending, &mut pkt);
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
    fn originate<const MAC: bool>(
        &mut self,
        st: &WorkerStats,
        pkt: P,
        rt: &Route,
        dst: Ipv6Addr,
        msg: Message,
        code: u8,
        snap: &Snapshot,
        now: Instant,
        io: &mut impl Io<P>,
    ) {
        let out = rt.ifindex;
        let (Some(_), Some(ifs)) = (snap.ifnet(out), st.ifs.get(usize::from(out))) else {
            st.ip6.ip6s_odropped.inc();
            return free::<MAC, P>(snap, pkt);
        };
        st.ip6.ip6s_localout.inc();
        ifs.ifs6_out_request.inc();
        icmp6::ifoutstat(ifs, msg, code);
        let next_hop = rt.next_hop(dst);
        let sent = self.nd6_output::<MAC, _, _>(
            st,
            pkt,
            out,
            next_hop,
            false,
            snap,
            now,
            io,
            |_, _, _| (),
        );
        match sent {
            Ok(_) => {}
            Err(Unsent::NoEntry(pkt)) => {
                st.ip6.ip6s_odropped.inc();
                free::<MAC, P>(snap, pkt);
            }
            Err(Unsent::OffLink(pkt) | Unsent::Denied(pkt)) => {
                ifs.ifs6_out_discard.inc();
                st.ip6.ip6s_odropped.inc();
                free::<MAC, P>(snap, pkt);
            }
        }
    }
}

/// Hands a packet to the control plane (its label with it), or counts
/// the overflow.
fn punt<const MAC: bool, P: PacketBuf>(
    st: &WorkerStats,
    pkt: P,
    snap: &Snapshot,
    io: &mut impl Io<P>,
) {
    match io.punt(pkt) {
        Ok(()) => st.fates.punted.inc(),
        Err(pkt) => {
            st.fates.drop_punt_overflow.inc();
            free::<MAC, P>(snap, pkt);
        }
    }
}
