//! The Internet checksum (RFC 1071) and the IPv6 pseudo-header (RFC 8200 §8.1).

use std::net::Ipv6Addr;

/// Adds `data` to a running one's-complement sum, 16 bits at a time; an odd
/// trailing byte is padded with zero as RFC 1071 prescribes.
pub fn sum(mut acc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
        if acc > 0xffff_0000 {
            acc = fold(acc);
        }
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
}

/// Folds the carries back in, giving the 16-bit one's-complement sum.
pub fn fold(mut acc: u32) -> u32 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc
}

/// The sum of the IPv6 pseudo-header for an upper-layer packet.
pub fn pseudo_header(src: &Ipv6Addr, dst: &Ipv6Addr, next_header: u8, length: u32) -> u32 {
    let mut acc = sum(0, &src.octets());
    acc = sum(acc, &dst.octets());
    acc += length >> 16;
    acc += length & 0xffff;
    acc += u32::from(next_header);
    acc
}

/// The checksum field value for `data` under `pseudo`: the complement of the
/// folded sum.
pub fn finish(acc: u32) -> u16 {
    !(fold(acc) as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(0, &data)), 0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(fold(sum(0, &[0x12, 0x34, 0x56])), 0x1234 + 0x5600);
    }

    #[test]
    fn valid_packet_sums_to_all_ones() {
        let src: Ipv6Addr = "fe80::1".parse().unwrap();
        let dst: Ipv6Addr = "ff02::1".parse().unwrap();
        let mut msg = [128u8, 0, 0, 0, 0x12, 0x34, 0, 1, b'h', b'i'];
        let ph = pseudo_header(&src, &dst, 58, msg.len() as u32);
        let c = finish(sum(ph, &msg));
        msg[2..4].copy_from_slice(&c.to_be_bytes());
        assert_eq!(fold(sum(ph, &msg)), 0xffff);
    }
}
