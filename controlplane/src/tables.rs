//! The authoritative tables, and the snapshots built from them.

use std::net::Ipv6Addr;

use dataplane::Snapshot;
use dataplane::fib::{Fib, Route};
use dataplane::iface::{IfFlags, IfIndex, Ifaddr, Ifnet, Zones, prefix_mask};
use dataplane::neigh::Neighbors;
use dataplane::pfil::Pfil;
use dataplane::wire::ethernet::Address as EthernetAddress;
use dataplane::wire::ipv6;

use dataplane::mac::{Cred, Kind, Label};

use crate::config::{Config, Dev};

/// The default link MTU, Ethernet's.
pub const DEFAULT_MTU: u32 = 1500;
/// The loopback's MTU, FreeBSD's `LOMTU`.
pub const LOOPBACK_MTU: u32 = 16384;

/// What the data plane's ports are, as DPDK reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortInfo {
    pub mac: EthernetAddress,
}

/// The router's tables: the configuration applied to the ports found.
#[derive(Debug)]
pub struct Tables {
    config: Config,
    ports: Vec<PortInfo>,
    generation: u64,
    /// The subject the configuration acts as.
    cred: Cred,
    /// Each interface's MAC label, by ifindex (the loopback last): made
    /// once, when the interfaces attach, and copied into every snapshot
    /// as the same interface's label.
    labels: Vec<Label>,
}

impl Tables {
    /// Checks that every port the configuration names exists.
    pub fn new(config: Config, ports: Vec<PortInfo>) -> Result<Tables, String> {
        if usize::from(config.ports) > ports.len() {
            return Err(format!(
                "{}: names port{} but DPDK found {} port{}",
                config.file.display(),
                config.ports - 1,
                ports.len(),
                if ports.len() == 1 { "" } else { "s" }
            ));
        }
        let cred = crate::mac::config_cred(config.mac.policies());
        let mut t = Tables {
            config,
            ports,
            generation: 0,
            cred,
            labels: Vec::new(),
        };
        let p = t.config.mac.policies().clone();
        for ifp in t.interfaces() {
            let text = t
                .config
                .links
                .get(usize::from(ifp.index))
                .and_then(|l| l.label.as_deref());
            match crate::mac::interface_label(&p, &t.cred, &ifp, text) {
                Ok(l) => t.labels.push(l),
                Err(e) => {
                    t.release_labels();
                    return Err(format!("{}: {e}", t.config.file.display()));
                }
            }
        }
        Ok(t)
    }

    /// The data plane runs: from now on a NOTLATE policy cannot load.
    pub fn data_plane_started(&mut self) {
        self.config.mac.set_late();
    }

    /// Destroys the interfaces' and the credential's labels: the
    /// interfaces detach. Every snapshot's copies go with them.
    pub fn release_labels(&mut self) {
        let p = self.config.mac.policies();
        for mut l in self.labels.drain(..) {
            p.label_destroy(Kind::Ifnet, &mut l);
        }
        if self.cred.label != Label::default() {
            p.label_destroy(Kind::Cred, &mut self.cred.label);
            self.cred.label = Label::default();
        }
    }

