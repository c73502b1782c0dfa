//! The FIB on a full IPv6 table: build time, memory, lookups per second
//! (one at a time and a burst at a time) over destinations drawn uniformly
//! from the table's prefixes and over a random spray, and updates per
//! second.
//!
//!   cargo run --release -p dataplane --example fib_bench -- [--table FILE] [--updates FILE]
//!
//! FILE is a prefix per line (gzip if it ends in .gz), as
//! `../shared/data/ris-ipv6-*-table.txt.gz`; without it a table of 250,000
//! prefixes shaped like today's default-free zone is made. `--updates`
//! replays a stream of `A PREFIX` / `W PREFIX` lines.

use std::io::BufRead;
use std::net::Ipv6Addr;
use std::time::Instant;

use dataplane::fib::{Fib, Route, RouteFlags};
use dataplane::iface::prefix_mask;

/// xorshift: reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn wide(&mut self) -> u128 {
        u128::from(self.next()) << 64 | u128::from(self.next())
    }
}

fn route(prefix: u128, len: u8, n: usize) -> Route {
    Route {
        prefix: Ipv6Addr::from(prefix & prefix_mask(len)),
        prefix_len: len,
        gateway: None,
        ifindex: (n % 4) as u16,
        flags: RouteFlags::default(),
    }
}

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

fn parse(p: &str) -> Option<(u128, u8)> {
    let (a, l) = p.trim().split_once('/')?;
    Some((a.parse::<Ipv6Addr>().ok()?.to_bits(), l.parse().ok()?))
}

/// 250,000 prefixes with the default-free zone's lengths (/48 45%, /32
/// 11%, /44 10%, /40 9%, /36 4%, /47 4%, the rest from /16 to /64), under
/// 2000::/3 and clustered as allocations are: 12,000 /32s under 600 /20s,
/// longer prefixes inside a /32 and within a few of its /40s.
fn synthesized(r: &mut Rng) -> Vec<(u128, u8)> {
    let shares = [(48, 45), (32, 11), (44, 10), (40, 9), (36, 4), (47, 4)];
    let blocks: Vec<u128> = (0..600)
        .map(|_| (0x2u128 << 125) | (r.wide() >> 3) & prefix_mask(20))
        .collect();
    let allocations: Vec<u128> = (0..12_000)
        .map(|_| {
            blocks[(r.next() % blocks.len() as u64) as usize] | (r.wide() >> 20) & prefix_mask(32)
        })
        .collect();
    (0..250_000)
        .map(|_| {
            let pick = r.next() % 100;
            let mut acc = 0;
            let len = shares
                .iter()
                .find(|(_, s)| {
                    acc += s;
                    pick < acc
                })
                .map_or_else(|| 16 + (r.next() % 49) as u8, |&(l, _)| l);
            let a = allocations[(r.next() % allocations.len() as u64) as usize];
            let site = u128::from(r.next() % 4) << (128 - 40);
            let p = a | site | (r.wide() & !prefix_mask(40));
            (p & prefix_mask(len), len)
        })
        .collect()
}

fn rate(n: usize, since: Instant) -> String {
    format!("{:.1} M/s", n as f64 / since.elapsed().as_secs_f64() / 1e6)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let prefixes: Vec<(u128, u8)> = match flag("--table") {
        Some(path) => lines(&path).iter().filter_map(|l| parse(l)).collect(),
        None => synthesized(&mut r),
    };
    let routes: Vec<Route> = prefixes
        .iter()
        .enumerate()
        .map(|(n, &(p, l))| route(p, l, n))
        .collect();

    let t = Instant::now();
    let fib = Fib::new(routes.iter().copied());
    let built = t.elapsed();
    let (bytes, nodes) = fib.memory();
    println!(
        "table: {} routes built in {:.3} s, {:.1} MB in {nodes} nodes",
        fib.len(),
        built.as_secs_f64(),
        bytes as f64 / 1e6
    );

    const N: usize = 1 << 20;
    let uniform: Vec<u128> = (0..N)
        .map(|_| {
            let (p, l) = prefixes[(r.next() % prefixes.len() as u64) as usize];
            p | (r.wide() & !prefix_mask(l))
        })
        .collect();
    let spray: Vec<u128> = (0..N).map(|_| (0x2u128 << 125) | r.wide() >> 3).collect();
    for (name, dsts) in [
        ("uniform over the prefixes", &uniform),
        ("random spray", &spray),
    ] {
        let t = Instant::now();
        let mut found = 0usize;
        for &d in dsts.iter() {
            found += usize::from(fib.lookup(&Ipv6Addr::from(d)).is_some());
        }
        let one = rate(dsts.len(), t);
        let t = Instant::now();
        let mut out = vec![None; 32];
        let mut found_many = 0usize;
        for burst in dsts.chunks(32) {
            fib.lookup_many(burst, &mut out[..burst.len()]);
            found_many += out[..burst.len()].iter().filter(|o| o.is_some()).count();
        }
        assert_eq!(found, found_many);
        println!(
            "lookups, {name}: {one} one at a time, {} in bursts of 32 ({:.0}% found)",
            rate(dsts.len(), t),
            found as f64 * 100.0 / dsts.len() as f64
        );
    }

    let mut live = fib.clone();
    let churn = 100_000.min(routes.len());
    let t = Instant::now();
    for r in &routes[..churn] {
        live.remove(r.prefix, r.prefix_len);
    }
    for r in &routes[..churn] {
        live.insert(*r);
    }
    println!(
        "updates: {} (withdraw and re-announce {churn} routes)",
        rate(2 * churn, t)
    );

    if let Some(path) = flag("--updates") {
        let stream = lines(&path);
        let t = Instant::now();
        let mut n = 0;
        for (i, l) in stream.iter().enumerate() {
            let Some((kind, p)) = l.split_once(' ') else {
                continue;
            };
            let Some((p, len)) = parse(p) else { continue };
            match kind {
                "A" => {
                    live.insert(route(p, len, i));
                }
                "W" => {
                    live.remove(Ipv6Addr::from(p), len);
                }
                _ => continue,
            }
            n += 1;
        }
        println!("update stream: {n} updates at {}", rate(n, t));
    }
}
