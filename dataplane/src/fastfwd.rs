//! FreeBSD's `ip6_tryforward` (`sys/netinet6/ip6_fastfwd.c`): the common
//! forwarded packet — unicast to this router, plain global addresses, no
//! hop-by-hop options, a route to a known neighbour that asks for no
//! redirect — decided from its fixed headers in one pass.
//!
//! FreeBSD's version acts as it goes (it counts, sends errors and drops).
//! This one only looks until it has decided: a packet it does not take is
//! handed to the full path untouched and with nothing counted, so the full
//! path decides it exactly as if this did not exist. It therefore needs no
//! rule of its own for any unusual case, and a test holds it to that: every
//! frame, label and counter comes out the same with it on and off
//! (`net.inet6.ip6.fastforwarding`), but for its own counter and the route
//! cache's split of the same lookups between hits and misses (a burst's
//! repeats of a new destination all miss).
//!
//! It works in the two halves the engine runs a burst in: [`classify`]
//! before the burst's routes are looked up together, [`output`] (with
//! the route's [`Link`] from this worker's [`Links`]) after.

use std::net::Ipv6Addr;

use crate::fib::NextHop;
use crate::iface::{IfIndex, Ifnet};
use crate::input::L3;
use crate::packet::PacketBuf;
use crate::snapshot::Snapshot;
use crate::wire::ethernet::Address as EthernetAddress;
use crate::wire::ipv6::{self, Protocol};

/// The Ethernet and IPv6 headers: what [`classify`] reads, all in the first
/// segment.
const HEADERS: usize = L3 + ipv6::HEADER_LEN;

/// What [`classify`] learnt of a packet it may take, but its destination
/// (kept apart, for the burst's lookups).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Candidate {
    /// The IPv6 packet's length as its header gives it; the frame may be
    /// longer (link-layer padding, trimmed when it is sent).
    pub ip_len: u32,
    pub rcvif: IfIndex,
}

/// The interface a run of packets arrived on, looked up once for as long
/// as they come from the same port (a burst is one queue's), with its
/// address as a word, so that a frame's destination is checked with one
/// comparison.
#[derive(Debug, Clone, Copy)]
pub struct Arrival<'s> {
    port: u16,
    /// `None` for a port the fast path takes nothing from: none of the
    /// snapshot's, or one whose address is a group address (a
    /// misconfiguration the full path answers).
    ifp: Option<&'s Ifnet>,
    lladdr: u64,
}

impl<'s> Arrival<'s> {
    #[inline]
    fn of(&mut self, port: u16, snap: &'s Snapshot) -> Option<(&'s Ifnet, u64)> {
        if port != self.port {
            self.port = port;
            self.ifp = snap.ifnet(port).filter(|i| i.lladdr.is_unicast());
            self.lladdr = self.ifp.map_or(0, |i| mac_word(&i.lladdr.0));
        }
        Some((self.ifp?, self.lladdr))
    }
}

impl Default for Arrival<'_> {
    /// No port yet: the first packet's is looked up.
    fn default() -> Self {
        Arrival {
            port: u16::MAX,
            ifp: None,
            lladdr: 0,
        }
    }
}

/// A 48-bit address in the low bytes of a little-endian word.
#[inline]
fn mac_word(a: &[u8; 6]) -> u64 {
    let mut w = [0u8; 8];
    w[..6].copy_from_slice(a);
    u64::from_le_bytes(w)
}

/// An address the full path would let through every scope and address
/// check without a second look: in 2000::/3 (global unicast) or fc00::/7
/// (unique local, global in scope). Neither range holds a multicast,
/// unspecified, loopback, link-local or IPv4-mapped address.
#[inline]
fn plainly_global(a: u128) -> bool {
    let top = (a >> 120) as u8;
    top & 0xe0 == 0x20 || top & 0xfe == 0xfc
}

