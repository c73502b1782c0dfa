//! The configuration file: iproute2-style statements, one per line.
//!
//! ```text
//! link set port1 mtu 1500 lladdr 02:00:00:00:00:01
//! addr add 2001:db8:ff::1/64 dev port0
//! route add 2001:db8:1::/48 via fe80::1 dev port1
//! neigh add fe80::1 lladdr 02:00:00:00:01:01 dev port1
//! filter add reject proto udp dport 53 oif port1
//! sysctl net.inet6.ip6.redirect=0
//! worker 1 rx port0/0 port1/0
//! ```
//!
//! Every statement is checked as it is read; the first error names the
//! file, the line and what was wrong, and nothing of the file is used.

use std::fmt;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use dataplane::fib::RouteFlags;
use dataplane::iface::prefix_mask;
use dataplane::pfil::{self, Action, Ports, Rule};
use dataplane::snapshot::Settings;
use dataplane::wire::ethernet::Address as EthernetAddress;
use dataplane::wire::ipv6::scope;

/// DPDK's `RTE_MAX_QUEUES_PER_PORT`.
pub const MAX_QUEUES: u16 = 1024;

/// The most DPDK ports a configuration may name (DPDK's RTE_MAX_ETHPORTS
/// in Debian's build is larger; this bounds per-worker counter arrays).
pub const MAX_PORTS: u16 = 32;

/// An interface a statement names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dev {
    /// `port<N>`: DPDK port N.
    Port(u16),
    /// `lo0`: the loopback.
    Loopback,
}

impl fmt::Display for Dev {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dev::Port(n) => write!(f, "port{n}"),
            Dev::Loopback => f.write_str("lo0"),
        }
    }
}

/// `link set`: per-port settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Link {
    pub mtu: Option<u32>,
    pub lladdr: Option<EthernetAddress>,
    pub pointopoint: bool,
    /// Zone ids set for scopes: (scope, zone).
    pub zones: Vec<(u8, u32)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr {
    pub dev: Dev,
    pub addr: Ipv6Addr,
    pub prefix_len: u8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteConf {
    pub prefix: Ipv6Addr,
    pub prefix_len: u8,
    pub via: Option<Ipv6Addr>,
    /// `None` only until [`Config::resolve_devices`] finds the link of a
    /// gateway given without `dev`.
    pub dev: Option<Dev>,
    pub flags: RouteFlags,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neigh {
    pub dev: Dev,
    pub addr: Ipv6Addr,
    pub lladdr: EthernetAddress,
}

/// A filter rule as written, with the line it came from for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterConf {
    pub rule: Rule,
    pub text: String,
}

/// `worker <lcore> rx port0/0 port1/0 ...`: an lcore and the receive
/// queues it polls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerConf {
    pub lcore: u32,
    pub rx: Vec<(u16, u16)>,
}

/// A whole configuration file.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub file: PathBuf,
    /// Indexed by port number; `None` for ports no `link set` names.
    pub links: Vec<Option<Link>>,
    pub addrs: Vec<Addr>,
    pub routes: Vec<RouteConf>,
    pub neighs: Vec<Neigh>,
    pub filters: Vec<FilterConf>,
    pub settings: Settings,
    pub workers: Vec<WorkerConf>,
    /// One more than the highest port number named anywhere.
    pub ports: u16,
}

/// A configuration error: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
        }
    }
}

impl std::error::Error for Error {}

type Result<T> = std::result::Result<T, String>;

