//! ICMPv6 (RFC 4443).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |             Unused / MTU / Pointer (errors)                   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |    As much of the invoking packet as fits the minimum MTU     |
//! ```

use std::net::Ipv6Addr;

use super::checksum;
use super::{Result, Truncated, be16, be32};

super::enum_with_unknown! {
    /// ICMPv6 message types.
    pub enum Message(u8) {
        DstUnreachable = 1,
        PktTooBig = 2,
        TimeExceeded = 3,
        ParamProblem = 4,
        EchoRequest = 128,
        EchoReply = 129,
        MldQuery = 130,
        MldReport = 131,
        MldDone = 132,
        RouterSolicit = 133,
        RouterAdvert = 134,
        NeighborSolicit = 135,
        NeighborAdvert = 136,
        Redirect = 137,
        MldV2Report = 143,
    }
}

impl Message {
    /// Error messages have the high-order bit of the type clear (§2.1).
    pub fn is_error(self) -> bool {
        u8::from(self) < 128
    }
}

/// Destination Unreachable codes (§3.1), FreeBSD's `ICMP6_DST_UNREACH_*`.
pub mod unreach {
    pub const NOROUTE: u8 = 0;
    pub const ADMIN: u8 = 1;
    pub const BEYONDSCOPE: u8 = 2;
    pub const ADDR: u8 = 3;
    pub const NOPORT: u8 = 4;
    pub const REJECT: u8 = 6;
}

/// Time Exceeded codes (§3.3).
pub mod time_exceeded {
    pub const TRANSIT: u8 = 0;
    pub const REASSEMBLY: u8 = 1;
}

/// Parameter Problem codes (§3.4).
pub mod param_prob {
    pub const HEADER: u8 = 0;
    pub const NEXTHEADER: u8 = 1;
    pub const OPTION: u8 = 2;
}

mod field {
    use core::ops::{Range, RangeFrom};
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Range<usize> = 2..4;
    pub const DATA: Range<usize> = 4..8;
    pub const PAYLOAD: RangeFrom<usize> = 8..;
}

pub const HEADER_LEN: usize = field::PAYLOAD.start;

/// A view of an ICMPv6 message.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Checks for the 8-byte header every ICMPv6 message has.
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Self::new_unchecked(buffer);
        if p.buffer.as_ref().len() < HEADER_LEN {
            return Err(Truncated);
        }
        Ok(p)
    }

    pub fn msg_type(&self) -> Message {
        self.buffer.as_ref()[field::TYPE].into()
    }

    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// The word after the checksum: the MTU of Packet Too Big, the pointer
    /// of Parameter Problem.
    pub fn data_word(&self) -> u32 {
        be32(self.buffer.as_ref(), field::DATA.start)
    }

    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }

    /// True when the whole message sums to all ones under the pseudo-header.
    pub fn verify_checksum(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
        let b = self.buffer.as_ref();
        let ph = checksum::pseudo_header(src, dst, 58, b.len() as u32);
        checksum::fold(checksum::sum(ph, b)) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_msg_type(&mut self, m: Message) {
        self.buffer.as_mut()[field::TYPE] = m.into();
    }

    pub fn set_msg_code(&mut self, c: u8) {
        self.buffer.as_mut()[field::CODE] = c;
    }

    pub fn set_data_word(&mut self, v: u32) {
        self.buffer.as_mut()[field::DATA].copy_from_slice(&v.to_be_bytes());
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }

    /// Computes the checksum over the whole buffer as the message.
    pub fn fill_checksum(&mut self, src: &Ipv6Addr, dst: &Ipv6Addr) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&[0, 0]);
        let b = self.buffer.as_ref();
        let ph = checksum::pseudo_header(src, dst, 58, b.len() as u32);
        let c = checksum::finish(checksum::sum(ph, b));
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&c.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_types() {
        assert!(Message::DstUnreachable.is_error());
        assert!(Message::Unknown(127).is_error());
        assert!(!Message::EchoRequest.is_error());
        assert!(!Message::Redirect.is_error());
        for v in 0..=255u8 {
            assert_eq!(u8::from(Message::from(v)), v);
        }
    }

    #[test]
    fn build_and_verify() {
        let src: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let dst: Ipv6Addr = "2001:db8::2".parse().unwrap();
        let mut buf = [0u8; 12];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_msg_type(Message::PktTooBig);
        p.set_msg_code(0);
        p.set_data_word(1280);
        p.payload_mut().copy_from_slice(&[0x60, 0, 0, 0]);
        p.fill_checksum(&src, &dst);
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert!(p.verify_checksum(&src, &dst));
        assert!(!p.verify_checksum(&dst, &dst));
        assert_eq!(p.msg_type(), Message::PktTooBig);
        assert_eq!(p.data_word(), 1280);
        assert_eq!(p.payload(), &[0x60, 0, 0, 0]);
    }

    #[test]
    fn short_messages() {
        assert!(Packet::new_checked(&[1u8, 0, 0, 0, 0, 0, 0][..]).is_err());
        let p = Packet::new_checked(&[1u8, 0, 0, 0, 0, 0, 0, 7][..]).unwrap();
        assert_eq!(p.data_word(), 7);
        assert!(p.payload().is_empty());
    }
}
