//! The world a burst is forwarded in: one immutable snapshot of interfaces,
//! routes, neighbours, filters and settings, built by the control plane and
//! published to the workers with a single pointer swap.

use std::net::Ipv6Addr;
use std::time::Duration;

use hashbrown::HashSet;

use crate::fib::Fib;
use crate::iface::{IfIndex, Ifnet};
use crate::neigh::Neighbors;
use crate::pfil::Pfil;
use crate::wire::ipv6::{self, scope};

/// FreeBSD's sysctls that shape forwarding, with FreeBSD's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `net.inet6.ip6.stealth`: forward without checking or decrementing
    /// the hop limit (IPSTEALTH).
    pub stealth: bool,
    /// `net.inet6.ip6.fastforwarding` (labelgate's, after FreeBSD's old
    /// IPv4 `net.inet.ip.fastforwarding`): take the common forwarded
    /// packet through `ip6_tryforward`. Off, every packet goes the full
    /// way; what the router sends and counts is the same either way (but
    /// for the fast path's own counter), only slower.
    pub fastforwarding: bool,
    /// `net.inet6.ip6.redirect`: send ND redirects.
    pub sendredirects: bool,
    /// `net.inet6.icmp6.errppslimit`: ICMPv6 errors and redirects per
    /// second, router-wide; 0 sends none, negative is unlimited.
    pub icmp6errppslim: i32,
    /// `net.inet6.ip6.log_interval`: seconds between "cannot forward" logs.
    pub log_interval: Duration,
    /// `net.inet6.ip6.hlim`: hop limit of packets the router originates.
    pub defhlim: u8,
    /// `net.inet6.icmp6.nd6_maxqlen`: packets held per unresolved neighbour.
    pub nd6_maxqlen: usize,
    /// `net.inet6.icmp6.nd6_mmaxtries`: solicitations before giving up.
    pub nd6_mmaxtries: u32,
    /// ND's RetransTimer: the interval between solicitations.
    pub nd6_retrans: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            stealth: false,
            fastforwarding: true,
            sendredirects: true,
            icmp6errppslim: 100,
            log_interval: Duration::from_secs(5),
            defhlim: ipv6::DEFAULT_HOP_LIMIT,
            nd6_maxqlen: 16,
            nd6_mmaxtries: 3,
            nd6_retrans: Duration::from_millis(1000),
        }
    }
}

impl Settings {
    /// How long a neighbour may stay unresolved before its held packets
    /// are given up: `nd6_mmaxtries` solicitations, `nd6_retrans` apart.
    pub fn nd6_timeout(&self) -> Duration {
        self.nd6_retrans.saturating_mul(self.nd6_mmaxtries)
    }
}

/// Everything a worker consults to forward a burst.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Bumped on every publication; per-core caches are tagged with it.
    pub generation: u64,
    /// Indexed by [`IfIndex`].
    pub ifnets: Vec<Ifnet>,
    pub fib: Fib,
    pub neighbors: Neighbors,
    /// Every unicast address of the router, on any interface; link-local
    /// ones are looked up with their zone by [`Snapshot::is_ours`].
    pub local: LocalAddrs,
    pub pfil: Pfil,
    pub settings: Settings,
    /// The loaded MAC policies.
    pub mac: crate::mac::Policies,
}

/// The router's unicast addresses, with a bitmap over a hash of them in
/// front: nearly every forwarded packet's destination is none of them, and
/// the bitmap says so in a few instructions where the set would hash 16
/// bytes.
#[derive(Debug, Clone, Default)]
pub struct LocalAddrs {
    set: HashSet<Ipv6Addr>,
    filter: [u64; FILTER_WORDS],
}

const FILTER_WORDS: usize = 16;

impl LocalAddrs {
    /// The filter's word and bit for an address.
    #[inline]
    fn bit(a: &Ipv6Addr) -> (usize, u64) {
        let i = ipv6::hash_bits(a.to_bits(), (FILTER_WORDS * 64).trailing_zeros());
        (i / 64, 1 << (i % 64))
    }

    #[inline]
    pub fn contains(&self, a: &Ipv6Addr) -> bool {
        let (w, m) = Self::bit(a);
        self.filter[w] & m != 0 && self.set.contains(a)
    }

    pub fn insert(&mut self, a: Ipv6Addr) {
        let (w, m) = Self::bit(&a);
        self.filter[w] |= m;
        self.set.insert(a);
    }
}

impl FromIterator<Ipv6Addr> for LocalAddrs {
    fn from_iter<I: IntoIterator<Item = Ipv6Addr>>(iter: I) -> LocalAddrs {
        let mut l = LocalAddrs::default();
        for a in iter {
            l.insert(a);
        }
        l
    }
}

impl Snapshot {
    #[inline]
    pub fn ifnet(&self, i: IfIndex) -> Option<&Ifnet> {
        self.ifnets.get(usize::from(i))
    }

    /// Whether `a`, seen on `rcvif`, is one of the router's addresses. A
    /// link-local address is the router's only within its link zone: the
    /// same bits on another link name another station (FreeBSD compares
    /// addresses with their zone embedded).
    #[inline]
    pub fn is_ours(&self, a: &Ipv6Addr, rcvif: &Ifnet) -> bool {
        if !ipv6::is_link_local_unicast(a) {
            return self.local.contains(a);
        }
        let zone = rcvif.zones.get(scope::LINK_LOCAL);
        self.ifnets
            .iter()
            .any(|i| i.zones.get(scope::LINK_LOCAL) == zone && i.addrs.iter().any(|x| x.addr == *a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_addresses_are_found_and_others_are_not() {
        let ours: Vec<Ipv6Addr> = (0..300u128)
            .map(|i| Ipv6Addr::from((0x2001_0db8u128 << 96) | (i << 64) | 1))
            .collect();
        let l: LocalAddrs = ours.iter().copied().collect();
        assert!(ours.iter().all(|a| l.contains(a)));
        let others = (0..10_000u128).map(|i| Ipv6Addr::from((0x2001_0db9u128 << 96) | i));
        assert!(others.into_iter().all(|a| !l.contains(&a)));
    }
}
