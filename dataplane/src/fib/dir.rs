//! Longest-prefix match for IPv6 as a multibit trie with controlled prefix
//! expansion: a first level indexed by the top 16 bits, then nodes of 256
//! entries, a byte of the address each, to /128 (DPDK's `rte_lpm6` and
//! `rte_fib6` are built the same way, with a 24-bit first level).
//!
//! A lookup reads one 4-byte entry per level it descends: a full Internet
//! table (prefixes no longer than /48) is at most five reads, the first
//! from a 256 KiB table that stays in cache. Entries hold either a route
//! id or the index of the node below. Beside each entry the trie keeps the
//! length of the prefix that filled it, read only by updates: a route is
//! added or removed in place, touching only the entries its prefix covers,
//! so a table follows a live BGP feed without being rebuilt.

use crate::iface::prefix_mask;

use super::RouteId;

/// Bits the first level resolves.
const ROOT_BITS: u32 = 16;
/// Entries of a node below the first level (a byte of the address).
const NODE: usize = 256;

/// Marks an entry that points to a node rather than naming a route.
const CHILD: u32 = 1 << 31;

/// An entry: 0 for no route, a route id plus one, or `CHILD | node`.
type Entry = u32;

/// Where an entry lives: the first level, or a node.
#[derive(Debug, Clone, Copy)]
enum Table {
    Root,
    Node(u32),
}

/// The trie. Memory is the first level (256 KiB of entries, 64 KiB of
/// lengths) and 1,280 bytes per node.
#[derive(Debug, Clone)]
pub struct Dir {
    root: Box<[Entry]>,
    root_len: Box<[u8]>,
    /// Nodes, `NODE` entries each, end to end.
    nodes: Vec<Entry>,
    nodes_len: Vec<u8>,
}

impl Default for Dir {
    fn default() -> Self {
        Dir {
            root: vec![0; 1 << ROOT_BITS].into_boxed_slice(),
            root_len: vec![0; 1 << ROOT_BITS].into_boxed_slice(),
            nodes: Vec::new(),
            nodes_len: Vec::new(),
        }
    }
}

/// The byte of `a` that selects an entry in a node at bit `at`.
#[inline]
fn byte(a: u128, at: u32) -> usize {
    ((a >> (120 - at)) & 0xff) as usize
}

impl Dir {
    /// The route id for `dst`, if a route covers it. Out of line: inlined
    /// into the route cache's burst lookup, where it runs only for the
    /// misses, the compiler laid the walk out so that every packet paid
    /// for it, hit or miss (callgrind, small table: 75 instructions a
    /// packet more).
    #[inline(never)]
    pub fn lookup(&self, dst: u128) -> Option<RouteId> {
        let mut e = self.root[(dst >> (128 - ROOT_BITS)) as usize];
        let mut at = ROOT_BITS;
        while e & CHILD != 0 {
            e = self.nodes[(e & !CHILD) as usize * NODE + byte(dst, at)];
            at += 8;
        }
        e.checked_sub(1)
    }

    /// Looks up every address of `dsts` into `out`, a level at a time
    /// across 32 of them, so that the reads of different addresses overlap
    /// rather than wait on each other. Every level runs over all the lanes
    /// in one tight loop rather than over a list of those still
    /// descending: a lane whose walk has ended is passed over. On a full
    /// table that does 1.5 times the lookups of the list, whose
    /// bookkeeping cost more than the lanes it skipped. (A load for ended
    /// lanes too, of a cached entry they then ignore, takes the branch out:
    /// that was slower on uniform destinations, faster on a spray.)
    pub fn lookup_many(&self, dsts: &[u128], out: &mut [Option<RouteId>]) {
        const LANES: usize = 32;
        for (dsts, out) in dsts.chunks(LANES).zip(out.chunks_mut(LANES)) {
            let mut lanes = [0 as Entry; LANES];
            let lanes = &mut lanes[..dsts.len()];
            let mut any = 0;
            for (e, &d) in lanes.iter_mut().zip(dsts) {
                *e = self.root[(d >> (128 - ROOT_BITS)) as usize];
                any |= *e;
            }
            let mut at = ROOT_BITS;
            while any & CHILD != 0 {
                any = 0;
                // The byte at `at` from the half of the address it is in,
                // chosen once a level rather than by a 128-bit shift a lane.
                let high = at < 64;
                let shift = if high { 56 - at } else { 120 - at };
                for (e, &d) in lanes.iter_mut().zip(dsts) {
                    if *e & CHILD != 0 {
                        let half = if high { (d >> 64) as u64 } else { d as u64 };
                        let b = (half >> shift) as usize & 0xff;
                        *e = self.nodes[(*e & !CHILD) as usize * NODE + b];
                    }
                    any |= *e;
                }
                at += 8;
            }
            for (o, e) in out.iter_mut().zip(lanes.iter()) {
                *o = e.checked_sub(1);
            }
        }
    }