/// Whether `ether_input`, `ip6_input` and `ip6_forward` up to the route
/// lookup would pass the packet unchanged but for the hop limit, and the
/// full path would then look its destination up: the frame is unicast to
/// the interface, IPv6, version 6, without hop-by-hop options, with a
/// payload length that is not zero (a jumbogram's) and no longer than the
/// frame, plainly global addresses, a destination that is not the
/// router's, and a hop limit left to spend. Gives the destination with
/// what else the packet's forwarding needs.
#[inline]
pub fn classify<'s, P: PacketBuf>(
    pkt: &P,
    arrival: &mut Arrival<'s>,
    snap: &'s Snapshot,
) -> Option<(u128, Candidate)> {
    let (ifp, lladdr) = arrival.of(pkt.rx_port(), snap)?;
    let h: &[u8; HEADERS] = pkt.head().get(..HEADERS)?.try_into().ok()?;
    let frame_len = pkt.pkt_len();
    // The destination address (the interface's, unicast) and the
    // EtherType, each in one comparison.
    let dst_mac = u64::from_le_bytes(h[..8].try_into().ok()?) & 0xffff_ffff_ffff;
    if dst_mac != lladdr || u16::from_be_bytes([h[12], h[13]]) != 0x86dd {
        return None;
    }
    let ip = &h[L3..];
    let plen = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
    if ip[0] >> 4 != 6 || ip[6] == u8::from(Protocol::HopByHop) || plen == 0 {
        return None;
    }
    let ip_len = ipv6::HEADER_LEN + plen;
    if frame_len < L3 + ip_len || (!snap.settings.stealth && ip[7] <= ipv6::HLIM_DEC) {
        return None;
    }
    let src = u128::from_be_bytes(ip[8..24].try_into().ok()?);
    let dst = u128::from_be_bytes(ip[24..40].try_into().ok()?);
    // Not link-local, so not ours by its zone: the plain set says.
    if !plainly_global(src) || !plainly_global(dst) || snap.local.contains(&dst.into()) {
        return None;
    }
    let c = Candidate {
        ip_len: ip_len as u32,
        rcvif: ifp.index,
    };
    Some((dst, c))
}

/// How the fast path sends by one next hop, as far as the next hop alone
/// decides it. A plain 24-byte record rather than an enum with fields: the
/// engine copies it out of the table a packet at a time, and an enum's
/// fields were stored and reloaded in pieces of other sizes, which the
/// processor could not forward from store to load (a tenth of the fast
/// path's cycles on the small table, by `perf annotate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, align(8))]
pub struct Link {
    pub kind: LinkKind,
    pub outif: IfIndex,
    /// The interface's MTU and address, so that the packet's way out is
    /// decided and written from this record alone.
    pub mtu: u32,
    pub src: EthernetAddress,
    /// The gateway's link-layer address, for [`LinkKind::Gateway`].
    pub dst: EthernetAddress,
}

const _: () = assert!(std::mem::size_of::<Link>() == 24);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum LinkKind {
    /// Not worked out yet in this snapshot.
    Unknown,
    /// Left to the full path: a route that drops or rejects, out of the
    /// loopback or no interface, or by a gateway not resolved yet (the
    /// full path holds the packet while it is).
    Full,
    /// By a gateway whose link-layer address is known: the same for every
    /// packet (FreeBSD keeps it with the route, `nh_prepend`).
    Gateway,
    /// To the destination itself, on the link: its neighbour entry is the
    /// packet's own.
    OnLink,
}

impl Link {
    const UNKNOWN: Link = Link::none(LinkKind::Unknown);
    const FULL: Link = Link::none(LinkKind::Full);

    const fn none(kind: LinkKind) -> Link {
        Link {
            kind,
            outif: 0,
            mtu: 0,
            src: EthernetAddress([0; 6]),
            dst: EthernetAddress([0; 6]),
        }
    }

    fn of(nh: &NextHop, snap: &Snapshot) -> Link {
        if nh.flags.blackhole || nh.flags.reject {
            return Link::FULL;
        }
        let Some(outif) = snap.ifnet(nh.ifindex).filter(|i| !i.flags.loopback) else {
            return Link::FULL;
        };
        let (kind, dst) = match nh.gateway {
            None => (LinkKind::OnLink, EthernetAddress([0; 6])),
            Some(gw) => match snap.neighbors.lookup(outif.index, &gw) {
                Some(lladdr) => (LinkKind::Gateway, lladdr),
                None => return Link::FULL,
            },
        };
        Link {
            kind,
            outif: outif.index,
            mtu: outif.mtu,
            src: outif.lladdr,
            dst,
        }
    }
}

