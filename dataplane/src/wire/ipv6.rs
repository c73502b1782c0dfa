//! The IPv6 fixed header (RFC 8200 §3) and address classification (RFC 4291).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version| Traffic Class |           Flow Label                  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Payload Length        |  Next Header  |   Hop Limit   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                      Source Address (128)                     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                   Destination Address (128)                   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use std::net::Ipv6Addr;

use super::ethernet::Address as EthernetAddress;
use super::{Result, Truncated, be16, be32};

/// The IPv6 minimum link MTU (RFC 8200 §5), FreeBSD's `IPV6_MMTU`.
pub const MIN_MTU: usize = 1280;
/// FreeBSD's `IPV6_HLIMDEC`.
pub const HLIM_DEC: u8 = 1;
/// FreeBSD's `IPV6_DEFHLIM`, the hop limit of packets the router originates.
pub const DEFAULT_HOP_LIMIT: u8 = 64;

super::enum_with_unknown! {
    /// Next Header values.
    pub enum Protocol(u8) {
        HopByHop = 0,
        Tcp = 6,
        Udp = 17,
        Ipv6Route = 43,
        Ipv6Frag = 44,
        Esp = 50,
        Ah = 51,
        Icmpv6 = 58,
        NoNext = 59,
        Ipv6Opts = 60,
    }
}

mod field {
    use core::ops::{Range, RangeFrom};
    pub const VER_TC_FLOW: Range<usize> = 0..4;
    pub const LENGTH: Range<usize> = 4..6;
    pub const NXT_HDR: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC_ADDR: Range<usize> = 8..24;
    pub const DST_ADDR: Range<usize> = 24..40;
    pub const PAYLOAD: RangeFrom<usize> = 40..;
}

pub const HEADER_LEN: usize = field::PAYLOAD.start;

/// A view of an IPv6 packet.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Checks only that the fixed header is present: the version and the
    /// payload length are the caller's to judge, each with its own counter.
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Self::new_unchecked(buffer);
        if p.buffer.as_ref().len() < HEADER_LEN {
            return Err(Truncated);
        }
        Ok(p)
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[0] >> 4
    }

    pub fn traffic_class(&self) -> u8 {
        ((be16(self.buffer.as_ref(), 0) >> 4) & 0xff) as u8
    }

    pub fn flow_label(&self) -> u32 {
        be32(self.buffer.as_ref(), field::VER_TC_FLOW.start) & 0x000f_ffff
    }

    pub fn payload_len(&self) -> u16 {
        be16(self.buffer.as_ref(), field::LENGTH.start)
    }

    pub fn next_header(&self) -> Protocol {
        self.buffer.as_ref()[field::NXT_HDR].into()
    }

    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    pub fn src_addr(&self) -> Ipv6Addr {
        let mut a = [0; 16];
        a.copy_from_slice(&self.buffer.as_ref()[field::SRC_ADDR]);
        Ipv6Addr::from(a)
    }

    pub fn dst_addr(&self) -> Ipv6Addr {
        let mut a = [0; 16];
        a.copy_from_slice(&self.buffer.as_ref()[field::DST_ADDR]);
        Ipv6Addr::from(a)
    }

    /// Everything after the fixed header that the buffer holds.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_version(&mut self, v: u8) {
        let b = &mut self.buffer.as_mut()[0];
        *b = (*b & 0x0f) | (v << 4);
    }

    pub fn set_traffic_class(&mut self, tc: u8) {
        let b = self.buffer.as_mut();
        b[0] = (b[0] & 0xf0) | (tc >> 4);
        b[1] = (b[1] & 0x0f) | (tc << 4);
    }

    pub fn set_flow_label(&mut self, fl: u32) {
        let b = self.buffer.as_mut();
        b[1] = (b[1] & 0xf0) | ((fl >> 16) as u8 & 0x0f);
        b[2] = (fl >> 8) as u8;
        b[3] = fl as u8;
    }

    pub fn set_payload_len(&mut self, len: u16) {
        self.buffer.as_mut()[field::LENGTH].copy_from_slice(&len.to_be_bytes());
    }

    pub fn set_next_header(&mut self, p: Protocol) {
        self.buffer.as_mut()[field::NXT_HDR] = p.into();
    }

    pub fn set_hop_limit(&mut self, h: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = h;
    }

    pub fn set_src_addr(&mut self, a: Ipv6Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&a.octets());
    }

    pub fn set_dst_addr(&mut self, a: Ipv6Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&a.octets());
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

