//! Interfaces as the forwarding path sees them: FreeBSD's `ifnet` reduced to
//! what `ip6_forward` and `icmp6_error` consult.

use std::net::Ipv6Addr;

use arrayvec::ArrayVec;

use crate::wire::ethernet::Address as EthernetAddress;
use crate::wire::ipv6::{self, scope};

/// Index of an interface in the snapshot: DPDK ports keep their port id,
/// the loopback comes after the last port.
pub type IfIndex = u16;

/// FreeBSD's `IFF_*` flags that change forwarding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IfFlags {
    /// `IFF_LOOPBACK`: packets routed here are looped back to the router.
    pub loopback: bool,
    /// `IFF_POINTOPOINT`: a packet sent back out the link it came in on
    /// is a routing loop, not a redirect opportunity.
    pub pointopoint: bool,
}

/// An address assigned to an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ifaddr {
    pub addr: Ipv6Addr,
    pub prefix_len: u8,
}

impl Ifaddr {
    /// Whether `a` is on this address's prefix.
    pub fn covers(&self, a: &Ipv6Addr) -> bool {
        prefix_matches(self.addr, self.prefix_len, a)
    }
}

/// True when the first `len` bits of `a` and `prefix` agree.
pub fn prefix_matches(prefix: Ipv6Addr, len: u8, a: &Ipv6Addr) -> bool {
    let mask = prefix_mask(len);
    (prefix.to_bits() & mask) == (a.to_bits() & mask)
}

pub fn prefix_mask(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len.min(128)))
    }
}

/// Zone identifiers per scope (RFC 4007), FreeBSD's `scope6_id.s6id_list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zones(pub [u32; 16]);

impl Zones {
    /// FreeBSD's `scope6_ifattach`: interface- and link-local zones are the
    /// interface's own, every wider scope shares zone 0 until configured.
    pub fn for_interface(zone: u32) -> Zones {
        let mut z = [0; 16];
        z[usize::from(scope::INTERFACE_LOCAL)] = zone;
        z[usize::from(scope::LINK_LOCAL)] = zone;
        Zones(z)
    }

    pub fn get(&self, scope: u8) -> u32 {
        self.0[usize::from(scope & 0x0f)]
    }
}

/// Multicast groups an interface listens to, at most this many.
pub const MAX_GROUPS: usize = 32;

/// One interface of the router.
#[derive(Debug, Clone)]
pub struct Ifnet {
    pub index: IfIndex,
    pub name: String,
    pub lladdr: EthernetAddress,
    /// `IN6_LINKMTU`: the largest IPv6 packet the link carries.
    pub mtu: u32,
    pub flags: IfFlags,
    pub zones: Zones,
    /// Unicast addresses; the link-local one comes first.
    pub addrs: Vec<Ifaddr>,
    /// Groups joined: all-nodes, all-routers and the solicited-node group
    /// of every unicast address.
    pub groups: ArrayVec<Ipv6Addr, MAX_GROUPS>,
    /// The interface's MAC label (empty while no policy labels interfaces).
    pub label: crate::mac::Label,
}