    /// Gives back the room growth left beyond the nodes in use.
    pub fn shrink_to_fit(&mut self) {
        self.nodes.shrink_to_fit();
        self.nodes_len.shrink_to_fit();
    }

    /// Bytes the trie takes, as allocated.
    pub fn memory(&self) -> usize {
        self.root.len() * 5 + self.nodes.capacity() * 4 + self.nodes_len.capacity()
    }

    /// Nodes below the first level.
    pub fn nodes(&self) -> usize {
        self.nodes.len() / NODE
    }

    /// Routes `prefix/len` to `id`: every address it covers whose current
    /// route is no more specific now gets `id`.
    pub fn insert(&mut self, prefix: u128, len: u8, id: RouteId) {
        let (table, lo, n) = self.span(prefix, len, true);
        self.fill(table, lo, n, |_, l| l <= len, id + 1, len);
    }

    /// Undoes [`Dir::insert`] of `prefix/len` (route `id`): what it filled
    /// goes to `cover`, the next shorter route covering it (its id and
    /// length), or to no route.
    pub fn remove(&mut self, prefix: u128, len: u8, id: RouteId, cover: Option<(RouteId, u8)>) {
        let (table, lo, n) = self.span(prefix, len, false);
        let (to, to_len) = cover.map_or((0, 0), |(c, l)| (c + 1, l));
        self.fill(table, lo, n, |e, _| e == id + 1, to, to_len);
    }

    /// The table and the entries `prefix/len` covers at its level, making
    /// the nodes on the way (if `make`; a removal walks nodes an insertion
    /// made).
    fn span(&mut self, prefix: u128, len: u8, make: bool) -> (Table, usize, usize) {
        let len = u32::from(len.min(128));
        let prefix = prefix & prefix_mask(len as u8);
        if len <= ROOT_BITS {
            let lo = (prefix >> (128 - ROOT_BITS)) as usize;
            return (Table::Root, lo, 1 << (ROOT_BITS - len));
        }
        let mut table = Table::Root;
        let mut idx = (prefix >> (128 - ROOT_BITS)) as usize;
        let mut at = ROOT_BITS;
        loop {
            let node = match self.get(table, idx) {
                (e, _) if e & CHILD != 0 => e & !CHILD,
                (e, l) if make => {
                    let node = (self.nodes.len() / NODE) as u32;
                    self.nodes.extend(std::iter::repeat_n(e, NODE));
                    self.nodes_len.extend(std::iter::repeat_n(l, NODE));
                    self.set(table, idx, CHILD | node, l);
                    node
                }
                // Nothing was inserted below here: there is nothing to undo.
                _ => return (table, idx, 0),
            };
            table = Table::Node(node);
            if len <= at + 8 {
                let bits = len - at;
                let lo = byte(prefix, at) & !(0xff >> bits);
                return (table, lo, 1 << (8 - bits));
            }
            idx = byte(prefix, at);
            at += 8;
        }
    }

    #[inline]
    fn get(&self, t: Table, i: usize) -> (Entry, u8) {
        match t {
            Table::Root => (self.root[i], self.root_len[i]),
            Table::Node(n) => {
                let at = n as usize * NODE + i;
                (self.nodes[at], self.nodes_len[at])
            }
        }
    }

    #[inline]
    fn set(&mut self, t: Table, i: usize, e: Entry, len: u8) {
        match t {
            Table::Root => {
                self.root[i] = e;
                self.root_len[i] = len;
            }
            Table::Node(n) => {
                let at = n as usize * NODE + i;
                self.nodes[at] = e;
                self.nodes_len[at] = len;
            }
        }
    }

