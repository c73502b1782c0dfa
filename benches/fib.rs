//! labelgate's FIB beside DPDK's `rte_lpm6` and `rte_fib6` (`TRIE`, 4-byte
//! next hops) on one table and one set of destinations: lookups per second
//! one at a time and in bursts of 32 over destinations drawn uniformly from
//! the table's prefixes and over a random spray, then (once each, printed
//! in a table at the end with the lookup rates) build time, memory and
//! updates per second.
//!
//!   cargo bench --bench fib
//!   LABELGATE_TABLE=../shared/data/ris-ipv6-20260511-as3333-table.txt.gz \
//!   LABELGATE_UPDATES=../shared/data/ris-ipv6-20260511-as3333-updates.txt.gz \
//!   cargo bench --bench fib
//!
//! `LABELGATE_TABLE` is a prefix per line (gzip if it ends in .gz), read
//! in place; without it a table of 250,000 prefixes shaped like today's
//! default-free zone is made. `LABELGATE_UPDATES` is a stream of
//! `A PREFIX` / `W PREFIX` lines replayed in order; without it a stream
//! with the real one's mix is made. DPDK's tables are on 4 KiB pages
//! (`--no-huge`), or with `LABELGATE_HUGEPAGES=1` on the huge pages the
//! system has reserved, as in a deployment (the RIS table's need about
//! 1.2 GB of them: `echo 640 > /proc/sys/vm/nr_hugepages`); labelgate's
//! trie is on the heap either way. Prefixes are /1 to /128: `rte_lpm6`
//! holds no default route. (DPDK 22.11's `rte_fib6` misroutes with
//! prefixes shorter than /8 among others, which the agreement check below
//! would stop the bench on; real tables have none.)
//!
//! Route `i` of the table has next hop `i` in the DPDK tables, labelgate's
//! answers are mapped back to the route they name, and the three must give
//! the same answer for every destination before anything is timed. The
//! DPDK tables are sized to what the table and the update stream need:
//! `rte_lpm6` its tbl8 need and a sixteenth more; `rte_fib6`, whose reservation per route
//! overcounts what it uses and grows under churn, the fewest tbl8s found
//! (by building and replaying) to take the table and every update. Its
//! build is timed last, on DPDK memory those trials have already touched.

use std::collections::{HashMap, HashSet};
use std::hint::black_box;
use std::io::BufRead;
use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};
use dataplane::fib::{Fib, Route, RouteFlags};
use dataplane::iface::prefix_mask;
use fastrand::Rng;
use labelgate::dpdk::{BURST, DpdkError, Eal, Fib6, Lpm6, NextHopSize};

/// Destinations drawn uniformly over the prefixes: more than a 64k-flow
/// working set, as in `perf/compare.py`.
const UNIFORM: usize = 1 << 16;
/// The spray: enough that no destination comes back within a pass.
const SPRAY: usize = 1 << 20;
/// The errno of a DPDK table that has no room left.
const ENOSPC: i32 = 28;

type Prefix = (u128, u8);