    /// Each interface's label as text, by ifindex (empty where no policy
    /// labels interfaces).
    pub fn label_texts(&self) -> Vec<String> {
        let p = self.config.mac.policies();
        self.labels
            .iter()
            .map(|l| p.label_text(Kind::Ifnet, l))
            .collect()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The loopback comes after the ports.
    pub fn loopback(&self) -> IfIndex {
        self.ports.len() as IfIndex
    }

    fn ifindex(&self, dev: Dev) -> IfIndex {
        match dev {
            Dev::Port(n) => n,
            Dev::Loopback => self.loopback(),
        }
    }

    /// Builds the next snapshot: interfaces with their link-local and
    /// configured addresses, connected and configured routes, neighbours,
    /// filters and settings.
    pub fn snapshot(&mut self) -> Result<Snapshot, String> {
        self.generation += 1;
        let mut ifnets = self.interfaces();
        for (ifp, label) in ifnets.iter_mut().zip(&self.labels) {
            ifp.label = label.clone();
        }
        let cfg = &self.config;
        for a in &cfg.addrs {
            let ifp = &mut ifnets[usize::from(self.ifindex(a.dev))];
            if !ifp.add_addr(Ifaddr {
                addr: a.addr,
                prefix_len: a.prefix_len,
            }) {
                return Err(format!(
                    "{}: too many addresses on {}",
                    cfg.file.display(),
                    a.dev
                ));
            }
        }

        // Connected routes first, so a configured route for the same prefix
        // replaces them.
        let mut routes = Vec::new();
        for ifp in ifnets.iter().filter(|i| !i.flags.loopback) {
            for a in ifp
                .addrs
                .iter()
                .filter(|a| !ipv6::is_link_local_unicast(&a.addr) && a.prefix_len < 128)
            {
                routes.push(Route {
                    prefix: Ipv6Addr::from(a.addr.to_bits() & prefix_mask(a.prefix_len)),
                    prefix_len: a.prefix_len,
                    gateway: None,
                    ifindex: ifp.index,
                    flags: Default::default(),
                });
            }
        }
        for r in &cfg.routes {
            routes.push(Route {
                prefix: r.prefix,
                prefix_len: r.prefix_len,
                gateway: r.via,
                ifindex: self.ifindex(r.dev.expect("Config::check resolves every route's device")),
                flags: r.flags,
            });
        }

        let mut neighbors = Neighbors::default();
        for n in &cfg.neighs {
            neighbors.insert(self.ifindex(n.dev), n.addr, n.lladdr);
        }
        let local = ifnets
            .iter()
            .flat_map(|i| i.addrs.iter().map(|a| a.addr))
            .collect();

        Ok(Snapshot {
            generation: self.generation,
            ifnets,
            fib: Fib::new(routes),
            neighbors,
            local,
            pfil: Pfil::new(cfg.filters.iter().map(|f| f.rule.clone()).collect()),
            settings: cfg.settings.clone(),
            mac: cfg.mac.policies().clone(),
        })
    }

    /// The interfaces as they attach: the ports, then the loopback, with
    /// their link settings, link-local addresses and zones.
    fn interfaces(&self) -> Vec<Ifnet> {
        let cfg = &self.config;
        let mut ifnets = Vec::with_capacity(self.ports.len() + 1);
        for (i, port) in self.ports.iter().enumerate() {
            let link = cfg.link(i as u16);
            let flags = IfFlags {
                loopback: false,
                pointopoint: link.pointopoint,
            };
            let mut ifp = Ifnet::new(
                i as IfIndex,
                format!("port{i}"),
                link.lladdr.unwrap_or(port.mac),
                link.mtu.unwrap_or(DEFAULT_MTU),
                flags,
            );
            let mut zones = Zones::for_interface(i as u32 + 1);
            for &(scope, zone) in &link.zones {
                zones.0[usize::from(scope)] = zone;
            }
            ifp.zones = zones;
            ifnets.push(ifp);
        }
        let lo = self.loopback();
        let mut loopback = Ifnet::new(
            lo,
            "lo0".into(),
            EthernetAddress::default(),
            LOOPBACK_MTU,
            IfFlags {
                loopback: true,
                pointopoint: false,
            },
        );
        loopback.zones = Zones::for_interface(u32::from(lo) + 1);
        loopback.add_addr(Ifaddr {
            addr: Ipv6Addr::LOCALHOST,
            prefix_len: 128,
        });
        ifnets.push(loopback);
        ifnets
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn tables(text: &str, ports: usize) -> Result<Tables, String> {
        let cfg = Config::parse(Path::new("t.conf"), text).unwrap();
        let ports = (0..ports)
            .map(|i| PortInfo {
                mac: EthernetAddress([2, 0x70, 0x63, 0x61, 0x70, i as u8]),
            })
            .collect();
        Tables::new(cfg, ports)
    }

    #[test]
    fn builds_interfaces_routes_and_neighbours() {
        let mut t = tables(
            "link set port0 up\n\
             link set port1 mtu 9000 lladdr 02:00:00:00:00:01 zone 7\n\
             addr add 2001:db8:ff::1/64 dev port0\n\
             route add 2001:db8:1::/48 via fe80::1 dev port1\n\
             route add 2001:db8:dead::/48 blackhole\n\
             neigh add fe80::1 lladdr 02:00:00:00:01:01 dev port1\n",
            2,
        )
        .unwrap();
        let s = t.snapshot().unwrap();
        assert_eq!(s.generation, 1);
        assert_eq!(s.ifnets.len(), 3);
        assert_eq!(s.ifnets[2].name, "lo0");
        assert_eq!(
            s.ifnets[0].lladdr,
            EthernetAddress([2, 0x70, 0x63, 0x61, 0x70, 0])
        );
        assert_eq!(s.ifnets[0].mtu, DEFAULT_MTU);
        assert_eq!(s.ifnets[1].lladdr, EthernetAddress([2, 0, 0, 0, 0, 1]));
        assert_eq!(s.ifnets[1].mtu, 9000);
        assert_eq!(s.ifnets[1].zones.get(2), 7);
        assert_eq!(
            s.ifnets[0].zones.get(2),
            1,
            "port0's default link zone is its index + 1"
        );
        assert!(s.ifnets[2].flags.loopback);
        let ours = |a: &str, on: usize| s.is_ours(&a.parse().unwrap(), &s.ifnets[on]);
        assert!(ours("2001:db8:ff::1", 1));
        assert!(
            ours("fe80::ff:fe00:1", 1),
            "port1's link-local from its lladdr"
        );
        assert!(
            !ours("fe80::ff:fe00:1", 0),
            "port1's link-local is not ours on port0's link"
        );
        assert!(ours("::1", 2));
        let lookup = |a: &str| *s.fib.route(s.fib.lookup(&a.parse().unwrap()).unwrap());
        assert_eq!(lookup("2001:db8:ff::9").ifindex, 0, "connected route");
        assert_eq!(
            lookup("2001:db8:1::9").gateway,
            Some("fe80::1".parse().unwrap())
        );
        let bh = lookup("2001:db8:dead::1");
        assert!(bh.flags.blackhole && bh.ifindex == 2);
        assert!(s.neighbors.lookup(1, &"fe80::1".parse().unwrap()).is_some());
        assert_eq!(t.snapshot().unwrap().generation, 2);
    }

    #[test]
    fn ports_must_exist() {
        let e = tables(
            "link set port0 up\nlink set port1 up\nlink set port2 up\nlink set port3 up\n\
             addr add 2001:db8::1/64 dev port3",
            2,
        )
        .unwrap_err();
        assert_eq!(e, "t.conf: names port3 but DPDK found 2 ports");
    }
}