impl Config {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> std::result::Result<Config, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error {
            file: path.to_owned(),
            line: 0,
            message: format!("cannot read the configuration: {e}"),
        })?;
        Config::parse(path, &text)
    }

    /// Parses configuration text; `path` only names it in errors.
    pub fn parse(path: &Path, text: &str) -> std::result::Result<Config, Error> {
        let mut cfg = Config {
            file: path.to_owned(),
            ..Config::default()
        };
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            cfg.statement(&words, i + 1).map_err(|message| Error {
                file: path.to_owned(),
                line: i + 1,
                message,
            })?;
        }
        cfg.check().map_err(|(line, message)| Error {
            file: path.to_owned(),
            line,
            message,
        })?;
        Ok(cfg)
    }

    fn statement(&mut self, w: &[&str], line: usize) -> Result<()> {
        match w {
            ["link", "set", dev, rest @ ..] => self.link_set(dev, rest),
            ["addr", "add", rest @ ..] => self.addr(rest),
            ["route", "add", rest @ ..] => self.route(rest, line),
            ["neigh", "add", rest @ ..] => self.neigh(rest),
            ["filter", "add", rest @ ..] => self.filter(rest),
            ["sysctl", rest @ ..] => self.sysctl(rest),
            ["worker", rest @ ..] => self.worker(rest),
            [first, ..] => Err(format!(
                "unknown statement `{first}` (expected link, addr, route, neigh, filter, sysctl or worker)"
            )),
            [] => Ok(()),
        }
    }

    fn port(&mut self, name: &str) -> Result<u16> {
        match self.dev(name)? {
            Dev::Port(n) => Ok(n),
            Dev::Loopback => Err("lo0 cannot be configured here; name a port".into()),
        }
    }

    fn dev(&mut self, name: &str) -> Result<Dev> {
        if name == "lo0" {
            return Ok(Dev::Loopback);
        }
        let n = parse_port(name).map_err(|_| {
            format!(
                "unknown device `{name}` (expected port0..port{} or lo0)",
                MAX_PORTS - 1
            )
        })?;
        self.ports = self.ports.max(n + 1);
        Ok(Dev::Port(n))
    }

    fn link_set(&mut self, dev: &str, mut rest: &[&str]) -> Result<()> {
        let port = self.port(dev)?;
        let i = usize::from(port);
        if self.links.len() <= i {
            self.links.resize(i + 1, None);
        }
        let link = self.links[i].get_or_insert_with(Link::default);
        if rest.is_empty() {
            return Err("`link set` needs an attribute: mtu, lladdr, pointopoint or zone".into());
        }
        while let [key, tail @ ..] = rest {
            let (value, tail) = tail
                .split_first()
                .ok_or_else(|| format!("`{key}` needs a value"))?;
            rest = tail;
            match *key {
                "mtu" => {
                    let mtu: u32 = number(value, "MTU")?;
                    if !(1280..=65535).contains(&mtu) {
                        return Err(format!("MTU {mtu} is out of range: IPv6 needs 1280..65535"));
                    }
                    link.mtu = Some(mtu);
                }
                "lladdr" => {
                    let m = mac(value)?;
                    if m.is_multicast() || m == EthernetAddress::default() {
                        return Err(format!(
                            "{m} cannot be an interface's address (a group or all-zero MAC)"
                        ));
                    }
                    link.lladdr = Some(m);
                }
                "pointopoint" => link.pointopoint = on_off(value)?,
                "zone" => {
                    let (scope, zone) = match scope_name(value) {
                        Some(s) => {
                            let (z, tail) = rest
                                .split_first()
                                .ok_or("`zone` needs a zone id after the scope")?;
                            rest = tail;
                            (s, number(z, "zone id")?)
                        }
                        None => (scope::LINK_LOCAL, number(value, "zone id")?),
                    };
                    link.zones.push((scope, zone));
                    // Interface-local scope follows the link-local zone.
                    if scope == scope::LINK_LOCAL {
                        link.zones.push((scope::INTERFACE_LOCAL, zone));
                    }
                }
                other => {
                    return Err(format!(
                        "unknown link attribute `{other}` (expected mtu, lladdr, pointopoint or zone)"
                    ));
                }
            }
        }
        Ok(())
    }

    fn addr(&mut self, w: &[&str]) -> Result<()> {
        let [prefix, "dev", dev] = w else {
            return Err("expected `addr add ADDRESS[/LEN] dev portN`".into());
        };
        let (addr, prefix_len) = address_len(prefix)?;
        if addr.is_multicast() || addr.is_unspecified() || addr.is_loopback() {
            return Err(format!("{addr} cannot be an interface address"));
        }
        let dev = self.dev(dev)?;
        // A link-local address names a station on one link only, so two
        // links may each have it; any other address is the router's once.
        let link_local = dataplane::wire::ipv6::is_link_local_unicast(&addr);
        if self
            .addrs
            .iter()
            .any(|a| a.addr == addr && (!link_local || a.dev == dev))
        {
            return Err(format!("address {addr} is assigned twice"));
        }
        self.addrs.push(Addr {
            dev,
            addr,
            prefix_len,
        });
        Ok(())
    }

    fn route(&mut self, w: &[&str], line: usize) -> Result<()> {
        let [prefix, rest @ ..] = w else {
            return Err("expected `route add PREFIX [via GATEWAY] [dev DEV] [blackhole|reject] [dynamic|modified]`".into());
        };
        let (prefix, prefix_len) = prefix_of(prefix)?;
        let mut r = RouteConf {
            prefix,
            prefix_len,
            via: None,
            dev: None,
            flags: RouteFlags::default(),
            line,
        };
        let mut rest = rest;
        while let [key, tail @ ..] = rest {
            rest = tail;
            match *key {
                "via" | "dev" => {
                    let (v, tail) = rest
                        .split_first()
                        .ok_or_else(|| format!("`{key}` needs a value"))?;
                    rest = tail;
                    if *key == "via" {
                        let gw: Ipv6Addr = v
                            .parse()
                            .map_err(|_| format!("`{v}` is not an IPv6 address"))?;
                        if gw.is_multicast() || gw.is_unspecified() {
                            return Err(format!("gateway {gw} must be a unicast address"));
                        }
                        r.via = Some(gw);
                        r.flags.gateway = true;
                    } else {
                        r.dev = Some(self.dev(v)?);
                    }
                }
                "blackhole" => r.flags.blackhole = true,
                "reject" | "unreachable" => r.flags.reject = true,
                "dynamic" => r.flags.dynamic = true,
                "modified" => r.flags.modified = true,
                other => return Err(format!("unknown route attribute `{other}`")),
            }
        }
        if r.flags.blackhole && r.flags.reject {
            return Err("a route cannot be both blackhole and reject".into());
        }
        if r.flags.blackhole || r.flags.reject {
            if r.via.is_some() || r.dev.is_some_and(|d| d != Dev::Loopback) {
                return Err(
                    "blackhole and reject routes take no gateway and no device but lo0".into(),
                );
            }
            r.dev = Some(Dev::Loopback);
        }
        if r.via.is_none() && r.dev.is_none() {
            return Err("a route needs `via GATEWAY`, `dev DEV`, `blackhole` or `reject`".into());
        }
        if let Some(gw) = r.via {
            if dataplane::wire::ipv6::is_link_local_unicast(&gw) && r.dev.is_none() {
                return Err(format!(
                    "link-local gateway {gw} needs `dev portN` to say which link"
                ));
            }
            if r.dev == Some(Dev::Loopback) {
                return Err("a gateway route cannot use lo0".into());
            }
        }
        if self
            .routes
            .iter()
            .any(|o| (o.prefix, o.prefix_len) == (r.prefix, r.prefix_len))
        {
            return Err(format!(
                "a route for {}/{} already exists",
                r.prefix, r.prefix_len
            ));
        }
        self.routes.push(r);
        Ok(())
    }

    fn neigh(&mut self, w: &[&str]) -> Result<()> {
        let [addr, "lladdr", lladdr, "dev", dev] = w else {
            return Err("expected `neigh add ADDRESS lladdr MAC dev portN`".into());
        };
        let addr: Ipv6Addr = addr
            .parse()
            .map_err(|_| format!("`{addr}` is not an IPv6 address"))?;
        if addr.is_multicast() || addr.is_unspecified() {
            return Err(format!("{addr} cannot be a neighbour"));
        }
        let lladdr = mac(lladdr)?;
        if lladdr.is_multicast() {
            return Err(format!("{lladdr} is a group address, not a neighbour's"));
        }
        let port = self.port(dev)?;
        self.neighs.push(Neigh {
            dev: Dev::Port(port),
            addr,
            lladdr,
        });
        Ok(())
    }

    fn filter(&mut self, w: &[&str]) -> Result<()> {
        let [action, rest @ ..] = w else {
            return Err("expected `filter add pass|drop|reject [match ...]`".into());
        };
        let mut rest = rest;
        let action = match *action {
            "pass" => Action::Pass,
            "drop" => Action::Drop,
            "reject" => Action::Reject,
            other => {
                return Err(format!(
                    "unknown filter action `{other}` (expected pass, drop or reject)"
                ));
            }
        };
        let mut rule = Rule::new(action);
        while let [key, value, tail @ ..] = rest {
            rest = tail;
            match *key {
                "from" => rule.src = Some(prefix_of(value)?),
                "to" => rule.dst = Some(prefix_of(value)?),
                "proto" => {
                    rule.proto = Some(match *value {
                        "tcp" => 6,
                        "udp" => 17,
                        "icmp6" | "ipv6-icmp" => 58,
                        n => number(n, "protocol number")?,
                    })
                }
                "sport" => rule.sport = Some(ports(value)?),
                "dport" => rule.dport = Some(ports(value)?),
                "iif" => rule.iif = Some(self.port(value)?),
                "oif" => rule.oif = Some(self.port(value)?),
                other => {
                    return Err(format!(
                        "unknown filter match `{other}` (expected from, to, proto, sport, dport, iif or oif)"
                    ));
                }
            }
        }
        if let [odd] = rest {
            return Err(format!("`{odd}` needs a value"));
        }
        if (rule.sport.is_some() || rule.dport.is_some())
            && !matches!(rule.proto, Some(6) | Some(17))
        {
            return Err("sport and dport need `proto tcp` or `proto udp`".into());
        }
        if self.filters.len() >= pfil::MAX_RULES {
            return Err(format!(
                "too many filter rules (at most {})",
                pfil::MAX_RULES
            ));
        }
        self.filters.push(FilterConf {
            rule,
            text: w.join(" "),
        });
        Ok(())
    }

    fn sysctl(&mut self, w: &[&str]) -> Result<()> {
        let [assignment] = w else {
            return Err("expected `sysctl NAME=VALUE`".into());
        };
        let (name, value) = assignment
            .split_once('=')
            .ok_or("expected `sysctl NAME=VALUE`")?;
        let s = &mut self.settings;
        match name {
            "net.inet6.ip6.stealth" => s.stealth = bool01(value)?,
            "net.inet6.ip6.redirect" => s.sendredirects = bool01(value)?,
            "net.inet6.icmp6.errppslimit" => s.icmp6errppslim = number(value, "errppslimit")?,
            "net.inet6.ip6.log_interval" => {
                s.log_interval = Duration::from_secs(number(value, "log_interval")?)
            }
            "net.inet6.ip6.hlim" => {
                s.defhlim = number(value, "hlim")?;
                if s.defhlim == 0 {
                    return Err("net.inet6.ip6.hlim must be 1..255".into());
                }
            }
            "net.inet6.icmp6.nd6_maxqlen" => {
                s.nd6_maxqlen = number(value, "nd6_maxqlen")?;
                if !(1..=64).contains(&s.nd6_maxqlen) {
                    return Err("net.inet6.icmp6.nd6_maxqlen must be 1..64".into());
                }
            }
            "net.inet6.icmp6.nd6_mmaxtries" => {
                s.nd6_mmaxtries = number(value, "nd6_mmaxtries")?;
                if !(1..=100).contains(&s.nd6_mmaxtries) {
                    return Err("net.inet6.icmp6.nd6_mmaxtries must be 1..100".into());
                }
            }
            "net.inet6.icmp6.nd6_retrans" => {
                let ms: u64 = number(value, "nd6_retrans (milliseconds)")?;
                if !(1..=60_000).contains(&ms) {
                    return Err("net.inet6.icmp6.nd6_retrans must be 1..60000 milliseconds".into());
                }
                s.nd6_retrans = Duration::from_millis(ms);
            }
            other => return Err(format!("unknown sysctl `{other}`")),
        }
        Ok(())
    }

    fn worker(&mut self, w: &[&str]) -> Result<()> {
        let [lcore, "rx", queues @ ..] = w else {
            return Err("expected `worker LCORE rx portN/QUEUE ...`".into());
        };
        let lcore: u32 = number(lcore, "lcore id")?;
        if queues.is_empty() {
            return Err("a worker needs at least one receive queue".into());
        }
        let mut rx: Vec<(u16, u16)> = Vec::new();
        for q in queues {
            let (dev, queue) = q
                .split_once('/')
                .ok_or_else(|| format!("`{q}` is not a receive queue (expected portN/QUEUE)"))?;
            let port = self.port(dev)?;
            let queue: u16 = number(queue, "queue number")?;
            if queue >= MAX_QUEUES {
                return Err(format!(
                    "queue {queue} is out of range: DPDK has at most {MAX_QUEUES} per port"
                ));
            }
            let polled = |&(p, q): &(u16, u16)| (p, q) == (port, queue);
            if rx.iter().any(polled) || self.workers.iter().flat_map(|w| &w.rx).any(polled) {
                return Err(format!(
                    "receive queue port{port}/{queue} is polled by two workers"
                ));
            }
            rx.push((port, queue));
        }
        if self.workers.iter().any(|w| w.lcore == lcore) {
            return Err(format!("lcore {lcore} already has a worker"));
        }
        self.workers.push(WorkerConf { lcore, rx });
        Ok(())
    }

    /// Checks that need the whole file.
    fn check(&mut self) -> std::result::Result<(), (usize, String)> {
        // A gateway without `dev` is on the link whose prefix covers it.
        for r in &mut self.routes {
            if let (Some(gw), None) = (r.via, r.dev) {
                let dev = self
                    .addrs
                    .iter()
                    .find(|a| {
                        a.dev != Dev::Loopback
                            && dataplane::iface::prefix_matches(a.addr, a.prefix_len, &gw)
                    })
                    .map(|a| a.dev)
                    .ok_or((
                        r.line,
                        format!("gateway {gw} is on no configured link; add `dev portN`"),
                    ))?;
                r.dev = Some(dev);
            }
        }
        Ok(())
    }

    /// The settings of port `n`, defaults where none were given.
    pub fn link(&self, n: u16) -> Link {
        self.links
            .get(usize::from(n))
            .cloned()
            .flatten()
            .unwrap_or_default()
    }
}