fn lines(path: &str) -> Vec<String> {
    let bytes = if path.ends_with(".gz") {
        std::process::Command::new("zcat")
            .arg(path)
            .output()
            .unwrap_or_else(|e| panic!("zcat {path}: {e}"))
            .stdout
    } else {
        std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    bytes.lines().map_while(Result::ok).collect()
}

fn parse(p: &str) -> Option<Prefix> {
    let (a, l) = p.trim().split_once('/')?;
    let len: u8 = l.parse().ok()?;
    let a = a.parse::<Ipv6Addr>().ok()?.to_bits();
    (1..=128)
        .contains(&len)
        .then(|| (a & prefix_mask(len), len))
}

/// `n` distinct prefixes with the default-free zone's lengths (/48 45%,
/// /32 11%, /44 10%, /40 9%, /36 4%, /47 4%, the rest from /16 to /64),
/// under 2000::/3 and clustered as allocations are: 40,000 /32s under 600
/// /20s, longer prefixes inside one of 12,000 of them (most /32s carry no
/// more-specifics) and within a few of its /40s.
fn synthesized(r: &mut Rng, n: usize) -> Vec<Prefix> {
    let shares = [(48, 45), (32, 11), (44, 10), (40, 9), (36, 4), (47, 4)];
    let blocks: Vec<u128> = (0..600)
        .map(|_| (0x2u128 << 125) | (r.u128(..) >> 3) & prefix_mask(20))
        .collect();
    let allocations: Vec<u128> = (0..40_000)
        .map(|_| blocks[r.usize(..blocks.len())] | (r.u128(..) >> 20) & prefix_mask(32))
        .collect();
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let pick = r.u64(..) % 100;
        let mut acc = 0;
        let len = shares
            .iter()
            .find(|(_, s)| {
                acc += s;
                pick < acc
            })
            .map_or_else(|| 16 + (r.u64(..) % 49) as u8, |&(l, _)| l);
        // Drawn again until new, so that every length keeps its share, but
        // not forever: the 600 blocks hold only so many /16s to /20s.
        for _ in 0..64 {
            let a = allocations[r.usize(..if len > 32 { 12_000 } else { allocations.len() })];
            let site = u128::from(r.u64(..) % 4) << (128 - 40);
            let p = (a | site | (r.u128(..) & !prefix_mask(40))) & prefix_mask(len);
            if seen.insert((p, len)) {
                out.push((p, len));
                break;
            }
        }
    }
    out
}

/// One line of an update stream: announce (or re-announce) or withdraw.
#[derive(Clone, Copy)]
struct Update {
    announce: bool,
    prefix: Prefix,
}

/// A stream with the mix of a real peer's day (AS3333's: 95.6% re-announce
/// a prefix already held, 2.2% announce one not held, 2.2% withdraw one):
/// `fresh` are prefixes not in the table, announced first among those not
/// held.
fn synthesized_updates(r: &mut Rng, table: &[Prefix], fresh: Vec<Prefix>) -> Vec<Update> {
    let mut live = table.to_vec();
    let mut gone = fresh;
    (0..250_000)
        .map(|_| {
            let pick = r.u64(..) % 1000;
            if pick < 22 && !live.is_empty() {
                let p = live.swap_remove(r.usize(..live.len()));
                gone.push(p);
                Update {
                    announce: false,
                    prefix: p,
                }
            } else if pick < 44 && !gone.is_empty() {
                let p = gone.swap_remove(r.usize(..gone.len()));
                live.push(p);
                Update {
                    announce: true,
                    prefix: p,
                }
            } else {
                Update {
                    announce: true,
                    prefix: live[r.usize(..live.len())],
                }
            }
        })
        .collect()
}

/// Route `n` for labelgate, whose interface goes with `n` so that a
/// re-announcement changes the route, as a path change does.
fn route(p: Prefix, n: usize) -> Route {
    Route {
        prefix: Ipv6Addr::from(p.0),
        prefix_len: p.1,
        gateway: None,
        ifindex: (n % 4) as u16,
        flags: RouteFlags::default(),
    }
}

/// tbl8 groups `rte_lpm6` needs for `prefixes`: one for every distinct
/// path of 24, 32, 40, ... bits that a longer prefix passes through.
fn tbl8s_needed<'a>(prefixes: impl Iterator<Item = &'a Prefix>) -> usize {
    let mut groups = HashSet::new();
    for &(p, len) in prefixes {
        for bits in (24..u32::from(len)).step_by(8) {
            groups.insert((bits, p >> (128 - bits)));
        }
    }
    groups.len()
}

/// The most tbl8 groups `rte_fib6` reserves for `prefixes` added one
/// after another: each route longer than /24 reserves at most one per byte
/// past the 24th.
fn fib6_tbl8s_at_most<'a>(prefixes: impl Iterator<Item = &'a Prefix>) -> usize {
    prefixes
        .map(|&(_, len)| usize::from(len).div_ceil(8).saturating_sub(3))
        .sum()
}

