//! What the control plane receives from the workers: packets for the router
//! itself, and requests to resolve neighbours.
//!
//! The router's own stack (answering neighbour solicitations and echo
//! requests, sending solicitations) is not built yet; until it is, punted
//! packets are classified and counted here so that nothing vanishes unseen.

use std::net::Ipv6Addr;

use dataplane::iface::IfIndex;
use dataplane::input::L3;
use dataplane::wire::icmpv6::{self, Message};
use dataplane::wire::ipv6::{self, Protocol};

/// Counters of what reached the control plane.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalStats {
    /// Neighbor and router solicitations and advertisements, redirects.
    pub nd: u64,
    /// MLD queries and reports.
    pub mld: u64,
    /// Echo requests.
    pub echo_request: u64,
    /// Other ICMPv6.
    pub icmp6_other: u64,
    /// Anything else (UDP, TCP, other protocols).
    pub other: u64,
    /// Neighbour resolution requests from the workers.
    pub nd6_resolve_requests: u64,
    /// "cannot forward" lines logged.
    pub log_lines: u64,
}

impl LocalStats {
    /// Counts one punted frame by what it carries.
    pub fn count_punt(&mut self, frame: &[u8]) {
        let kind = frame
            .get(L3..)
            .and_then(|b| ipv6::Packet::new_checked(b).ok())
            .and_then(|ip6| {
                let (off, nxt) = dataplane::exthdr::last_header(ip6.into_inner(), frame.len() - L3);
                (nxt == Protocol::Icmpv6).then(|| {
                    frame
                        .get(L3 + off..)
                        .and_then(|b| icmpv6::Packet::new_checked(b).ok())
                        .map(|p| p.msg_type())
                })
            });
        let c = match kind {
            Some(Some(
                Message::RouterSolicit
                | Message::RouterAdvert
                | Message::NeighborSolicit
                | Message::NeighborAdvert
                | Message::Redirect,
            )) => &mut self.nd,
            Some(Some(
                Message::MldQuery | Message::MldReport | Message::MldDone | Message::MldV2Report,
            )) => &mut self.mld,
            Some(Some(Message::EchoRequest)) => &mut self.echo_request,
            Some(_) => &mut self.icmp6_other,
            None => &mut self.other,
        };
        *c += 1;
    }

    pub fn punted(&self) -> u64 {
        self.nd + self.mld + self.echo_request + self.icmp6_other + self.other
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> {
        [
            ("punted_nd", self.nd),
            ("punted_mld", self.mld),
            ("punted_echo_request", self.echo_request),
            ("punted_icmp6_other", self.icmp6_other),
            ("punted_other", self.other),
            ("nd6_resolve_requests", self.nd6_resolve_requests),
            ("log_lines", self.log_lines),
        ]
        .into_iter()
    }
}

/// A neighbour a worker asked to have resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolveRequest {
    pub ifindex: IfIndex,
    pub addr: Ipv6Addr,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(nxt: u8, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; L3];
        f.extend_from_slice(&[0x60, 0, 0, 0, 0, payload.len() as u8, nxt, 255]);
        f.extend_from_slice(&[0; 32]);
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn classifies_by_icmpv6_type() {
        let mut s = LocalStats::default();
        s.count_punt(&frame(58, &[135, 0, 0, 0, 0, 0, 0, 0]));
        s.count_punt(&frame(58, &[128, 0, 0, 0, 0, 0, 0, 0]));
        s.count_punt(&frame(58, &[143, 0, 0, 0, 0, 0, 0, 0]));
        s.count_punt(&frame(58, &[1, 0, 0, 0, 0, 0, 0, 0]));
        s.count_punt(&frame(17, &[0, 53, 0, 53, 0, 8, 0, 0]));
        s.count_punt(&[0u8; 3]);
        assert_eq!(
            (s.nd, s.echo_request, s.mld, s.icmp6_other, s.other),
            (1, 1, 1, 1, 2)
        );
        assert_eq!(s.punted(), 6);
    }
}
