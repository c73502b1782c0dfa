//! The control thread's side of the upcall queues: packets for the router,
//! neighbour resolution requests and log lines.

use std::net::Ipv6Addr;

use controlplane::local::{LocalStats, ResolveRequest};
use dataplane::PacketBuf;
use dataplane::forward::LogEvent;
use dataplane::mac::Policies;

use crate::worker::Upcalls;

/// Unresolved neighbours named on the terminal before the rest are only
/// counted.
const NOTICES: usize = 8;

/// Drains the upcall queues and keeps their counters.
pub struct Control {
    pub local: LocalStats,
    ifnames: Vec<String>,
    /// Neighbours asked for and not yet reported.
    unresolved: Vec<ResolveRequest>,
}

impl Control {
    pub fn new(ifnames: Vec<String>) -> Control {
        Control {
            local: LocalStats::default(),
            ifnames,
            unresolved: Vec::new(),
        }
    }

    /// Interface names by index.
    pub fn ifnames(&self) -> &[String] {
        &self.ifnames
    }

    fn ifname(&self, i: u16) -> &str {
        self.ifnames.get(usize::from(i)).map_or("?", String::as_str)
    }

    /// Handles what is queued; returns how many items there were. A
    /// punted packet's life ends here, its label with it.
    pub fn poll(&mut self, up: &Upcalls, mac: &Policies) -> usize {
        let mut n = 0;
        while let Some(mut m) = up.punt.pop() {
            self.local.count_punt(m.data());
            if mac.labels_mbufs()
                && let Some(l) = m.label_mut()
            {
                mac.mbuf_destroy(l);
            }
            n += 1;
        }
        while let Some(r) = up.resolve.pop() {
            self.local.nd6_resolve_requests += 1;
            if !self.unresolved.contains(&r) && self.unresolved.len() < NOTICES {
                // Solicitations come with the control plane's own stack;
                // until then a neighbour is known only from the config.
                eprintln!(
                    "labelgate: nd6: {} on {} has no link-layer address (add `neigh add {} lladdr ... dev {}`)",
                    r.addr,
                    self.ifname(r.ifindex),
                    r.addr,
                    self.ifname(r.ifindex)
                );
                self.unresolved.push(r);
                if self.unresolved.len() == NOTICES {
                    eprintln!(
                        "labelgate: nd6: further unresolved neighbours are only counted (nd6_resolve_requests)"
                    );
                }
            }
            n += 1;
        }
        while let Some(ev) = up.log.pop() {
            self.local.log_lines += 1;
            eprintln!("labelgate: {}", self.format(&ev));
            n += 1;
        }
        n
    }

    /// The seed's two "cannot forward" lines.
    fn format(&self, ev: &LogEvent) -> String {
        let (s, d): (Ipv6Addr, Ipv6Addr) = (ev.src, ev.dst);
        match ev.outif {
            None => format!(
                "cannot forward from {s} to {d} nxt {} received on {}",
                ev.nxt,
                self.ifname(ev.rcvif)
            ),
            Some(o) => format!(
                "cannot forward src {s}, dst {d}, nxt {}, rcvif {}, outif {}",
                ev.nxt,
                self.ifname(ev.rcvif),
                self.ifname(o)
            ),
        }
    }
}