/// `port<N>`: DPDK port N, below [`MAX_PORTS`].
pub fn parse_port(name: &str) -> Result<u16> {
    name.strip_prefix("port")
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse::<u16>().ok())
        .filter(|n| *n < MAX_PORTS)
        .ok_or_else(|| {
            format!(
                "`{name}` is not a port (expected port0..port{})",
                MAX_PORTS - 1
            )
        })
}

fn number<T: FromStr>(s: &str, what: &str) -> Result<T> {
    s.parse()
        .map_err(|_| format!("`{s}` is not a valid {what}"))
}

fn mac(s: &str) -> Result<EthernetAddress> {
    s.parse()
        .map_err(|_| format!("`{s}` is not a MAC address (expected 02:00:00:00:00:01)"))
}

fn on_off(s: &str) -> Result<bool> {
    match s {
        "on" => Ok(true),
        "off" => Ok(false),
        other => Err(format!("expected on or off, not `{other}`")),
    }
}

fn bool01(s: &str) -> Result<bool> {
    match s {
        "1" => Ok(true),
        "0" => Ok(false),
        other => Err(format!("expected 0 or 1, not `{other}`")),
    }
}

fn scope_name(s: &str) -> Option<u8> {
    Some(match s {
        "interface" => scope::INTERFACE_LOCAL,
        "link" => scope::LINK_LOCAL,
        "realm" => scope::REALM_LOCAL,
        "admin" => scope::ADMIN_LOCAL,
        "site" => scope::SITE_LOCAL,
        "organization" | "org" => scope::ORG_LOCAL,
        _ => return None,
    })
}