/// An `rte_fib6` of `tbl8s` groups with route `i` of `table` at next hop `i`.
fn fib6_with(eal: &Eal, max_routes: u32, tbl8s: u32, table: &[Prefix]) -> Result<Fib6, DpdkError> {
    let mut f = Fib6::new(eal, max_routes, tbl8s, NextHopSize::Four)?;
    for (i, &(p, l)) in table.iter().enumerate() {
        f.add(Ipv6Addr::from(p), l, i as u64)?;
    }
    Ok(f)
}

/// Whether an `rte_fib6` of `tbl8s` groups takes `table` and then every
/// update of `updates`: its reservation of tbl8s grows under the churn of
/// withdrawals and announcements past what the routes it holds reserve.
fn fib6_takes(
    eal: &Eal,
    max_routes: u32,
    tbl8s: u32,
    table: &[Prefix],
    updates: &[Update],
) -> bool {
    let full = |r: Result<_, DpdkError>| matches!(r, Err(e) if e.errno == ENOSPC);
    let mut f = match fib6_with(eal, max_routes, tbl8s, table) {
        Err(e) if e.errno == ENOSPC => return false,
        f => f.unwrap_or_else(|e| panic!("sizing rte_fib6: {e}")),
    };
    !updates.iter().enumerate().any(|(i, u)| {
        let a = Ipv6Addr::from(u.prefix.0);
        if u.announce {
            full(f.add(a, u.prefix.1, u64::from(hop(i))))
        } else {
            full(f.delete(a, u.prefix.1).map(drop))
        }
    })
}

