//! Hop-by-hop and destination options headers (RFC 8200 §4.2-4.3).
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Next Header  |  Hdr Ext Len  |                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//! |                    Options (TLV-encoded)                      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//! Hdr Ext Len counts 8-octet units beyond the first 8 octets.

use super::ipv6::Protocol;
use super::{Result, Truncated, be16};

super::enum_with_unknown! {
    /// Option types FreeBSD's `ip6_process_hopopts` knows; the rest are
    /// judged by their two high-order action bits.
    pub enum OptionType(u8) {
        Pad1 = 0x00,
        PadN = 0x01,
        RouterAlert = 0x05,
        Jumbo = 0xc2,
    }
}

/// What a node that does not recognise an option must do (RFC 8200 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownAction {
    /// 00: skip the option.
    Skip,
    /// 01: discard the packet silently.
    Discard,
    /// 10: discard and send Parameter Problem code 2.
    DiscardSendIcmp,
    /// 11: as 10, but only if the destination is not multicast.
    DiscardSendIcmpIfUnicast,
}

impl UnknownAction {
    pub fn of(option_type: u8) -> UnknownAction {
        match option_type >> 6 {
            0 => UnknownAction::Skip,
            1 => UnknownAction::Discard,
            2 => UnknownAction::DiscardSendIcmp,
            _ => UnknownAction::DiscardSendIcmpIfUnicast,
        }
    }
}

mod field {
    pub const NXT_HDR: usize = 0;
    pub const LENGTH: usize = 1;
    pub const OPTIONS: usize = 2;
}

/// A view of an options extension header.
#[derive(Debug, Clone)]
pub struct Header<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Header<T> {
    pub const fn new_unchecked(buffer: T) -> Header<T> {
        Header { buffer }
    }

    /// Checks that the whole header, as its length field gives it, is there.
    pub fn new_checked(buffer: T) -> Result<Header<T>> {
        let h = Self::new_unchecked(buffer);
        let b = h.buffer.as_ref();
        if b.len() < 8 || b.len() < h.header_len() {
            return Err(Truncated);
        }
        Ok(h)
    }

    pub fn next_header(&self) -> Protocol {
        self.buffer.as_ref()[field::NXT_HDR].into()
    }

    /// The length of the whole header in bytes.
    pub fn header_len(&self) -> usize {
        (usize::from(self.buffer.as_ref()[field::LENGTH]) + 1) * 8
    }

    /// The options area: the header minus its first two bytes.
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[field::OPTIONS..self.header_len()]
    }
}

/// The value of a router alert option (RFC 2711), if its length is right.
pub fn router_alert_value(data: &[u8]) -> Option<u16> {
    (data.len() == 2).then(|| be16(data, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields() {
        // Next header UDP, 8 bytes: router alert (MLD), then PadN of zero length.
        let h = [17u8, 0, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00];
        let hdr = Header::new_checked(&h[..]).unwrap();
        assert_eq!(hdr.next_header(), Protocol::Udp);
        assert_eq!(hdr.header_len(), 8);
        assert_eq!(hdr.options(), &h[2..]);
        assert_eq!(OptionType::from(hdr.options()[0]), OptionType::RouterAlert);
        assert_eq!(router_alert_value(&hdr.options()[2..4]), Some(0));
        assert_eq!(router_alert_value(&hdr.options()[2..5]), None);
    }

    #[test]
    fn length_counts_eight_octet_units() {
        let mut h = [0u8; 24];
        h[0] = 59;
        h[1] = 2;
        assert_eq!(Header::new_checked(&h[..]).unwrap().header_len(), 24);
        assert!(Header::new_checked(&h[..23]).is_err());
        assert!(Header::new_checked(&h[..7]).is_err());
    }

    #[test]
    fn action_bits() {
        assert_eq!(UnknownAction::of(0x1e), UnknownAction::Skip);
        assert_eq!(UnknownAction::of(0x5e), UnknownAction::Discard);
        assert_eq!(UnknownAction::of(0x9e), UnknownAction::DiscardSendIcmp);
        assert_eq!(
            UnknownAction::of(0xde),
            UnknownAction::DiscardSendIcmpIfUnicast
        );
        assert_eq!(OptionType::from(0xc2), OptionType::Jumbo);
        assert_eq!(OptionType::from(0x07), OptionType::Unknown(0x07));
    }
}