/// The fixed header in high-level form, for packets the router originates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub src_addr: Ipv6Addr,
    pub dst_addr: Ipv6Addr,
    pub next_header: Protocol,
    pub payload_len: u16,
    pub hop_limit: u8,
}

impl Repr {
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Option<Repr> {
        (p.version() == 6).then(|| Repr {
            src_addr: p.src_addr(),
            dst_addr: p.dst_addr(),
            next_header: p.next_header(),
            payload_len: p.payload_len(),
            hop_limit: p.hop_limit(),
        })
    }

    /// Writes the header with traffic class and flow label zero, as
    /// FreeBSD's `icmp6_reflect` leaves them for errors it originates.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut Packet<T>) {
        p.buffer.as_mut()[field::VER_TC_FLOW].copy_from_slice(&[0x60, 0, 0, 0]);
        p.set_payload_len(self.payload_len);
        p.set_next_header(self.next_header);
        p.set_hop_limit(self.hop_limit);
        p.set_src_addr(self.src_addr);
        p.set_dst_addr(self.dst_addr);
    }
}

/// Address scopes (RFC 4291 §2.7, RFC 7346), FreeBSD's `IPV6_ADDR_SCOPE_*`.
pub mod scope {
    pub const INTERFACE_LOCAL: u8 = 0x1;
    pub const LINK_LOCAL: u8 = 0x2;
    pub const REALM_LOCAL: u8 = 0x3;
    pub const ADMIN_LOCAL: u8 = 0x4;
    pub const SITE_LOCAL: u8 = 0x5;
    pub const ORG_LOCAL: u8 = 0x8;
    pub const GLOBAL: u8 = 0xe;
}