/// The fewest tbl8 groups (to within an eighth) with which `rte_fib6`
/// takes the table and its updates, from what the routes use up to
/// `most`, doubled while that is not enough (up to four times).
fn fib6_tbl8s(eal: &Eal, max_routes: u32, table: &[Prefix], u: &[Update], most: usize) -> u32 {
    let takes = |n: usize| fib6_takes(eal, max_routes, n as u32, table, u);
    let (mut lo, mut hi) = (tbl8s_needed(table.iter()), most);
    while !takes(hi) {
        assert!(
            hi < 4 * most,
            "rte_fib6 takes the updates with no tbl8 count tried"
        );
        (lo, hi) = (hi, 2 * hi);
    }
    while hi - lo > hi / 8 {
        let mid = lo + (hi - lo) / 2;
        if takes(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi as u32
}

/// The next hop of line `i` of an update stream: a re-announcement comes
/// with a new next hop, as a path change does; 20 bits of the line number
/// fit every table.
fn hop(i: usize) -> u32 {
    (i & 0xf_ffff) as u32
}

/// Starts DPDK as `labelgate replay` does (no set-up and no clash with
/// other DPDK processes), with `mb` MB of memory; with
/// `LABELGATE_HUGEPAGES=1`, on the system's reserved huge pages instead,
/// as in a deployment (labelgate's trie stays on the heap's pages).
fn eal(mb: usize) -> Eal {
    let eal = if std::env::var("LABELGATE_HUGEPAGES").is_ok_and(|v| v == "1") {
        Eal::without_setup_on_hugepages("labelgate-bench")
    } else {
        Eal::without_setup("labelgate-bench", mb)
    };
    eal.unwrap_or_else(|e| panic!("starting DPDK: {e}"))
}

/// The three tables under test, over the same routes.
struct Tables {
    labelgate: Fib,
    lpm6: Lpm6,
    fib6: Fib6,
}

/// Checks that the three agree on `dsts`, one at a time and in bursts,
/// each answer taken as the index of the route that matched; the share of
/// destinations routed.
fn agree(t: &Tables, table: &[Prefix], dsts: &[[u8; 16]], wide: &[u128]) -> f64 {
    let index: HashMap<Prefix, usize> = table.iter().enumerate().map(|(i, &p)| (p, i)).collect();
    let labelgate = |id| {
        let r = t.labelgate.route(id);
        index[&(r.prefix.to_bits(), r.prefix_len)]
    };
    let mut routed = 0;
    let (mut lg, mut lpm, mut fib) = ([None; BURST], [None; BURST], [None; BURST]);
    for (chunk, wide) in dsts.chunks(BURST).zip(wide.chunks(BURST)) {
        t.labelgate.lookup_many(wide, &mut lg[..chunk.len()]);
        t.lpm6.lookup_bulk(chunk, &mut lpm[..chunk.len()]).unwrap();
        t.fib6.lookup_bulk(chunk, &mut fib[..chunk.len()]).unwrap();
        for (k, &d) in chunk.iter().enumerate() {
            let a = Ipv6Addr::from(d);
            let bulk = [
                lg[k].map(labelgate),
                lpm[k].map(|h| h as usize),
                fib[k].map(|h| h as usize),
            ];
            let one = [
                t.labelgate.lookup(&a).map(labelgate),
                t.lpm6.lookup(a).map(|h| h as usize),
                t.fib6.lookup(a).map(|h| h as usize),
            ];
            assert!(
                bulk.iter().chain(&one).all(|&a| a == one[0]),
                "{}: labelgate, rte_lpm6, rte_fib6 answer {bulk:?} in bursts, {one:?} one at a time",
                a
            );
            routed += usize::from(one[0].is_some());
        }
    }
    routed as f64 / dsts.len() as f64
}

/// Lookup rates criterion measured, per sample, in lookups per second.
#[derive(Default)]
struct Rates(Vec<f64>);

impl Rates {
    /// The median over the measured samples (criterion's last
    /// `sample_size` calls; the earlier ones warm up).
    fn median(&self, samples: usize) -> Option<f64> {
        let mut v = self.0[self.0.len().saturating_sub(samples)..].to_vec();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied()
    }
}

const SAMPLES: usize = 20;

fn main() {
    let mut r = Rng::with_seed(0x9e37_79b9_7f4a_7c15);
    let table_env = std::env::var("LABELGATE_TABLE").ok();
    let updates_env = std::env::var("LABELGATE_UPDATES").ok();

    // The table, without duplicates, so that route i is prefix i.
    let (table, fresh): (Vec<Prefix>, Vec<Prefix>) = match &table_env {
        Some(path) => {
            let mut seen = HashSet::new();
            let t = lines(path)
                .iter()
                .filter_map(|l| parse(l))
                .collect::<Vec<_>>();
            (t.into_iter().filter(|p| seen.insert(*p)).collect(), vec![])
        }
        None => {
            let mut table = synthesized(&mut r, 260_000);
            let fresh = table.split_off(250_000);
            (table, fresh)
        }
    };
    let updates: Vec<Update> = match &updates_env {
        Some(path) => lines(path)
            .iter()
            .filter_map(|l| {
                let (kind, p) = l.split_once(' ')?;
                let prefix = parse(p)?;
                match kind {
                    "A" => Some(Update {
                        announce: true,
                        prefix,
                    }),
                    "W" => Some(Update {
                        announce: false,
                        prefix,
                    }),
                    _ => None,
                }
            })
            .collect(),
        None => synthesized_updates(&mut r, &table, fresh),
    };

    // Every prefix a table will hold: the table's, then those the
    // updates announce first.
    let mut seen: HashSet<Prefix> = table.iter().copied().collect();
    let mut union = table.clone();
    union.extend(
        updates
            .iter()
            .filter(|u| u.announce && seen.insert(u.prefix))
            .map(|u| u.prefix),
    );
    let max_rules = (union.len() + union.len() / 16 + 64) as u32;
    let lpm6_tbl8s = (tbl8s_needed(union.iter()) * 17 / 16 + 64) as u32;
    let fib6_most = fib6_tbl8s_at_most(union.iter()) + 64;
    let lpm6_bytes = (4 << 24) + lpm6_tbl8s as usize * (1024 + 16) + max_rules as usize * 128;
    let fib6_bytes = (4 << 24) + (4 * fib6_most + 1) * (1024 + 4) + max_rules as usize * 2 * 128;
    let eal = eal((lpm6_bytes + fib6_bytes) * 5 / 4 / (1 << 20) + 256);

    let t = Instant::now();
    let labelgate = Fib::new(table.iter().enumerate().map(|(i, &p)| route(p, i)));
    let built_labelgate = t.elapsed();
    let t = Instant::now();
    let mut lpm6 = Lpm6::new(&eal, max_rules, lpm6_tbl8s).unwrap();
    for (i, &(p, l)) in table.iter().enumerate() {
        lpm6.add(Ipv6Addr::from(p), l, i as u32).unwrap();
    }
    let built_lpm6 = t.elapsed();
    let fib6_tbl8s = fib6_tbl8s(&eal, max_rules, &table, &updates, fib6_most);
    let t = Instant::now();
    let fib6 = fib6_with(&eal, max_rules, fib6_tbl8s, &table).unwrap();
    let built_fib6 = t.elapsed();
    let mut tables = Tables {
        labelgate,
        lpm6,
        fib6,
    };
    let memory = [
        tables.labelgate.memory().0,
        tables.lpm6.memory(),
        tables.fib6.memory(),
    ];

    // Destinations: uniform picks a prefix, spray an address by the space
    // the prefixes cover (as perf/compare.py does); host bits at random.
    let in_prefix =
        |r: &mut Rng, (p, l): Prefix| (p | (r.u128(..) & !prefix_mask(l))).to_be_bytes();
    let uniform: Vec<[u8; 16]> = (0..UNIFORM)
        .map(|_| {
            let p = table[r.usize(..table.len())];
            in_prefix(&mut r, p)
        })
        .collect();
    let mut space = Vec::with_capacity(table.len());
    let mut total = 0u128;
    for &(_, l) in &table {
        total += 1u128 << (64 - l.min(64));
        space.push(total);
    }
    let spray: Vec<[u8; 16]> = (0..SPRAY)
        .map(|_| {
            let at = r.u128(..) % total;
            let p = table[space.partition_point(|&s| s <= at)];
            in_prefix(&mut r, p)
        })
        .collect();
    let wide = |v: &[[u8; 16]]| {
        v.iter()
            .map(|&a| u128::from_be_bytes(a))
            .collect::<Vec<_>>()
    };
    let sets = [
        ("uniform", &uniform, wide(&uniform)),
        ("spray", &spray, wide(&spray)),
    ];
    let routed: Vec<f64> = sets
        .iter()
        .map(|(_, dsts, wide)| agree(&tables, &table, dsts, wide))
        .collect();

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(SAMPLES)
        .nresamples(20_000)
        .configure_from_args();
    let names = ["labelgate", "rte_lpm6", "rte_fib6"];
    let mut rates: Vec<(String, [Rates; 3])> = Vec::new();
    for (set, dsts, wide) in &sets {
        let n = dsts.len();
        for bulk in [false, true] {
            let group_name = format!("lookup/{set}/{}", if bulk { "bulk32" } else { "single" });
            let mut got: [Rates; 3] = Default::default();
            let mut g = c.benchmark_group(&group_name);
            g.throughput(Throughput::Elements(n as u64))
                .sampling_mode(SamplingMode::Flat);
            for (k, name) in names.iter().enumerate() {
                let t = &tables;
                let rec = &mut got[k];
                g.bench_function(*name, |b| {
                    b.iter_custom(|iters| {
                        let start = Instant::now();
                        for _ in 0..iters {
                            match (k, bulk) {
                                (0, false) => {
                                    for d in dsts.iter() {
                                        black_box(t.labelgate.lookup(&Ipv6Addr::from(*d)));
                                    }
                                }
                                (0, true) => {
                                    let mut out = [None; BURST];
                                    for w in wide.chunks_exact(BURST) {
                                        t.labelgate.lookup_many(w, &mut out);
                                        black_box(&mut out);
                                    }
                                }
                                (1, false) => {
                                    for d in dsts.iter() {
                                        black_box(t.lpm6.lookup(Ipv6Addr::from(*d)));
                                    }
                                }
                                (1, true) => {
                                    let mut out = [None; BURST];
                                    for d in dsts.chunks_exact(BURST) {
                                        t.lpm6.lookup_bulk(d, &mut out).unwrap();
                                        black_box(&mut out);
                                    }
                                }
                                (_, false) => {
                                    for d in dsts.iter() {
                                        black_box(t.fib6.lookup(Ipv6Addr::from(*d)));
                                    }
                                }
                                (_, true) => {
                                    let mut out = [None; BURST];
                                    for d in dsts.chunks_exact(BURST) {
                                        t.fib6.lookup_bulk(d, &mut out).unwrap();
                                        black_box(&mut out);
                                    }
                                }
                            }
                        }
                        let elapsed = start.elapsed();
                        rec.0
                            .push((iters as usize * n) as f64 / elapsed.as_secs_f64());
                        elapsed
                    })
                });
            }
            g.finish();
            rates.push((group_name, got));
        }
    }

    // Updates last: they change the tables.
    let mut refused = [0usize; 3];
    let mut first_refusal: [Option<DpdkError>; 3] = Default::default();
    let mut per_second = [0f64; 3];
    for (k, rate) in per_second.iter_mut().enumerate() {
        let t = Instant::now();
        for (i, u) in updates.iter().enumerate() {
            let (p, l) = u.prefix;
            let a = Ipv6Addr::from(p);
            let hop = hop(i);
            let done = match (k, u.announce) {
                (0, true) => {
                    tables.labelgate.insert(route(u.prefix, i));
                    Ok(())
                }
                (0, false) => {
                    tables.labelgate.remove(a, l);
                    Ok(())
                }
                (1, true) => tables.lpm6.add(a, l, hop),
                (1, false) => tables.lpm6.delete(a, l).map(drop),
                (_, true) => tables.fib6.add(a, l, u64::from(hop)),
                (_, false) => tables.fib6.delete(a, l).map(drop),
            };
            if let Err(e) = done {
                refused[k] += 1;
                first_refusal[k].get_or_insert(e);
            }
        }
        *rate = updates.len() as f64 / t.elapsed().as_secs_f64();
    }

    c.final_summary();
    println!();
    println!(
        "table: {} ({} prefixes); updates: {} ({} lines)",
        table_env.as_deref().unwrap_or("synthesized"),
        table.len(),
        updates_env.as_deref().unwrap_or("synthesized"),
        updates.len()
    );
    println!(
        "rte_lpm6: {max_rules} rules, {lpm6_tbl8s} tbl8s; rte_fib6 (TRIE, 4-byte next hops): \
         {max_rules} routes, {fib6_tbl8s} tbl8s; labelgate: {} nodes",
        tables.labelgate.memory().1
    );
    println!(
        "routed: {:.1}% of the uniform destinations, {:.1}% of the spray",
        routed[0] * 100.0,
        routed[1] * 100.0
    );
    println!();
    println!(
        "| {:<30} | {:>12} | {:>12} | {:>12} |",
        "", names[0], names[1], names[2]
    );
    println!("| {:-<30} | {:->12} | {:->12} | {:->12} |", "", "", "", "");
    let row = |what: &str, v: [String; 3]| {
        println!(
            "| {what:<30} | {:>12} | {:>12} | {:>12} |",
            v[0], v[1], v[2]
        )
    };
    let secs = |d: Duration| format!("{:.3}", d.as_secs_f64());
    row(
        "build, s",
        [secs(built_labelgate), secs(built_lpm6), secs(built_fib6)],
    );
    row(
        "memory, MB",
        memory.map(|b| format!("{:.1}", b as f64 / 1e6)),
    );
    for (name, got) in &rates {
        let m = |k: usize| {
            got[k]
                .median(SAMPLES)
                .map_or("-".into(), |x| format!("{:.2}", x / 1e6))
        };
        row(&format!("{name}, M/s"), [m(0), m(1), m(2)]);
    }
    row(
        "updates, M/s",
        per_second.map(|x| format!("{:.3}", x / 1e6)),
    );
    if refused.iter().any(|&n| n != 0) {
        row("updates refused", refused.map(|n| n.to_string()));
        for (name, e) in names.iter().zip(&first_refusal) {
            if let Some(e) = e {
                println!("{name}'s first refusal: {e}");
            }
        }
    }
}
