//! The parts of Neighbor Discovery (RFC 4861) a forwarding router writes:
//! the Redirect message (§4.5) and its options (§4.6).
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Type (137)   |     Code      |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                           Reserved                            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       Target Address (128)                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Destination Address (128)                  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Options ...
//! ```

use std::net::Ipv6Addr;

use super::ethernet::Address as EthernetAddress;
use super::{Result, Truncated};

/// ND option types.
pub mod option {
    pub const TARGET_LLADDR: u8 = 2;
    pub const REDIRECTED_HEADER: u8 = 4;
}

mod field {
    use core::ops::{Range, RangeFrom};
    pub const TARGET: Range<usize> = 8..24;
    pub const DESTINATION: Range<usize> = 24..40;
    pub const OPTIONS: RangeFrom<usize> = 40..;
}

pub const REDIRECT_LEN: usize = field::OPTIONS.start;
/// A link-layer address option for Ethernet: type, length 1, six bytes.
pub const LLADDR_OPTION_LEN: usize = 8;
/// The redirected header option's own header: type, length, 6 reserved.
pub const REDIRECTED_HEADER_OPTION_LEN: usize = 8;

/// A view of a Redirect message, from the ICMPv6 type byte on.
#[derive(Debug, Clone)]
pub struct Redirect<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Redirect<T> {
    pub const fn new_unchecked(buffer: T) -> Redirect<T> {
        Redirect { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Redirect<T>> {
        let r = Self::new_unchecked(buffer);
        if r.buffer.as_ref().len() < REDIRECT_LEN {
            return Err(Truncated);
        }
        Ok(r)
    }

    pub fn target(&self) -> Ipv6Addr {
        let mut a = [0; 16];
        a.copy_from_slice(&self.buffer.as_ref()[field::TARGET]);
        Ipv6Addr::from(a)
    }

    pub fn destination(&self) -> Ipv6Addr {
        let mut a = [0; 16];
        a.copy_from_slice(&self.buffer.as_ref()[field::DESTINATION]);
        Ipv6Addr::from(a)
    }

    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[field::OPTIONS]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Redirect<T> {
    /// Writes type 137, code 0, a zero checksum and zero reserved word.
    pub fn emit_header(&mut self, target: &Ipv6Addr, destination: &Ipv6Addr) {
        let b = self.buffer.as_mut();
        b[..8].copy_from_slice(&[137, 0, 0, 0, 0, 0, 0, 0]);
        b[field::TARGET].copy_from_slice(&target.octets());
        b[field::DESTINATION].copy_from_slice(&destination.octets());
    }

    pub fn options_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::OPTIONS]
    }
}

/// Writes a link-layer address option of `kind` into the first 8 bytes.
pub fn emit_lladdr_option(buf: &mut [u8], kind: u8, addr: &EthernetAddress) {
    buf[0] = kind;
    buf[1] = 1;
    buf[2..8].copy_from_slice(&addr.0);
}

/// Writes the header of a redirected-header option that carries
/// `quoted_len` bytes, a multiple of 8.
pub fn emit_redirected_header_option(buf: &mut [u8], quoted_len: usize) {
    debug_assert_eq!(quoted_len % 8, 0);
    buf[0] = option::REDIRECTED_HEADER;
    buf[1] = ((REDIRECTED_HEADER_OPTION_LEN + quoted_len) / 8) as u8;
    buf[2..8].fill(0);
}

/// Walks ND options: yields (type, whole option bytes), stopping at the
/// first option with length zero or running past the end (RFC 4861 §4.6:
/// such a packet must be discarded by its receiver).
pub fn options(
    mut data: &[u8],
) -> impl Iterator<Item = core::result::Result<(u8, &[u8]), Truncated>> {
    core::iter::from_fn(move || {
        if data.is_empty() {
            return None;
        }
        let len = usize::from(*data.get(1).unwrap_or(&0)) * 8;
        if len == 0 || len > data.len() {
            data = &[];
            return Some(Err(Truncated));
        }
        let (opt, rest) = data.split_at(len);
        data = rest;
        Some(Ok((opt[0], opt)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_round_trip() {
        let mut buf = [0u8; REDIRECT_LEN + LLADDR_OPTION_LEN + REDIRECTED_HEADER_OPTION_LEN + 8];
        let target: Ipv6Addr = "fe80::1".parse().unwrap();
        let dest: Ipv6Addr = "2001:db8:1::5".parse().unwrap();
        let mac: EthernetAddress = "02:00:00:00:01:01".parse().unwrap();
        let mut r = Redirect::new_unchecked(&mut buf[..]);
        r.emit_header(&target, &dest);
        let o = r.options_mut();
        emit_lladdr_option(&mut o[..8], option::TARGET_LLADDR, &mac);
        emit_redirected_header_option(&mut o[8..16], 8);
        o[16..].copy_from_slice(&[0x60, 0, 0, 0, 0, 0, 0, 0]);

        let r = Redirect::new_checked(&buf[..]).unwrap();
        assert_eq!(buf[0], 137);
        assert_eq!(r.target(), target);
        assert_eq!(r.destination(), dest);
        let opts: Vec<_> = options(r.options())
            .collect::<core::result::Result<_, _>>()
            .unwrap();
        assert_eq!(opts.len(), 2);
        assert_eq!(opts[0].0, option::TARGET_LLADDR);
        assert_eq!(&opts[0].1[2..], &mac.0);
        assert_eq!(opts[1].0, option::REDIRECTED_HEADER);
        assert_eq!(opts[1].1.len(), 16);
    }

    #[test]
    fn zero_length_option_stops_the_walk() {
        let opts: Vec<_> = options(&[2, 0, 0, 0, 0, 0, 0, 0]).collect();
        assert_eq!(opts, vec![Err(Truncated)]);
        let opts: Vec<_> = options(&[2, 2, 0, 0, 0, 0, 0, 0]).collect();
        assert_eq!(opts, vec![Err(Truncated)]);
    }
}