/// A worker's [`Link`] for each next hop of the snapshot's table, worked
/// out the first time a packet takes it. A full table has a few hundred
/// next hops, so this stays in cache and the fast path reads one entry a
/// packet where it would otherwise read the next hop, the interface and
/// the neighbour table's entry for the gateway. Emptied with each new
/// snapshot, like the route cache.
#[derive(Debug)]
pub struct Links {
    generation: u64,
    links: Vec<Link>,
}

impl Default for Links {
    fn default() -> Self {
        Links {
            generation: u64::MAX,
            links: Vec::new(),
        }
    }
}

impl Links {
    /// Forgets what an earlier snapshot said.
    #[inline]
    pub fn sync(&mut self, snap: &Snapshot) {
        if snap.generation != self.generation {
            self.generation = snap.generation;
            self.links.clear();
        }
    }

    /// The link by the next hop numbered `hop` in the snapshot's table.
    #[inline]
    pub fn link(&mut self, hop: u32, snap: &Snapshot) -> &Link {
        let i = hop as usize;
        if !self
            .links
            .get(i)
            .is_some_and(|l| l.kind != LinkKind::Unknown)
        {
            self.fill(i, snap);
        }
        &self.links[i]
    }

    /// Works out the link by next hop `i`, making room for it.
    #[cold]
    #[inline(never)]
    fn fill(&mut self, i: usize, snap: &Snapshot) {
        if self.links.len() <= i {
            self.links.resize(i + 1, Link::UNKNOWN);
        }
        self.links[i] = match snap.fib.nexthop_at(i as u32) {
            Some(nh) => Link::of(nh, snap),
            None => Link::FULL,
        };
    }
}

/// The interface `ip6_forward` would send a [`classify`]d packet out of
/// by `link` with nothing more to say, and the link-layer destination: not
/// the interface it came in on while redirects are on (that would ask for
/// one), with room for the packet, and for an on-link destination, a
/// neighbour entry (`last` saves the neighbour table's lookup for a run
/// to the same one). `None` leaves it to the full path.
#[inline]
pub fn output(
    link: &Link,
    dst: u128,
    c: &Candidate,
    last: &mut LastNeighbor,
    snap: &Snapshot,
) -> Option<EthernetAddress> {
    let lladdr = match link.kind {
        LinkKind::Gateway => link.dst,
        LinkKind::OnLink => last.lookup(snap, link.outif, Ipv6Addr::from(dst))?,
        LinkKind::Unknown | LinkKind::Full => return None,
    };
    if c.ip_len > link.mtu || (snap.settings.sendredirects && link.outif == c.rcvif) {
        return None;
    }
    Some(lladdr)
}

/// The last on-link destination resolved in a run of packets: a
/// neighbour table lookup saved per packet while they share it.
#[derive(Default)]
pub struct LastNeighbor(Option<(IfIndex, Ipv6Addr, EthernetAddress)>);

impl LastNeighbor {
    #[inline]
    fn lookup(&mut self, snap: &Snapshot, out: IfIndex, addr: Ipv6Addr) -> Option<EthernetAddress> {
        if let Some((o, a, m)) = self.0
            && o == out
            && a == addr
        {
            return Some(m);
        }
        let m = snap.neighbors.lookup(out, &addr)?;
        self.0 = Some((out, addr, m));
        Some(m)
    }
}

/// Whether a snapshot lets packets through [`classify`] at all: the switch
/// is on, no filter needs to see them, and the MAC policies' verdicts
/// depend on interfaces alone.
#[inline]
pub fn enabled(snap: &Snapshot) -> bool {
    snap.settings.fastforwarding
        && snap.pfil.is_empty()
        && (snap.mac.is_empty() || snap.mac.forwards_by_interface())
}