impl Ifnet {
    /// An interface with the link-local address FreeBSD's `in6_ifattach`
    /// would configure (loopback: `fe80::1`) and the groups a router joins.
    pub fn new(
        index: IfIndex,
        name: String,
        lladdr: EthernetAddress,
        mtu: u32,
        flags: IfFlags,
    ) -> Ifnet {
        let ll = if flags.loopback {
            Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)
        } else {
            ipv6::link_local_from_mac(&lladdr)
        };
        let mut ifp = Ifnet {
            index,
            name,
            lladdr,
            mtu,
            flags,
            zones: Zones::for_interface(u32::from(index) + 1),
            addrs: Vec::new(),
            groups: ArrayVec::new(),
            label: crate::mac::Label::default(),
        };
        ifp.groups.push(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1));
        ifp.groups.push(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2));
        ifp.add_addr(Ifaddr {
            addr: ll,
            prefix_len: 64,
        });
        ifp
    }

    /// Adds an address and joins its solicited-node group. Returns false if
    /// the group table is full (the address is still added).
    pub fn add_addr(&mut self, a: Ifaddr) -> bool {
        if !self.addrs.contains(&a) {
            self.addrs.push(a);
        }
        let group = ipv6::solicited_node(&a.addr);
        self.groups.contains(&group) || self.groups.try_push(group).is_ok()
    }

    /// The interface's link-local address: the source of redirects and of
    /// errors sent to link-local destinations.
    pub fn link_local(&self) -> Option<Ipv6Addr> {
        self.addrs
            .iter()
            .map(|a| a.addr)
            .find(ipv6::is_link_local_unicast)
    }

    pub fn is_member(&self, group: &Ipv6Addr) -> bool {
        self.groups.contains(group)
    }

    /// FreeBSD's `in6_setscope`: the zone of `a` as seen from this
    /// interface, or `None` where FreeBSD returns an error (the loopback
    /// address on an interface that is not a loopback).
    pub fn zone_of(&self, a: &Ipv6Addr) -> Option<u32> {
        if a.is_loopback() {
            return self.flags.loopback.then_some(0);
        }
        match ipv6::addr_scope(a) {
            scope::GLOBAL => Some(0),
            s => Some(self.zones.get(s)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(i: u16) -> Ifnet {
        Ifnet::new(
            i,
            format!("port{i}"),
            EthernetAddress([2, 0, 0, 0, 0, i as u8 + 1]),
            1500,
            IfFlags::default(),
        )
    }

    #[test]
    fn link_local_and_groups() {
        let mut p = port(0);
        assert_eq!(p.link_local(), Some("fe80::ff:fe00:1".parse().unwrap()));
        assert!(p.is_member(&"ff02::1".parse().unwrap()));
        assert!(p.is_member(&"ff02::2".parse().unwrap()));
        assert!(p.is_member(&"ff02::1:ff00:1".parse().unwrap()));
        assert!(p.add_addr(Ifaddr {
            addr: "2001:db8::42".parse().unwrap(),
            prefix_len: 64
        }));
        assert!(p.is_member(&"ff02::1:ff00:42".parse().unwrap()));
        assert!(!p.is_member(&"ff02::1:ff00:43".parse().unwrap()));
        let lo = Ifnet::new(
            9,
            "lo0".into(),
            EthernetAddress::default(),
            16384,
            IfFlags {
                loopback: true,
                ..Default::default()
            },
        );
        assert_eq!(lo.link_local(), Some("fe80::1".parse().unwrap()));
    }

    #[test]
    fn zones_as_in6_setscope() {
        let p = port(3);
        let zone = |t: &str| p.zone_of(&t.parse().unwrap());
        assert_eq!(zone("fe80::1"), Some(4));
        assert_eq!(zone("ff02::1"), Some(4));
        assert_eq!(zone("ff01::1"), Some(4));
        assert_eq!(zone("fec0::1"), Some(0));
        assert_eq!(zone("2001:db8::1"), Some(0));
        assert_eq!(zone("::1"), None);
        let lo = Ifnet::new(
            9,
            "lo0".into(),
            EthernetAddress::default(),
            16384,
            IfFlags {
                loopback: true,
                ..Default::default()
            },
        );
        assert_eq!(lo.zone_of(&"::1".parse().unwrap()), Some(0));
    }

    #[test]
    fn prefixes() {
        let a = Ifaddr {
            addr: "2001:db8:ff::1".parse().unwrap(),
            prefix_len: 64,
        };
        assert!(a.covers(&"2001:db8:ff::99".parse().unwrap()));
        assert!(!a.covers(&"2001:db8:fe::1".parse().unwrap()));
        assert!(prefix_matches(
            Ipv6Addr::UNSPECIFIED,
            0,
            &"2001:db8::1".parse().unwrap()
        ));
        assert_eq!(prefix_mask(128), u128::MAX);
    }
}
