//! `nd6_output`'s side of neighbour discovery: whether an address is on a
//! link, and the per-core queues of packets held while their next hop is
//! being resolved.
//!
//! Resolution itself (solicitations, answers) is the control plane's; a
//! worker asks for it through a bounded queue and learns the answer from the
//! next snapshot.

use std::collections::VecDeque;
use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

use crate::iface::IfIndex;
use crate::snapshot::Snapshot;
use crate::wire::ethernet::Address as EthernetAddress;
use crate::wire::ipv6;

/// FreeBSD's `nd6_is_addr_neighbor`: a link-local address in the link's zone,
/// an address covered by a connected route or an address prefix of the
/// link, or one with a neighbour entry there.
pub fn is_neighbor(snap: &Snapshot, ifindex: IfIndex, addr: &Ipv6Addr) -> bool {
    let Some(ifp) = snap.ifnet(ifindex) else {
        return false;
    };
    if ipv6::is_link_local_unicast(addr) {
        return true;
    }
    if ifp.addrs.iter().any(|a| a.covers(addr)) || snap.neighbors.lookup(ifindex, addr).is_some() {
        return true;
    }
    snap.fib.lookup(addr).is_some_and(|id| {
        let r = snap.fib.route(id);
        r.ifindex == ifindex && !r.flags.gateway && !r.flags.blackhole && !r.flags.reject
    })
}

/// Most next hops a worker holds packets for at once; a packet for one more
/// is dropped as `nd6_resolve_slow` drops when it cannot create an entry.
pub const MAX_ENTRIES: usize = 64;

/// A held packet and whether it was received (and so has a fate to settle)
/// or originated by the router.
#[derive(Debug)]
pub struct Held<P> {
    pub pkt: P,
    pub received: bool,
}

#[derive(Debug)]
struct Entry<P> {
    ifindex: IfIndex,
    addr: Ipv6Addr,
    since: Instant,
    next_ask: Instant,
    /// Resolution has failed and the queue is being given up.
    failing: bool,
    queue: VecDeque<Held<P>>,
}

/// What happened to a packet offered to the hold queues.
#[derive(Debug)]
pub enum HoldResult<P> {
    /// Held; `ask` is true when resolution should be requested now.
    Held { ask: bool },
    /// Held, and the oldest packet of the full queue evicted to make room.
    Evicted(Held<P>),
    /// No entry could be made: the packet is handed back.
    NoEntry(Held<P>),
}

/// Events of [`HoldQueues::next_event`].
#[derive(Debug)]
pub enum Event<P> {
    /// The next hop is resolved: send the packet.
    Resolved(IfIndex, EthernetAddress, Held<P>),
    /// Resolution failed after the retries: FreeBSD answers the oldest
    /// packet (`first`) with Destination Unreachable and drops the rest.
    Failed(IfIndex, Held<P>, bool),
    /// Time to ask for resolution again.
    Ask(IfIndex, Ipv6Addr),
}

/// A worker's hold queues, one per unresolved next hop.
#[derive(Debug)]
pub struct HoldQueues<P> {
    entries: Vec<Entry<P>>,
    held: usize,
}

impl<P> Default for HoldQueues<P> {
    fn default() -> Self {
        HoldQueues {
            entries: Vec::with_capacity(MAX_ENTRIES),
            held: 0,
        }
    }
}

impl<P> Entry<P> {
    /// Takes the oldest packet; true if the entry is now empty.
    fn pop(&mut self) -> (Option<Held<P>>, bool) {
        let h = self.queue.pop_front();
        (h, self.queue.is_empty())
    }
}

impl<P> HoldQueues<P> {
    /// Packets held, in all queues.
    pub fn len(&self) -> usize {
        self.held
    }

    pub fn is_empty(&self) -> bool {
        self.held == 0
    }

    /// Whether a packet for `addr` on `ifindex` would be taken: its queue
    /// exists, or there is room for one more.
    pub fn can_hold(&self, ifindex: IfIndex, addr: &Ipv6Addr) -> bool {
        self.entries.len() < MAX_ENTRIES
            || self
                .entries
                .iter()
                .any(|e| e.ifindex == ifindex && e.addr == *addr)
    }

    /// Holds `item` for `addr` on `ifindex`, keeping at most `maxqlen`
    /// packets per next hop by evicting the oldest (`lltable_append_entry_queue`).
    pub fn hold(
        &mut self,
        ifindex: IfIndex,
        addr: Ipv6Addr,
        item: Held<P>,
        now: Instant,
        maxqlen: usize,
        retrans: Duration,
    ) -> HoldResult<P> {
        if let Some(e) = self
            .entries
            .iter_mut()
            .find(|e| e.ifindex == ifindex && e.addr == addr)
        {
            let evicted = if e.queue.len() >= maxqlen.max(1) {
                e.queue.pop_front()
            } else {
                self.held += 1;
                None
            };
            e.queue.push_back(item);
            return match evicted {
                Some(old) => HoldResult::Evicted(old),
                None => HoldResult::Held { ask: false },
            };
        }
        if self.entries.len() >= MAX_ENTRIES {
            return HoldResult::NoEntry(item);
        }
        let mut queue = VecDeque::with_capacity(maxqlen.max(1));
        queue.push_back(item);
        self.entries.push(Entry {
            ifindex,
            addr,
            since: now,
            next_ask: now + retrans,
            failing: false,
            queue,
        });
        self.held += 1;
        HoldResult::Held { ask: true }
    }

