//! Walking the extension header chain, as FreeBSD's `ip6_lasthdr` does.

use crate::wire::ipv6::{self, Protocol};

/// Reads bytes of a packet at an offset (relative to the IPv6 header);
/// returns how many it could.
pub trait Bytes {
    fn read_at(&self, off: usize, dst: &mut [u8]) -> usize;
}

impl Bytes for [u8] {
    fn read_at(&self, off: usize, dst: &mut [u8]) -> usize {
        let src = self.get(off..).unwrap_or(&[]);
        let n = src.len().min(dst.len());
        dst[..n].copy_from_slice(&src[..n]);
        n
    }
}

/// The headers of a packet after the fixed header: each one's offset from
/// the IPv6 header and its type, ending with the last one `ip6_lasthdr`
/// would return.
///
/// Follows `ip6_nexthdr`: hop-by-hop, routing and destination options are
/// skipped by their length, AH by its own length rule, a first fragment by
/// its 8 bytes; the walk stops at a non-first fragment, at any other
/// protocol, or at an extension header whose fixed part is not there.
pub struct Chain<'a, B: ?Sized> {
    bytes: &'a B,
    len: usize,
    next: Option<(usize, Protocol)>,
}

pub fn chain<B: Bytes + ?Sized>(bytes: &B, len: usize) -> Chain<'_, B> {
    let mut fixed = [0u8; ipv6::HEADER_LEN];
    let next = (len >= ipv6::HEADER_LEN && bytes.read_at(0, &mut fixed) == ipv6::HEADER_LEN)
        .then(|| (ipv6::HEADER_LEN, Protocol::from(fixed[6])));
    Chain { bytes, len, next }
}

impl<B: Bytes + ?Sized> Iterator for Chain<'_, B> {
    type Item = (usize, Protocol);

    fn next(&mut self) -> Option<Self::Item> {
        let (off, nxt) = self.next.take()?;
        let need = if nxt == Protocol::Ipv6Frag { 8 } else { 2 };
        let mut h = [0u8; 8];
        let readable = off + need <= self.len && self.bytes.read_at(off, &mut h[..need]) == need;
        let step = match nxt {
            Protocol::HopByHop | Protocol::Ipv6Route | Protocol::Ipv6Opts if readable => {
                (usize::from(h[1]) + 1) << 3
            }
            Protocol::Ah if readable => (usize::from(h[1]) + 2) << 2,
            Protocol::Ipv6Frag if readable && u16::from_be_bytes([h[2], h[3]]) & 0xfff8 == 0 => 8,
            _ => return Some((off, nxt)),
        };
        self.next = Some((off + step, Protocol::from(h[0])));
        Some((off, nxt))
    }
}

/// The last header of the chain and its offset (`ip6_lasthdr`); a packet
/// shorter than its fixed header has none.
pub fn last_header<B: Bytes + ?Sized>(bytes: &B, len: usize) -> (usize, Protocol) {
    chain(bytes, len)
        .last()
        .unwrap_or((0, Protocol::Unknown(255)))
}

/// Whether the packet carries a routing header: it is source-routed, and a
/// router does not redirect source-routed traffic.
pub fn has_routing_header<B: Bytes + ?Sized>(bytes: &B, len: usize) -> bool {
    chain(bytes, len).any(|(_, nxt)| nxt == Protocol::Ipv6Route)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip6(nxt: u8, ext: &[u8]) -> Vec<u8> {
        let mut v = vec![0x60, 0, 0, 0, 0, 0, nxt, 64];
        v.extend_from_slice(&[0; 32]);
        v.extend_from_slice(ext);
        v
    }

    #[test]
    fn plain_upper_layer() {
        let p = ip6(58, &[128, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(last_header(&p[..], p.len()), (40, Protocol::Icmpv6));
    }

    #[test]
    fn through_hbh_and_first_fragment() {
        let mut ext = vec![44, 0, 1, 4, 0, 0, 0, 0]; // HBH -> Frag
        ext.extend_from_slice(&[58, 0, 0x00, 0x01, 0, 0, 0, 1]); // first fragment, M set -> ICMPv6
        ext.extend_from_slice(&[1, 0, 0, 0]);
        let p = ip6(0, &ext);
        assert_eq!(last_header(&p[..], p.len()), (56, Protocol::Icmpv6));
    }

    #[test]
    fn stops_at_non_first_fragment() {
        let p = ip6(44, &[58, 0, 0x00, 0x08, 0, 0, 0, 1, 1, 0, 0, 0]);
        assert_eq!(last_header(&p[..], p.len()), (40, Protocol::Ipv6Frag));
    }

    #[test]
    fn truncated_extension_header_is_returned_as_is() {
        let p = ip6(60, &[58]);
        assert_eq!(last_header(&p[..], p.len()), (40, Protocol::Ipv6Opts));
        // A length that points past the end leaves the offset beyond it.
        let p = ip6(60, &[58, 5, 1, 0, 0, 0, 0, 0]);
        let (off, nxt) = last_header(&p[..], p.len());
        assert_eq!(nxt, Protocol::Icmpv6);
        assert!(off > p.len());
    }

    #[test]
    fn routing_header_is_seen_anywhere_in_the_chain() {
        let p = ip6(
            0,
            &[43, 0, 1, 4, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        );
        assert!(has_routing_header(&p[..], p.len()));
        let p = ip6(17, &[0; 8]);
        assert!(!has_routing_header(&p[..], p.len()));
    }

    #[test]
    fn ah_length_rule() {
        // AH with payload length 4 -> (4+2)*4 = 24 bytes.
        let mut ext = vec![17, 4];
        ext.extend_from_slice(&[0; 22]);
        ext.extend_from_slice(&[0; 8]);
        let p = ip6(51, &ext);
        assert_eq!(last_header(&p[..], p.len()), (64, Protocol::Udp));
    }
}