    /// Sets `n` entries from `lo` of `t`, and everything in the nodes below
    /// them, to `(to, to_len)` where `replace(entry, length)` says so.
    fn fill(
        &mut self,
        t: Table,
        lo: usize,
        n: usize,
        replace: impl Fn(Entry, u8) -> bool + Copy,
        to: Entry,
        to_len: u8,
    ) {
        for i in lo..lo + n {
            match self.get(t, i) {
                (e, _) if e & CHILD != 0 => {
                    self.fill(Table::Node(e & !CHILD), 0, NODE, replace, to, to_len)
                }
                (e, l) if replace(e, l) => self.set(t, i, to, to_len),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fastrand::Rng;

    /// The reference: every live route, the longest covering one wins.
    fn naive(routes: &[(u128, u8, bool)], dst: u128) -> Option<RouteId> {
        routes
            .iter()
            .enumerate()
            .filter(|&(_, &(p, l, live))| live && dst & prefix_mask(l) == p)
            .max_by_key(|&(_, &(_, l, _))| l)
            .map(|(id, _)| id as RouteId)
    }

    /// A prefix near the others: a few top bits from a small set, so that
    /// prefixes nest and share nodes, then random bits to its length.
    fn prefix(r: &mut Rng) -> (u128, u8) {
        let len = [
            0, 8, 16, 17, 24, 29, 32, 33, 40, 44, 47, 48, 56, 64, 96, 127, 128,
        ][r.u64(..17) as usize];
        let base = (0x2001_0db8u128 + r.u64(..4) as u128) << 96;
        let p = (base | (u128::from(r.u64(..)) << 64 | u128::from(r.u64(..))) >> r.u64(..40))
            & prefix_mask(len);
        (p, len)
    }

    /// An address inside or near a route of the table.
    fn address(r: &mut Rng, routes: &[(u128, u8, bool)]) -> u128 {
        let (p, l, _) = routes[r.u64(..routes.len() as u64) as usize];
        let noise = u128::from(r.u64(..)) << 64 | u128::from(r.u64(..));
        p | (noise & !prefix_mask(l)) ^ (u128::from(r.u64(..2)) << (r.u64(..128) as u32))
    }

    /// Inserts and removes at random, checking every step against the
    /// reference with addresses around the routes.
    #[test]
    fn matches_a_naive_lpm_through_inserts_and_removes() {
        for seed in 1..=40u64 {
            let mut r = Rng::with_seed(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let mut dir = Dir::default();
            let mut routes: Vec<(u128, u8, bool)> = Vec::new();
            for step in 0..300 {
                let live: Vec<usize> = (0..routes.len()).filter(|&i| routes[i].2).collect();
                if !live.is_empty() && r.u64(..3) == 0 {
                    let id = live[r.u64(..live.len() as u64) as usize];
                    let (p, l, _) = routes[id];
                    routes[id].2 = false;
                    let cover = (0..l).rev().find_map(|cl| {
                        routes
                            .iter()
                            .position(|&(q, ql, live)| live && ql == cl && p & prefix_mask(cl) == q)
                            .map(|c| (c as RouteId, cl))
                    });
                    dir.remove(p, l, id as RouteId, cover);
                } else {
                    let (p, l) = prefix(&mut r);
                    if routes
                        .iter()
                        .any(|&(q, ql, live)| live && (q, ql) == (p, l))
                    {
                        continue;
                    }
                    routes.push((p, l, true));
                    dir.insert(p, l, (routes.len() - 1) as RouteId);
                }
                for _ in 0..20 {
                    let a = address(&mut r, &routes);
                    assert_eq!(
                        dir.lookup(a),
                        naive(&routes, a),
                        "seed {seed} step {step} {a:#x}"
                    );
                }
            }
        }
    }

    #[test]
    fn many_lookups_agree_with_one_at_a_time() {
        let mut r = Rng::with_seed(7);
        let mut dir = Dir::default();
        let mut routes = Vec::new();
        for id in 0..2000 {
            let (p, l) = prefix(&mut r);
            routes.push((p, l, true));
            dir.insert(p, l, id);
        }
        let dsts: Vec<u128> = (0..1000).map(|_| address(&mut r, &routes)).collect();
        let mut out = vec![None; dsts.len()];
        dir.lookup_many(&dsts, &mut out);
        for (d, o) in dsts.iter().zip(&out) {
            assert_eq!(*o, dir.lookup(*d));
        }
    }

    #[test]
    fn edges_of_the_address_space() {
        let mut dir = Dir::default();
        assert_eq!(dir.lookup(0), None);
        dir.insert(0, 0, 0);
        dir.insert(u128::MAX, 128, 1);
        dir.insert(0, 128, 2);
        dir.insert(prefix_mask(16), 16, 3);
        assert_eq!(dir.lookup(0), Some(2));
        assert_eq!(dir.lookup(1), Some(0));
        assert_eq!(dir.lookup(u128::MAX), Some(1));
        assert_eq!(dir.lookup(u128::MAX - 1), Some(3));
        dir.remove(prefix_mask(16), 16, 3, Some((0, 0)));
        assert_eq!(dir.lookup(u128::MAX - 1), Some(0));
        dir.remove(0, 0, 0, None);
        assert_eq!(dir.lookup(1), None);
        assert_eq!(dir.lookup(u128::MAX), Some(1));
    }
}