    /// The next thing to do: a packet whose next hop the snapshot now knows,
    /// a packet given up because its next hop stayed unresolved for
    /// `timeout`, or a new request for resolution every `retrans`. Called
    /// until it returns `None`; handling an event may hold more packets.
    pub fn next_event(
        &mut self,
        snap: &Snapshot,
        now: Instant,
        timeout: Duration,
        retrans: Duration,
    ) -> Option<Event<P>> {
        for i in 0..self.entries.len() {
            let e = &mut self.entries[i];
            let (ifindex, addr) = (e.ifindex, e.addr);
            let event = if let Some(mac) = snap.neighbors.lookup(ifindex, &addr) {
                let (h, empty) = e.pop();
                (h.map(|h| Event::Resolved(ifindex, mac, h)), empty)
            } else if e.failing || now.saturating_duration_since(e.since) >= timeout {
                let first = !e.failing;
                e.failing = true;
                let (h, empty) = e.pop();
                (h.map(|h| Event::Failed(ifindex, h, first)), empty)
            } else if now >= e.next_ask {
                e.next_ask = now + retrans;
                return Some(Event::Ask(ifindex, addr));
            } else {
                continue;
            };
            if event.1 {
                self.entries.swap_remove(i);
            }
            if let Some(ev) = event.0 {
                self.held -= 1;
                return Some(ev);
            }
        }
        None
    }

    /// Empties every queue, oldest first (at shutdown).
    pub fn drain(&mut self, mut f: impl FnMut(IfIndex, Held<P>)) {
        self.held = 0;
        for e in self.entries.drain(..) {
            for h in e.queue {
                f(e.ifindex, h);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neigh::Neighbors;

    const RETRANS: Duration = Duration::from_secs(1);

    fn held(n: u32) -> Held<u32> {
        Held {
            pkt: n,
            received: true,
        }
    }

    #[test]
    fn queue_keeps_the_newest_and_evicts_the_oldest() {
        let mut q = HoldQueues::default();
        let t0 = Instant::now();
        let a: Ipv6Addr = "fe80::1".parse().unwrap();
        assert!(matches!(
            q.hold(1, a, held(0), t0, 2, RETRANS),
            HoldResult::Held { ask: true }
        ));
        assert!(matches!(
            q.hold(1, a, held(1), t0, 2, RETRANS),
            HoldResult::Held { ask: false }
        ));
        match q.hold(1, a, held(2), t0, 2, RETRANS) {
            HoldResult::Evicted(h) => assert_eq!(h.pkt, 0),
            other => panic!("{other:?}"),
        }
        assert_eq!(q.len(), 2);
        let mut out = vec![];
        let mut snap = Snapshot::default();
        let mut n = Neighbors::default();
        n.insert(1, a, EthernetAddress([2, 0, 0, 0, 1, 1]));
        snap.neighbors = n;
        while let Some(e) = q.next_event(&snap, t0, RETRANS * 3, RETRANS) {
            out.push(e);
        }
        let pkts: Vec<u32> = out
            .into_iter()
            .map(|e| match e {
                Event::Resolved(1, _, h) => h.pkt,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(pkts, vec![1, 2]);
        assert!(q.is_empty());
    }

    #[test]
    fn asks_each_retrans_and_fails_after_timeout() {
        let mut q = HoldQueues::default();
        let t0 = Instant::now();
        let a: Ipv6Addr = "2001:db8::9".parse().unwrap();
        q.hold(0, a, held(7), t0, 16, RETRANS);
        q.hold(0, a, held(8), t0, 16, RETRANS);
        let snap = Snapshot::default();
        let mut asks = 0;
        for ms in [500, 1000, 1500, 2000] {
            while let Some(e) =
                q.next_event(&snap, t0 + Duration::from_millis(ms), RETRANS * 3, RETRANS)
            {
                match e {
                    Event::Ask(0, x) if x == a => asks += 1,
                    other => panic!("{other:?}"),
                }
            }
        }
        assert_eq!(asks, 2);
        let mut failed = vec![];
        while let Some(e) = q.next_event(&snap, t0 + RETRANS * 3, RETRANS * 3, RETRANS) {
            match e {
                Event::Failed(0, h, first) => failed.push((h.pkt, first)),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(failed, vec![(7, true), (8, false)]);
        assert!(q.is_empty());
    }

    #[test]
    fn entry_table_is_bounded() {
        let mut q = HoldQueues::default();
        let t0 = Instant::now();
        for i in 0..MAX_ENTRIES {
            let a = Ipv6Addr::from(i as u128 + 1);
            assert!(matches!(
                q.hold(0, a, held(0), t0, 16, RETRANS),
                HoldResult::Held { .. }
            ));
        }
        assert!(matches!(
            q.hold(0, Ipv6Addr::from(u128::MAX), held(9), t0, 16, RETRANS),
            HoldResult::NoEntry(_)
        ));
        let mut n = 0;
        q.drain(|_, _| n += 1);
        assert_eq!(n, MAX_ENTRIES);
        assert!(q.is_empty());
    }
}
