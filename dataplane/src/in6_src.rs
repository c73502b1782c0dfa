//! Source address selection for packets the router originates, after
//! FreeBSD's `in6_selectsrc` (RFC 6724 §5): rule 1 (the destination itself),
//! rule 2 (appropriate scope), rule 5 (prefer the outgoing interface) and
//! rule 14 (longest matching prefix), ties to the first configured. The rules FreeBSD applies that
//! have no subject here (deprecated, temporary, CARP addresses) are left out.

use std::net::Ipv6Addr;

use crate::iface::Ifnet;
use crate::snapshot::Snapshot;
use crate::wire::ipv6::{self, scope};

/// The address the router sends from when it talks to `dst` out of `outif`.
pub fn select_source(snap: &Snapshot, dst: &Ipv6Addr, outif: &Ifnet) -> Option<Ipv6Addr> {
    let dscope = ipv6::addr_scope(dst);
    let mut best: Option<(Ipv6Addr, bool)> = None;
    for ifp in &snap.ifnets {
        if ifp.flags.loopback && !outif.flags.loopback {
            continue;
        }
        let on_outif = ifp.index == outif.index;
        for a in &ifp.addrs {
            let ascope = ipv6::addr_scope(&a.addr);
            // Link-local addresses of other interfaces are never candidates,
            // nor are addresses outside the destination's zone.
            if ascope <= scope::LINK_LOCAL && !on_outif {
                continue;
            }
            if dscope < scope::GLOBAL && ifp.zones.get(dscope) != outif.zones.get(dscope) {
                continue;
            }
            let better = match best {
                None => true,
                Some((b, b_on_outif)) => prefer(&a.addr, on_outif, &b, b_on_outif, dst, dscope),
            };
            if better {
                best = Some((a.addr, on_outif));
            }
        }
    }
    best.map(|(a, _)| a)
}

/// True if `a` beats the current choice `b`.
fn prefer(
    a: &Ipv6Addr,
    a_out: bool,
    b: &Ipv6Addr,
    b_out: bool,
    dst: &Ipv6Addr,
    dscope: u8,
) -> bool {
    // Rule 1: the destination itself.
    if a == dst {
        return true;
    }
    if b == dst {
        return false;
    }
    let (sa, sb) = (ipv6::addr_scope(a), ipv6::addr_scope(b));
    if sa != sb {
        return if sa < sb { sa >= dscope } else { sb < dscope };
    }
    if a_out != b_out {
        return a_out;
    }
    common_prefix(a, dst) > common_prefix(b, dst)
}

/// FreeBSD's `in6_matchlen`: the leading bits two addresses share.
fn common_prefix(a: &Ipv6Addr, b: &Ipv6Addr) -> u32 {
    (a.to_bits() ^ b.to_bits()).leading_zeros()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iface::{IfFlags, Ifaddr};
    use crate::wire::ethernet::Address as EthernetAddress;

    fn snap() -> Snapshot {
        let mut p0 = Ifnet::new(
            0,
            "port0".into(),
            EthernetAddress([2, 0, 0, 0, 0, 1]),
            1500,
            IfFlags::default(),
        );
        p0.add_addr(Ifaddr {
            addr: "2001:db8:ff::1".parse().unwrap(),
            prefix_len: 64,
        });
        let mut p1 = Ifnet::new(
            1,
            "port1".into(),
            EthernetAddress([2, 0, 0, 0, 0, 2]),
            1500,
            IfFlags::default(),
        );
        p1.add_addr(Ifaddr {
            addr: "2001:db8:1::1".parse().unwrap(),
            prefix_len: 64,
        });
        let p2 = Ifnet::new(
            2,
            "port2".into(),
            EthernetAddress([2, 0, 0, 0, 0, 3]),
            1500,
            IfFlags::default(),
        );
        Snapshot {
            ifnets: vec![p0, p1, p2],
            ..Default::default()
        }
    }

    fn sel(s: &Snapshot, dst: &str, out: usize) -> Ipv6Addr {
        select_source(s, &dst.parse().unwrap(), &s.ifnets[out]).unwrap()
    }

    #[test]
    fn global_destination_prefers_global_on_outgoing_interface() {
        let s = snap();
        assert_eq!(
            sel(&s, "2001:db8:1::5", 1),
            "2001:db8:1::1".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(
            sel(&s, "2001:db8:7::5", 0),
            "2001:db8:ff::1".parse::<Ipv6Addr>().unwrap()
        );
        // No global address on port2: a global one elsewhere beats its
        // link-local, the longest match decides between them.
        assert_eq!(
            sel(&s, "2001:db8:1::9", 2),
            "2001:db8:1::1".parse::<Ipv6Addr>().unwrap()
        );
    }

    #[test]
    fn link_local_destination_gets_the_outgoing_link_local() {
        let s = snap();
        assert_eq!(sel(&s, "fe80::99", 1), s.ifnets[1].link_local().unwrap());
        assert_eq!(sel(&s, "fe80::99", 2), s.ifnets[2].link_local().unwrap());
    }
}