/// `ADDRESS[/LEN]`, the length defaulting to 128 as iproute2's does.
fn address_len(s: &str) -> Result<(Ipv6Addr, u8)> {
    let (a, len) = match s.split_once('/') {
        Some((a, l)) => (a, number::<u8>(l, "prefix length")?),
        None => (s, 128),
    };
    if len > 128 {
        return Err(format!("prefix length {len} is over 128"));
    }
    let addr = a
        .parse()
        .map_err(|_| format!("`{a}` is not an IPv6 address"))?;
    Ok((addr, len))
}

/// A prefix: `default` or `ADDRESS/LEN` with no host bits set.
fn prefix_of(s: &str) -> Result<(Ipv6Addr, u8)> {
    if s == "default" {
        return Ok((Ipv6Addr::UNSPECIFIED, 0));
    }
    let (a, len) = address_len(s)?;
    let masked = Ipv6Addr::from(a.to_bits() & prefix_mask(len));
    if masked != a {
        return Err(format!(
            "{s} has host bits set (the prefix is {masked}/{len})"
        ));
    }
    Ok((a, len))
}

fn ports(s: &str) -> Result<Ports> {
    let (low, high) = match s.split_once('-') {
        Some((l, h)) => (number(l, "port")?, number(h, "port")?),
        None => {
            let p = number(s, "port")?;
            (p, p)
        }
    };
    if low > high {
        return Err(format!("port range {s} is empty"));
    }
    Ok(Ports { low, high })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> std::result::Result<Config, Error> {
        Config::parse(Path::new("test.conf"), text)
    }

    fn err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn the_issue_example() {
        let c = parse(
            "link set port1 mtu 1500 lladdr 02:00:00:00:00:01\n\
             addr add 2001:db8:ff::1/64 dev port0\n\
             route add 2001:db8:1::/48 via fe80::1 dev port1\n\
             route add 2001:db8:2::/48 dev port1\n\
             route add ::/0 via fe80::99 dev port0\n\
             neigh add fe80::1 lladdr 02:00:00:00:01:01 dev port1\n",
        )
        .unwrap();
        assert_eq!(c.ports, 2);
        assert_eq!(c.link(1).mtu, Some(1500));
        assert_eq!(c.link(0), Link::default());
        assert_eq!(c.routes.len(), 3);
        assert_eq!(c.routes[0].via, Some("fe80::1".parse().unwrap()));
        assert!(c.routes[0].flags.gateway);
        assert_eq!(c.routes[1].dev, Some(Dev::Port(1)));
        assert_eq!(c.routes[2].prefix_len, 0);
        assert_eq!(c.neighs[0].dev, Dev::Port(1));
    }

    #[test]
    fn comments_blank_lines_and_extras() {
        let c = parse(
            "# a router\n\n  link set port0 pointopoint on zone 7 zone site 3 # trailing\n\
             route add 2001:db8:dead::/48 blackhole\nroute add 2001:db8:beef::/48 reject\n\
             route add 2001:db8:5::/48 dev lo0\n\
             addr add 2001:db8:ff::1/64 dev port0\nroute add default via 2001:db8:ff::2 dynamic\n\
             filter add reject proto udp dport 53-54 oif port0\nfilter add drop from 2001:db8::/32\n\
             sysctl net.inet6.ip6.redirect=0\nsysctl net.inet6.icmp6.errppslimit=-1\nsysctl net.inet6.ip6.stealth=1\n\
             worker 1 rx port0/0\n",
        )
        .unwrap();
        let l = c.link(0);
        assert!(l.pointopoint);
        assert_eq!(l.zones, vec![(2, 7), (1, 7), (5, 3)]);
        assert!(c.routes[0].flags.blackhole && c.routes[0].dev == Some(Dev::Loopback));
        assert!(c.routes[1].flags.reject);
        assert_eq!(c.routes[2].dev, Some(Dev::Loopback));
        assert_eq!(
            c.routes[3].dev,
            Some(Dev::Port(0)),
            "gateway's link found from its prefix"
        );
        assert!(c.routes[3].flags.dynamic);
        assert_eq!(c.filters.len(), 2);
        assert_eq!(c.filters[0].rule.dport, Some(Ports { low: 53, high: 54 }));
        assert_eq!(c.filters[0].rule.action, Action::Reject);
        assert!(!c.settings.sendredirects && c.settings.stealth);
        assert_eq!(c.settings.icmp6errppslim, -1);
        assert_eq!(
            c.workers,
            vec![WorkerConf {
                lcore: 1,
                rx: vec![(0, 0)]
            }]
        );
    }

    #[test]
    fn errors_name_file_and_line() {
        assert_eq!(
            err("\nroute add 2001:db8::1/32 dev port0"),
            "test.conf:2: 2001:db8::1/32 has host bits set (the prefix is 2001:db8::/32)"
        );
        assert_eq!(
            err("frobnicate"),
            "test.conf:1: unknown statement `frobnicate` (expected link, addr, route, neigh, filter, sysctl or worker)"
        );
        assert!(err("link set eth0 mtu 1500").starts_with("test.conf:1: unknown device `eth0`"));
        assert!(err("link set port0 mtu 1000").contains("out of range"));
        assert!(err("link set port0 mtu").contains("`mtu` needs a value"));
        assert!(err("link set port0 lladdr 02:00").contains("not a MAC address"));
        assert!(err("addr add 2001:db8::1/129 dev port0").contains("over 128"));
        assert!(err("addr add ff02::1/64 dev port0").contains("cannot be an interface address"));
        assert!(err("route add 2001:db8::/32").contains("needs `via GATEWAY`"));
        assert!(err("route add 2001:db8::/32 via fe80::1").contains("needs `dev portN`"));
        assert!(err("route add 2001:db8::/32 via 2001:db9::1").contains("on no configured link"));
        assert!(err("route add 2001:db8::/32 blackhole reject").contains("both"));
        assert!(
            err("route add 2001:db8::/32 via fe80::1 dev port0 blackhole").contains("no gateway")
        );
        assert!(err("neigh add fe80::1 lladdr 02:00:00:00:00:01").contains("expected `neigh add"));
        assert!(
            err("neigh add fe80::1 lladdr 33:33:00:00:00:01 dev port0").contains("group address")
        );
        assert!(err("filter add allow").contains("unknown filter action"));
        assert!(err("filter add drop dport 53").contains("need `proto tcp`"));
        assert!(err("filter add drop proto udp dport 54-53").contains("empty"));
        assert!(err("filter add drop proto").contains("needs a value"));
        assert!(err("sysctl net.inet6.ip6.forwarding=1").contains("unknown sysctl"));
        assert!(err("sysctl net.inet6.ip6.redirect=yes").contains("expected 0 or 1"));
        assert!(err("worker 1 rx port0/0\nworker 2 rx port0/0").contains("polled by two workers"));
        assert!(err("worker 1 rx port0/0\nworker 1 rx port1/0").contains("already has a worker"));
        assert!(
            err("addr add 2001:db8::1 dev port0\naddr add 2001:db8::1 dev port1")
                .contains("assigned twice")
        );
        assert!(err("link set port32 mtu 1500").contains("unknown device"));
    }

    #[test]
    fn values_that_would_overflow_or_mislead_are_refused() {
        assert_eq!(
            err("worker 1 rx port0/65535"),
            "test.conf:1: queue 65535 is out of range: DPDK has at most 1024 per port"
        );
        assert!(
            err("sysctl net.inet6.icmp6.nd6_retrans=18446744073709551615").contains("1..60000")
        );
        assert!(err("sysctl net.inet6.icmp6.nd6_mmaxtries=4294967295").contains("1..100"));
        assert!(err("sysctl net.inet6.icmp6.nd6_maxqlen=65").contains("1..64"));
        assert!(err("link set port0 lladdr 33:33:00:00:00:01").contains("group or all-zero"));
        assert!(err("link set port0 lladdr 00:00:00:00:00:00").contains("group or all-zero"));
        assert_eq!(
            err("route add 2001:db8::/32 dev port0\nroute add 2001:db8::/32 dev port1"),
            "test.conf:2: a route for 2001:db8::/32 already exists"
        );
        assert_eq!(
            err("link set port1x mtu 1500"),
            "test.conf:1: unknown device `port1x` (expected port0..port31 or lo0)"
        );
    }

    #[test]
    fn duplicates_are_reported_on_their_own_line() {
        assert_eq!(
            err("addr add 2001:db8::1/64 dev port0\n#\naddr add 2001:db8::1/64 dev port1"),
            "test.conf:3: address 2001:db8::1 is assigned twice"
        );
        assert_eq!(
            err("worker 1 rx port0/0\nworker 2 rx port1/0 port0/0"),
            "test.conf:2: receive queue port0/0 is polled by two workers"
        );
        // The same link-local address on two links names two stations.
        assert!(parse("addr add fe80::1/64 dev port0\naddr add fe80::1/64 dev port1").is_ok());
        assert!(
            err("addr add fe80::1/64 dev port0\naddr add fe80::1/64 dev port0")
                .contains("assigned twice")
        );
    }

    #[test]
    fn port_names() {
        assert_eq!(parse_port("port0"), Ok(0));
        assert_eq!(parse_port("port31"), Ok(31));
        for bad in ["port32", "port", "port+1", "port01x", "eth0", "Port1"] {
            assert!(parse_port(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn missing_file_is_an_error_not_a_panic() {
        let e = Config::load(Path::new("/nonexistent/labelgate.conf")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/nonexistent/labelgate.conf: cannot read the configuration")
        );
    }
}
