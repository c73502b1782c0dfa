//! Counters, FreeBSD's where the concept is FreeBSD's.
//!
//! Each worker owns one [`WorkerStats`] and is its only writer, so an
//! increment is a plain load and store (no locked instruction). The control
//! thread reads them while workers run: a per-worker sequence number, odd
//! while a burst is being accounted, lets it take a copy that is consistent
//! to the burst, so `received == forwarded + dropped + punted + held` holds
//! in every copy it takes.

use core::sync::atomic::{AtomicU64, Ordering, fence};

/// A counter with a single writer.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    #[inline]
    pub fn add(&self, n: u64) {
        self.0.store(
            self.0.load(Ordering::Relaxed).wrapping_add(n),
            Ordering::Relaxed,
        );
    }

    /// Lowers a gauge (a count of things currently held).
    #[inline]
    pub fn sub(&self, n: u64) {
        self.0.store(
            self.0.load(Ordering::Relaxed).wrapping_sub(n),
            Ordering::Relaxed,
        );
    }

    /// Sets a gauge.
    #[inline]
    pub fn set(&self, v: u64) {
        self.0.store(v, Ordering::Relaxed);
    }

    #[inline]
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Declares a set of named counters: the live struct of [`Counter`]s, a
/// plain-value twin for reading and summing, and the names with their docs.
macro_rules! counters {
    (
        $(#[$meta:meta])*
        pub struct $name:ident => $values:ident {
            $( #[doc = $doc:literal] $field:ident, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Default)]
        pub struct $name {
            $( #[doc = $doc] pub $field: Counter, )*
        }

        #[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
        pub struct $values {
            $( #[doc = $doc] pub $field: u64, )*
        }

        impl $name {
            pub fn load(&self) -> $values {
                $values { $( $field: self.$field.get(), )* }
            }
        }

        impl $values {
            /// Every counter's name and meaning, in declaration order.
            pub const FIELDS: &'static [(&'static str, &'static str)] =
                &[ $( (stringify!($field), $doc.trim_ascii()) ),* ];

            pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> {
                [ $( (stringify!($field), self.$field) ),* ].into_iter()
            }

            pub fn add(&mut self, other: &Self) {
                $( self.$field += other.$field; )*
            }
        }
    };
}

counters! {
    /// FreeBSD's `struct ip6stat`: the fields labelgate's paths touch.
    pub struct Ip6Stat => Ip6StatValues {
        /// IPv6 packets received (past the Ethernet checks)
        ip6s_total,
        /// packet shorter than its payload length says (truncated)
        ip6s_tooshort,
        /// packet shorter than the IPv6 header
        ip6s_toosmall,
        /// packets forwarded
        ip6s_forward,
        /// packets not forwarded: multicast, unspecified source, blackhole or reject route, scope, next hop unresolved
        ip6s_cantforward,
        /// packets forwarded with a redirect decided (FreeBSD counts it before the redirect's own checks)
        ip6s_redirectsent,
        /// packets for this router, handed to the control plane
        ip6s_delivered,
        /// packets the router originated (ICMPv6 errors and redirects)
        ip6s_localout,
        /// packets the router originated but could not send (no buffer, no route back, next hop off the link)
        ip6s_odropped,
        /// errors in hop-by-hop options
        ip6s_badoptions,
        /// packets with no route to their destination, and errors with no route back (as FreeBSD counts both)
        ip6s_noroute,
        /// packets whose version is not 6
        ip6s_badvers,
        /// packets that would break an address scope, or carry an address invalid on the wire
        ip6s_badscope,
        /// extension headers beyond the first segment or the packet
        ip6s_exthdrtoolong,
    }
}

counters! {
    /// FreeBSD's `struct icmp6stat`, without the histograms (kept apart).
    pub struct Icmp6Stat => Icmp6StatValues {
        /// errors decided (calls to icmp6_error), sent or not
        icp6s_error,
        /// errors not sent because the offending packet is itself an ICMPv6 error or a redirect
        icp6s_canterror,
        /// errors not sent because of the rate limit (icmp6errppslim)
        icp6s_toofreq,
        /// errors not sent because the offending packet's source is multicast or unspecified, or it went to a multicast address (labelgate's count of a FreeBSD silent drop)
        icp6s_badaddr,
        /// packets dropped while waiting for their next hop to be resolved
        icp6s_dropped,
        /// destination unreachable, no route, decided
        icp6s_odst_unreach_noroute,
        /// destination unreachable, administratively prohibited, decided
        icp6s_odst_unreach_admin,
        /// destination unreachable, beyond scope of source address, decided
        icp6s_odst_unreach_beyondscope,
        /// destination unreachable, address unreachable, decided
        icp6s_odst_unreach_addr,
        /// destination unreachable, port unreachable, decided
        icp6s_odst_unreach_noport,
        /// packet too big, decided
        icp6s_opacket_too_big,
        /// time exceeded in transit, decided
        icp6s_otime_exceed_transit,
        /// time exceeded in reassembly, decided
        icp6s_otime_exceed_reassembly,
        /// parameter problem, erroneous header field, decided
        icp6s_oparamprob_header,
        /// parameter problem, unrecognised next header, decided
        icp6s_oparamprob_nextheader,
        /// parameter problem, unrecognised option, decided
        icp6s_oparamprob_option,
        /// redirects decided
        icp6s_oredirect,
        /// other errors decided (reject-route unreachable, code 6)
        icp6s_ounknown,
    }
}

counters! {
    /// FreeBSD's `struct in6_ifstat`, one per interface.
    pub struct In6IfStat => In6IfStatValues {
        /// packets received on the interface
        ifs6_in_receive,
        /// header errors (too small, bad version)
        ifs6_in_hdrerr,
        /// packets too big for this (outgoing) interface's MTU
        ifs6_in_toobig,
        /// packets received here with no route for their destination
        ifs6_in_noroute,
        /// invalid source or destination address
        ifs6_in_addrerr,
        /// packet shorter than its payload length says
        ifs6_in_truncated,
        /// packets discarded on input (every ip6_input failure), or a source leaving its scope through this interface
        ifs6_in_discard,
        /// packets delivered to the control plane
        ifs6_in_deliver,
        /// multicast packets received
        ifs6_in_mcast,
        /// packets forwarded out of this interface, those held for their next hop included
        ifs6_out_forward,
        /// packets the router originated out of this interface
        ifs6_out_request,
        /// packets that could not be sent out of this interface (next hop unresolved or off the link)
        ifs6_out_discard,
        /// ICMPv6 messages sent (icmp6_ifstat)
        ifs6_out_msg,
        /// ICMPv6 errors sent
        ifs6_out_error,
        /// ICMPv6 destination unreachable sent
        ifs6_out_dstunreach,
        /// ICMPv6 administratively prohibited sent
        ifs6_out_adminprohib,
        /// ICMPv6 time exceeded sent
        ifs6_out_timeexceed,
        /// ICMPv6 parameter problem sent
        ifs6_out_paramprob,
        /// ICMPv6 packet too big sent
        ifs6_out_pkttoobig,
        /// ND redirects sent
        ifs6_out_redirect,
    }
}

counters! {
    /// What happened to every received frame; each lands in exactly one.
    pub struct Fates => FateValues {
        /// frames received from the NIC
        received,
        /// packets handed to a transmit queue
        forwarded,
        /// packets handed to the control plane
        punted,
        /// packets waiting in a neighbour hold queue (a gauge)
        held,
        /// frames shorter than an Ethernet header
        drop_ether_runt,
        /// unicast frames for another station's MAC address
        drop_ether_otherhost,
        /// frames that are not IPv6 (FreeBSD's if_noproto)
        drop_ether_noproto,
        /// IPv6 packet shorter than its header
        drop_toosmall,
        /// IP version is not 6
        drop_badvers,
        /// packet shorter than its payload length says
        drop_tooshort,
        /// source or destination address invalid on the wire, or forwarding would break a scope zone
        drop_badscope,
        /// malformed or unrecognised hop-by-hop options
        drop_badoptions,
        /// hop-by-hop options beyond the first segment of the packet
        drop_exthdrtoolong,
        /// not forwardable: multicast destination, unspecified source or link-layer multicast
        drop_cantforward,
        /// hop limit exhausted (ICMPv6 time exceeded sent)
        drop_hlim,
        /// no route to the destination
        drop_noroute,
        /// route is a blackhole
        drop_blackhole,
        /// route is a reject route
        drop_reject,
        /// larger than the outgoing link MTU (ICMPv6 packet too big sent)
        drop_toobig,
        /// would go back out a point-to-point link it came in on
        drop_p2p_loop,
        /// dropped or rejected by an output filter rule
        drop_filtered,
        /// next hop has no link-layer address and the hold queue overflowed or resolution failed
        drop_unresolved,
        /// the control plane's punt queue was full
        drop_punt_overflow,
        /// refused by a MAC policy on the way out (ifnet_check_transmit)
        drop_mac,
    }
}

counters! {
    /// Per-port transmit accounting below the IPv6 layer.
    pub struct PortStat => PortStatValues {
        /// frames handed to the port's transmit queue
        tx_enqueued,
        /// frames the transmit queue refused (FreeBSD's ifi_oqdrops)
        tx_oqdrops,
        /// frames whose length the driver misreported, taken from their segments instead
        rx_badlen,
    }
}

/// Why a packet was dropped: one variant per `drop_*` fate counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    EtherRunt,
    EtherOtherhost,
    EtherNoproto,
    TooSmall,
    BadVers,
    TooShort,
    BadScope,
    BadOptions,
    ExthdrTooLong,
    CantForward,
    Hlim,
    NoRoute,
    Blackhole,
    Reject,
    TooBig,
    P2pLoop,
    Filtered,
    Unresolved,
    PuntOverflow,
    Mac,
}

impl Fates {
    /// The counter of a drop reason.
    #[inline]
    pub fn drop(&self, r: Reason) -> &Counter {
        match r {
            Reason::EtherRunt => &self.drop_ether_runt,
            Reason::EtherOtherhost => &self.drop_ether_otherhost,
            Reason::EtherNoproto => &self.drop_ether_noproto,
            Reason::TooSmall => &self.drop_toosmall,
            Reason::BadVers => &self.drop_badvers,
            Reason::TooShort => &self.drop_tooshort,
            Reason::BadScope => &self.drop_badscope,
            Reason::BadOptions => &self.drop_badoptions,
            Reason::ExthdrTooLong => &self.drop_exthdrtoolong,
            Reason::CantForward => &self.drop_cantforward,
            Reason::Hlim => &self.drop_hlim,
            Reason::NoRoute => &self.drop_noroute,
            Reason::Blackhole => &self.drop_blackhole,
            Reason::Reject => &self.drop_reject,
            Reason::TooBig => &self.drop_toobig,
            Reason::P2pLoop => &self.drop_p2p_loop,
            Reason::Filtered => &self.drop_filtered,
            Reason::Unresolved => &self.drop_unresolved,
            Reason::PuntOverflow => &self.drop_punt_overflow,
            Reason::Mac => &self.drop_mac,
        }
    }
}

counters! {
    /// The per-core route cache.
    pub struct RouteCacheStat => RouteCacheValues {
        /// destinations found in the route cache (looked up a burst at a time for the packets the fast path may take, one at a time for the rest)
        rtcache_hits,
        /// destinations looked up in the FIB (cache misses, and every lookup while the cache rests for a low hit rate)
        rtcache_misses,
    }
}

counters! {
    /// `ip6_tryforward`, the fast path.
    pub struct FastFwdStat => FastFwdValues {
        /// received packets the fast path forwarded itself; the rest went the full way (`net.inet6.ip6.fastforwarding`)
        fastfwd_forwarded,
    }
}

counters! {
    /// What a worker hands up to the control plane besides packets.
    pub struct Upcalls => UpcallValues {
        /// neighbour resolution requests lost to a full queue
        nd6_resolve_overflow,
        /// "cannot forward" log lines lost to a full queue
        log_overflow,
        /// packets in the hold queues now, received or originated (a gauge)
        hold_queue,
    }
}

/// ICMPv6 output histogram, by type (FreeBSD's `icp6s_outhist`).
#[derive(Debug)]
pub struct Icmp6OutHist(pub [Counter; 256]);

impl Default for Icmp6OutHist {
    fn default() -> Self {
        Icmp6OutHist(core::array::from_fn(|_| Counter::default()))
    }
}

/// All counters of one worker.
#[derive(Debug)]
#[repr(align(64))]
pub struct WorkerStats {
    seq: AtomicU64,
    pub ip6: Ip6Stat,
    pub icmp6: Icmp6Stat,
    pub icmp6_outhist: Icmp6OutHist,
    pub fates: Fates,
    /// Indexed by interface index.
    pub ifs: Box<[In6IfStat]>,
    /// Indexed by interface index; the loopback's stays zero.
    pub ports: Box<[PortStat]>,
    /// Packets each output filter rule matched, by rule position.
    pub filter_hits: Box<[Counter]>,
    pub upcalls: Upcalls,
    pub rtcache: RouteCacheStat,
    pub fastfwd: FastFwdStat,
    /// `ifnet_check_transmit` refusals by policy id and errno.
    pub mac_denied: MacDenials,
}

/// How many errnos a MAC check can answer.
const MAC_ERRNOS: usize = crate::mac::Errno::ALL.len();

/// Refusals counted per loaded policy (by its id) and errno.
#[derive(Debug)]
pub struct MacDenials(pub [[Counter; MAC_ERRNOS]; crate::mac::MAX_POLICIES]);

impl Default for MacDenials {
    fn default() -> Self {
        MacDenials(core::array::from_fn(|_| {
            core::array::from_fn(|_| Counter::default())
        }))
    }
}

impl MacDenials {
    #[inline]
    pub fn count(&self, policy: usize, e: crate::mac::Errno) {
        self.0[policy][e.index()].inc();
    }

    fn load(&self) -> Vec<[u64; MAC_ERRNOS]> {
        self.0
            .iter()
            .map(|row| core::array::from_fn(|e| row[e].get()))
            .collect()
    }
}

/// An open burst of [`WorkerStats`]; closes it when dropped.
pub struct Burst<'a>(&'a WorkerStats);

impl Drop for Burst<'_> {
    #[inline]
    fn drop(&mut self) {
        self.0.end();
    }
}

/// A consistent copy of a worker's counters (or the sum of several).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StatsValues {
    pub ip6: Ip6StatValues,
    pub icmp6: Icmp6StatValues,
    pub icmp6_outhist: Vec<u64>,
    pub fates: FateValues,
    pub ifs: Vec<In6IfStatValues>,
    pub ports: Vec<PortStatValues>,
    pub filter_hits: Vec<u64>,
    pub upcalls: UpcallValues,
    pub rtcache: RouteCacheValues,
    pub fastfwd: FastFwdValues,
    /// `ifnet_check_transmit` refusals: by policy id, by errno (in
    /// [`crate::mac::Errno::ALL`] order).
    pub mac_denied: Vec<[u64; MAC_ERRNOS]>,
}

impl WorkerStats {
    pub fn new(interfaces: usize) -> WorkerStats {
        WorkerStats {
            seq: AtomicU64::new(0),
            ip6: Ip6Stat::default(),
            icmp6: Icmp6Stat::default(),
            icmp6_outhist: Icmp6OutHist::default(),
            fates: Fates::default(),
            ifs: (0..interfaces).map(|_| In6IfStat::default()).collect(),
            ports: (0..interfaces).map(|_| PortStat::default()).collect(),
            filter_hits: (0..crate::pfil::MAX_RULES)
                .map(|_| Counter::default())
                .collect(),
            upcalls: Upcalls::default(),
            rtcache: RouteCacheStat::default(),
            fastfwd: FastFwdStat::default(),
            mac_denied: MacDenials::default(),
        }
    }

    /// Opens a burst's accounting until the guard is dropped. Readers wait
    /// for its end, so they never see a packet received but not yet
    /// accounted; a worker that panics mid-burst still closes it as it
    /// unwinds, so readers are never left waiting.
    #[inline]
    pub fn burst(&self) -> Burst<'_> {
        self.begin();
        Burst(self)
    }

    #[inline]
    fn begin(&self) {
        let s = self.seq.load(Ordering::Relaxed);
        self.seq.store(s.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
    }

    #[inline]
    fn end(&self) {
        let s = self.seq.load(Ordering::Relaxed);
        self.seq.store(s.wrapping_add(1), Ordering::Release);
    }

    /// A copy consistent to a burst boundary.
    pub fn read(&self) -> StatsValues {
        loop {
            let before = self.seq.load(Ordering::Acquire);
            if before & 1 == 1 {
                std::thread::yield_now();
                continue;
            }
            let values = self.read_racy();
            fence(Ordering::Acquire);
            if self.seq.load(Ordering::Relaxed) == before {
                return values;
            }
        }
    }

    fn read_racy(&self) -> StatsValues {
        StatsValues {
            ip6: self.ip6.load(),
            icmp6: self.icmp6.load(),
            icmp6_outhist: self.icmp6_outhist.0.iter().map(Counter::get).collect(),
            fates: self.fates.load(),
            ifs: self.ifs.iter().map(In6IfStat::load).collect(),
            ports: self.ports.iter().map(PortStat::load).collect(),
            filter_hits: self.filter_hits.iter().map(Counter::get).collect(),
            upcalls: self.upcalls.load(),
            rtcache: self.rtcache.load(),
            fastfwd: self.fastfwd.load(),
            mac_denied: self.mac_denied.load(),
        }
    }
}

impl StatsValues {
    /// Adds another worker's counters into these.
    pub fn add(&mut self, other: &StatsValues) {
        self.ip6.add(&other.ip6);
        self.icmp6.add(&other.icmp6);
        if self.icmp6_outhist.len() < other.icmp6_outhist.len() {
            self.icmp6_outhist.resize(other.icmp6_outhist.len(), 0);
        }
        for (a, b) in self.icmp6_outhist.iter_mut().zip(&other.icmp6_outhist) {
            *a += b;
        }
        self.fates.add(&other.fates);
        if self.ifs.len() < other.ifs.len() {
            self.ifs.resize(other.ifs.len(), In6IfStatValues::default());
            self.ports
                .resize(other.ports.len(), PortStatValues::default());
        }
        for (a, b) in self.ifs.iter_mut().zip(&other.ifs) {
            a.add(b);
        }
        for (a, b) in self.ports.iter_mut().zip(&other.ports) {
            a.add(b);
        }
        if self.filter_hits.len() < other.filter_hits.len() {
            self.filter_hits.resize(other.filter_hits.len(), 0);
        }
        for (a, b) in self.filter_hits.iter_mut().zip(&other.filter_hits) {
            *a += b;
        }
        self.upcalls.add(&other.upcalls);
        self.rtcache.add(&other.rtcache);
        self.fastfwd.add(&other.fastfwd);
        if self.mac_denied.len() < other.mac_denied.len() {
            self.mac_denied
                .resize(other.mac_denied.len(), [0; MAC_ERRNOS]);
        }
        for (a, b) in self.mac_denied.iter_mut().zip(&other.mac_denied) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
    }

    /// Packets dropped, whatever the reason.
    pub fn dropped(&self) -> u64 {
        self.fates
            .iter()
            .filter(|(name, _)| name.starts_with("drop_"))
            .map(|(_, v)| v)
            .sum()
    }

    /// The conservation law: every received frame was forwarded, dropped
    /// with a reason, punted, or is still held awaiting its neighbour.
    pub fn conserved(&self) -> bool {
        let f = &self.fates;
        f.received == f.forwarded + f.punted + f.held + self.dropped()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn names_and_docs() {
        assert_eq!(
            Ip6StatValues::FIELDS[0],
            (
                "ip6s_total",
                "IPv6 packets received (past the Ethernet checks)"
            )
        );
        assert!(
            FateValues::FIELDS
                .iter()
                .all(|(n, d)| !n.is_empty() && !d.is_empty())
        );
    }

    #[test]
    fn sums_and_conservation() {
        let s = WorkerStats::new(2);
        let burst = s.burst();
        s.fates.received.add(3);
        s.fates.forwarded.inc();
        s.fates.drop_noroute.inc();
        s.fates.held.inc();
        s.ifs[1].ifs6_out_forward.inc();
        drop(burst);
        let mut total = s.read();
        assert!(total.conserved());
        total.add(&s.read());
        assert_eq!(total.fates.received, 6);
        assert_eq!(total.ifs[1].ifs6_out_forward, 2);
        assert_eq!(total.dropped(), 2);
        assert!(total.conserved());
    }

    #[test]
    fn a_burst_abandoned_by_a_panic_is_closed() {
        let s = Arc::new(WorkerStats::new(1));
        let t = {
            let s = s.clone();
            std::thread::spawn(move || {
                let _burst = s.burst();
                s.fates.received.inc();
                panic!("worker dies mid-burst");
            })
        };
        assert!(t.join().is_err());
        assert_eq!(s.read().fates.received, 1);
    }

    #[test]
    fn reader_never_sees_a_half_accounted_burst() {
        let s = Arc::new(WorkerStats::new(1));
        let writer = {
            let s = s.clone();
            std::thread::spawn(move || {
                for i in 0..200_000u64 {
                    let _burst = s.burst();
                    s.fates.received.add(2);
                    s.fates.forwarded.inc();
                    if i % 2 == 0 {
                        s.fates.drop_noroute.inc();
                    } else {
                        s.fates.punted.inc();
                    }
                }
            })
        };
        let mut reads = 0;
        while !writer.is_finished() || reads == 0 {
            assert!(s.read().conserved());
            reads += 1;
        }
        writer.join().unwrap();
        assert_eq!(s.read().fates.received, 400_000);
    }
}
