//! Output filter rules: the `pfil` hooks `ip6_forward` runs before
//! `nd6_output`.
//!
//! An ordered list; the first rule that matches decides. An empty list is
//! skipped before any parsing, as `PFIL_HOOKED` lets FreeBSD skip its hooks.

use std::net::Ipv6Addr;

use crate::exthdr::{self, Bytes};
use crate::iface::{IfIndex, prefix_matches};
use crate::wire::ipv6::Protocol;

/// The most rules a list may hold; each has a hit counter per worker.
pub const MAX_RULES: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Pass,
    /// Discard silently.
    Drop,
    /// Discard and answer Destination Unreachable, administratively prohibited.
    Reject,
}

/// An inclusive port range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    pub low: u16,
    pub high: u16,
}

impl Ports {
    fn contains(&self, p: u16) -> bool {
        (self.low..=self.high).contains(&p)
    }
}

/// One rule; a field left `None` matches anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub src: Option<(Ipv6Addr, u8)>,
    pub dst: Option<(Ipv6Addr, u8)>,
    /// The upper-layer protocol, found past any extension headers.
    pub proto: Option<u8>,
    /// Ports match only TCP and UDP, and only a first (or no) fragment.
    pub sport: Option<Ports>,
    pub dport: Option<Ports>,
    pub iif: Option<IfIndex>,
    pub oif: Option<IfIndex>,
    pub action: Action,
}

/// What the filter needs to know about one packet, found once.
struct Facts {
    src: Ipv6Addr,
    dst: Ipv6Addr,
    proto: u8,
    ports: Option<(u16, u16)>,
}

impl Facts {
    fn of<B: Bytes + ?Sized>(ip6: &B, len: usize, src: Ipv6Addr, dst: Ipv6Addr) -> Facts {
        let (off, nxt) = exthdr::last_header(ip6, len);
        let mut ports = None;
        if matches!(nxt, Protocol::Tcp | Protocol::Udp) && off + 4 <= len {
            let mut p = [0u8; 4];
            if ip6.read_at(off, &mut p) == 4 {
                ports = Some((
                    u16::from_be_bytes([p[0], p[1]]),
                    u16::from_be_bytes([p[2], p[3]]),
                ));
            }
        }
        Facts {
            src,
            dst,
            proto: nxt.into(),
            ports,
        }
    }
}

impl Rule {
    /// A rule that matches every packet; narrow it by setting fields.
    pub fn new(action: Action) -> Rule {
        Rule {
            src: None,
            dst: None,
            proto: None,
            sport: None,
            dport: None,
            iif: None,
            oif: None,
            action,
        }
    }

    fn matches(&self, f: &Facts, iif: IfIndex, oif: IfIndex) -> bool {
        let addr = |want: Option<(Ipv6Addr, u8)>, a: &Ipv6Addr| {
            want.is_none_or(|(p, l)| prefix_matches(p, l, a))
        };
        let port = |want: Option<Ports>, got: Option<u16>| {
            want.is_none_or(|w| got.is_some_and(|p| w.contains(p)))
        };
        self.iif.is_none_or(|i| i == iif)
            && self.oif.is_none_or(|o| o == oif)
            && addr(self.src, &f.src)
            && addr(self.dst, &f.dst)
            && self.proto.is_none_or(|p| p == f.proto)
            && port(self.sport, f.ports.map(|p| p.0))
            && port(self.dport, f.ports.map(|p| p.1))
    }
}

/// The ordered rule list of a snapshot.
#[derive(Debug, Clone, Default)]
pub struct Pfil {
    rules: Vec<Rule>,
    /// Some rule matches on the protocol or ports, so the header chain must
    /// be walked; otherwise addresses and interfaces decide.
    needs_l4: bool,
}

impl Pfil {
    /// Takes at most [`MAX_RULES`] rules; the caller has checked the count.
    pub fn new(rules: Vec<Rule>) -> Pfil {
        debug_assert!(rules.len() <= MAX_RULES);
        let needs_l4 = rules
            .iter()
            .any(|r| r.proto.is_some() || r.sport.is_some() || r.dport.is_some());
        Pfil { rules, needs_l4 }
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The first matching rule and its action; `None` passes.
    pub fn check<B: Bytes + ?Sized>(
        &self,
        ip6: &B,
        len: usize,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        iif: IfIndex,
        oif: IfIndex,
    ) -> Option<(usize, Action)> {
        let facts = if self.needs_l4 {
            Facts::of(ip6, len, src, dst)
        } else {
            Facts {
                src,
                dst,
                proto: 0,
                ports: None,
            }
        };
        self.rules
            .iter()
            .position(|r| r.matches(&facts, iif, oif))
            .map(|i| (i, self.rules[i].action))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn udp(src: &str, dst: &str, sport: u16, dport: u16) -> (Vec<u8>, Ipv6Addr, Ipv6Addr) {
        let s: Ipv6Addr = src.parse().unwrap();
        let d: Ipv6Addr = dst.parse().unwrap();
        let mut v = vec![0x60, 0, 0, 0, 0, 8, 17, 64];
        v.extend_from_slice(&s.octets());
        v.extend_from_slice(&d.octets());
        v.extend_from_slice(&sport.to_be_bytes());
        v.extend_from_slice(&dport.to_be_bytes());
        v.extend_from_slice(&[0, 8, 0, 0]);
        (v, s, d)
    }

    #[test]
    fn first_match_decides() {
        let (p, s, d) = udp("2001:db8::1", "2001:db8:1::5", 1000, 53);
        let mut r1 = Rule::new(Action::Reject);
        r1.dport = Some(Ports { low: 53, high: 53 });
        r1.proto = Some(17);
        let f = Pfil::new(vec![r1, Rule::new(Action::Drop)]);
        assert_eq!(
            f.check(&p[..], p.len(), s, d, 0, 1),
            Some((0, Action::Reject))
        );
        let (p2, s2, d2) = udp("2001:db8::1", "2001:db8:1::5", 1000, 54);
        assert_eq!(
            f.check(&p2[..], p2.len(), s2, d2, 0, 1),
            Some((1, Action::Drop))
        );
    }

    #[test]
    fn prefixes_interfaces_and_no_match() {
        let (p, s, d) = udp("2001:db8::1", "2001:db8:1::5", 1000, 53);
        let mut r = Rule::new(Action::Drop);
        r.src = Some(("2001:db8::".parse().unwrap(), 64));
        r.dst = Some(("2001:db8:1::".parse().unwrap(), 48));
        r.oif = Some(1);
        let f = Pfil::new(vec![r]);
        assert!(f.check(&p[..], p.len(), s, d, 0, 1).is_some());
        assert!(f.check(&p[..], p.len(), s, d, 0, 2).is_none());
        let (p, s, d) = udp("2001:db9::1", "2001:db8:1::5", 1000, 53);
        assert!(f.check(&p[..], p.len(), s, d, 0, 1).is_none());
    }

    #[test]
    fn ports_never_match_without_a_transport_header() {
        let (mut p, s, d) = udp("2001:db8::1", "2001:db8:1::5", 1000, 53);
        p.truncate(42);
        let mut r = Rule::new(Action::Drop);
        r.sport = Some(Ports {
            low: 0,
            high: 65535,
        });
        let f = Pfil::new(vec![r]);
        assert!(f.check(&p[..], p.len(), s, d, 0, 1).is_none());
    }
}