/// fe80::/10.
pub fn is_link_local_unicast(a: &Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// fec0::/10, deprecated by RFC 3879 but still scoped by FreeBSD.
pub fn is_site_local_unicast(a: &Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfec0
}

/// The top `bits` bits of a hash of an address, for direct-mapped tables:
/// both halves are folded in, since the low 64 bits (the interface
/// identifier) vary most between hosts and the prefix between sites.
#[inline]
pub fn hash_bits(a: u128, bits: u32) -> usize {
    let h = ((a >> 64) as u64 ^ a as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (h >> (64 - bits)) as usize
}

/// ::ffff:0:0/96.
pub fn is_v4_mapped(a: &Ipv6Addr) -> bool {
    a.to_bits() >> 32 == 0xffff
}

/// The 4-bit scope field of a multicast address.
pub fn multicast_scope(a: &Ipv6Addr) -> u8 {
    a.octets()[1] & 0x0f
}

/// The scope of an address as FreeBSD's `in6_addrscope` reckons it:
/// multicast by its scope field (reserved 0xf counts as global), link-local
/// unicast and the loopback address as link-local, fec0::/10 as site-local,
/// everything else global.
pub fn addr_scope(a: &Ipv6Addr) -> u8 {
    if a.is_multicast() {
        match multicast_scope(a) {
            0x0f => scope::GLOBAL,
            s => s,
        }
    } else if is_link_local_unicast(a) || a.is_loopback() {
        scope::LINK_LOCAL
    } else if is_site_local_unicast(a) {
        scope::SITE_LOCAL
    } else {
        scope::GLOBAL
    }
}

/// The solicited-node multicast group of an address (RFC 4291 §2.7.1).
pub fn solicited_node(a: &Ipv6Addr) -> Ipv6Addr {
    let o = a.octets();
    Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(o[13]),
        u16::from_be_bytes([o[14], o[15]]),
    )
}

/// The link-local address FreeBSD's `in6_ifattach` gives an Ethernet
/// interface: fe80::/64 with the modified EUI-64 interface identifier
/// (RFC 4291 appendix A: ff:fe in the middle, the U/L bit inverted).
pub fn link_local_from_mac(mac: &EthernetAddress) -> Ipv6Addr {
    let m = mac.0;
    Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        m[0] ^ 0x02,
        m[1],
        m[2],
        0xff,
        0xfe,
        m[3],
        m[4],
        m[5],
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    // Version 6, TC 0xab, flow 0xcdef1, plen 8, UDP, hlim 64,
    // 2001:db8::1 -> 2001:db8::2, then 8 payload bytes.
    static PACKET: [u8; 48] = [
        0x6a, 0xbc, 0xde, 0xf1, 0x00, 0x08, 0x11, 0x40, //
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, //
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, //
        1, 2, 3, 4, 5, 6, 7, 8,
    ];

    #[test]
    fn fields() {
        let p = Packet::new_checked(&PACKET[..]).unwrap();
        assert_eq!(p.version(), 6);
        assert_eq!(p.traffic_class(), 0xab);
        assert_eq!(p.flow_label(), 0xcdef1);
        assert_eq!(p.payload_len(), 8);
        assert_eq!(p.next_header(), Protocol::Udp);
        assert_eq!(p.hop_limit(), 64);
        assert_eq!(p.src_addr(), "2001:db8::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(p.dst_addr(), "2001:db8::2".parse::<Ipv6Addr>().unwrap());
        assert_eq!(p.payload(), &[1, 2, 3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn setters_rebuild_the_bytes() {
        let mut buf = [0u8; 48];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_version(6);
        p.set_traffic_class(0xab);
        p.set_flow_label(0xcdef1);
        p.set_payload_len(8);
        p.set_next_header(Protocol::Udp);
        p.set_hop_limit(64);
        p.set_src_addr("2001:db8::1".parse().unwrap());
        p.set_dst_addr("2001:db8::2".parse().unwrap());
        p.payload_mut().copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(buf, PACKET);
    }

    #[test]
    fn repr_round_trip_clears_tc_and_flow() {
        let p = Packet::new_checked(&PACKET[..]).unwrap();
        let r = Repr::parse(&p).unwrap();
        let mut buf = PACKET;
        r.emit(&mut Packet::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..4], &[0x60, 0, 0, 0]);
        assert_eq!(&buf[4..], &PACKET[4..]);
    }

    #[test]
    fn bad_version_has_no_repr() {
        let mut buf = PACKET;
        buf[0] = 0x4a;
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(p.version(), 4);
        assert!(Repr::parse(&p).is_none());
    }

    #[test]
    fn short_buffer_is_refused() {
        assert!(Packet::new_checked(&PACKET[..39]).is_err());
        let p = Packet::new_checked(&PACKET[..40]).unwrap();
        assert!(p.payload().is_empty());
    }

    #[test]
    fn unknown_protocol_is_kept() {
        assert_eq!(Protocol::from(253), Protocol::Unknown(253));
        assert_eq!(u8::from(Protocol::Unknown(253)), 253);
        for v in [0u8, 6, 17, 43, 44, 50, 51, 58, 59, 60] {
            assert_eq!(u8::from(Protocol::from(v)), v);
        }
    }

    #[test]
    fn scopes_as_freebsd_reckons_them() {
        let s = |t: &str| addr_scope(&t.parse().unwrap());
        assert_eq!(s("fe80::1"), scope::LINK_LOCAL);
        assert_eq!(s("febf::1"), scope::LINK_LOCAL);
        assert_eq!(s("::1"), scope::LINK_LOCAL);
        assert_eq!(s("fec0::1"), scope::SITE_LOCAL);
        assert_eq!(s("2001:db8::1"), scope::GLOBAL);
        assert_eq!(s("ff02::1"), scope::LINK_LOCAL);
        assert_eq!(s("ff01::1"), scope::INTERFACE_LOCAL);
        assert_eq!(s("ff05::2"), scope::SITE_LOCAL);
        assert_eq!(s("ff0f::1"), scope::GLOBAL);
        assert!(is_v4_mapped(&"::ffff:192.0.2.1".parse().unwrap()));
        assert!(!is_v4_mapped(&"::192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn derived_addresses() {
        let mac: EthernetAddress = "02:00:00:00:00:01".parse().unwrap();
        assert_eq!(
            link_local_from_mac(&mac),
            "fe80::ff:fe00:1".parse::<Ipv6Addr>().unwrap()
        );
        let mac: EthernetAddress = "00:1b:21:3c:4d:5e".parse().unwrap();
        assert_eq!(
            link_local_from_mac(&mac),
            "fe80::21b:21ff:fe3c:4d5e".parse::<Ipv6Addr>().unwrap()
        );
        let a: Ipv6Addr = "2001:db8::1:2:3".parse().unwrap();
        assert_eq!(
            solicited_node(&a),
            "ff02::1:ff02:3".parse::<Ipv6Addr>().unwrap()
        );
    }
}
