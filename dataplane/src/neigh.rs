//! The neighbour cache as a snapshot holds it: resolved link-layer
//! addresses per (interface, address).

use std::net::Ipv6Addr;

use hashbrown::HashMap;

use crate::iface::IfIndex;
use crate::wire::ethernet::Address as EthernetAddress;

#[derive(Debug, Clone, Default)]
pub struct Neighbors {
    map: HashMap<(IfIndex, Ipv6Addr), EthernetAddress>,
}

impl Neighbors {
    pub fn insert(&mut self, ifindex: IfIndex, addr: Ipv6Addr, lladdr: EthernetAddress) {
        self.map.insert((ifindex, addr), lladdr);
    }

    #[inline]
    pub fn lookup(&self, ifindex: IfIndex, addr: &Ipv6Addr) -> Option<EthernetAddress> {
        self.map.get(&(ifindex, *addr)).copied()
    }

    pub fn iter(&self) -> impl Iterator<Item = (IfIndex, Ipv6Addr, EthernetAddress)> + '_ {
        self.map.iter().map(|(&(i, a), &m)| (i, a, m))
    }
}
