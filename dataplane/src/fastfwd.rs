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
//! before the burst's routes are looked up together, [`route_usable`]
//! after.

use crate::fib::NextHop;
use crate::iface::{IfIndex, Ifnet};
use crate::input::L3;
use crate::packet::PacketBuf;
use crate::snapshot::Snapshot;
use crate::wire::ipv6::{self, Protocol};

/// The Ethernet and IPv6 headers: what [`classify`] reads, all in the first
/// segment.
const HEADERS: usize = L3 + ipv6::HEADER_LEN;

/// What [`classify`] learnt of a packet it may take.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Candidate {
    pub dst: u128,
    /// The IPv6 packet's length as its header gives it; the frame may be
    /// longer (link-layer padding, trimmed when it is sent).
    pub ip_len: u32,
    pub rcvif: IfIndex,
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
/// router's, and a hop limit left to spend.
#[inline]
pub fn classify<P: PacketBuf>(pkt: &P, snap: &Snapshot) -> Option<Candidate> {
    let ifp = snap.ifnet(pkt.rx_port())?;
    let h: &[u8; HEADERS] = pkt.head().get(..HEADERS)?.try_into().ok()?;
    let frame_len = pkt.pkt_len();
    if h[..6] != ifp.lladdr.0 || h[0] & 1 != 0 || h[12..14] != [0x86, 0xdd] {
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
    Some(Candidate {
        dst,
        ip_len: ip_len as u32,
        rcvif: ifp.index,
    })
}

/// The interface `ip6_forward` would send a [`classify`]d packet out of
/// by a route with next hop `rt` with nothing more to say: a route that
/// neither drops nor rejects, out a real interface (not the one it came in
/// on while redirects are on: that would ask for one), with room for the
/// packet. `None` leaves it to the full path.
#[inline]
pub fn route_usable<'s>(
    rt: &NextHop,
    rcvif: &Ifnet,
    c: &Candidate,
    snap: &'s Snapshot,
) -> Option<&'s Ifnet> {
    if rt.flags.blackhole || rt.flags.reject {
        return None;
    }
    let outif = snap.ifnet(rt.ifindex)?;
    if outif.flags.loopback
        || c.ip_len > outif.mtu
        || (snap.settings.sendredirects && outif.index == rcvif.index)
    {
        return None;
    }
    Some(outif)
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
