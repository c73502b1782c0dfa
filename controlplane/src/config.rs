//! The configuration file: iproute2-style statements, one per line.
//!
//! ```text
//! link set port0 up
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
//!
//! A port exists only where a `link set` line declares it, so a typo in a
//! `dev` cannot quietly name a port nobody configured. Declarations may
//! come after their uses, and must number the ports from port0 without a
//! gap, as DPDK does.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use dataplane::fib::RouteFlags;
use dataplane::iface::{IfFlags, Ifnet, prefix_mask};
use dataplane::mac::{self, Errno, Kind, Registry};
use dataplane::pfil::{self, Action, Ports, Rule};
use dataplane::snapshot::Settings;
use dataplane::wire::ethernet::Address as EthernetAddress;
use dataplane::wire::ipv6::{is_link_local_unicast, is_v4_mapped, scope};

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
    /// Zone ids set for scopes: (scope, zone), each scope at most once.
    pub zones: Vec<(u8, u32)>,
    /// The MAC label text `label` gives the port.
    pub label: Option<String>,
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
    /// `None` only while the file is read, for a gateway given without
    /// `dev`: once it is all read, the link whose prefix covers the gateway.
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
    /// Indexed by port number, one for each declared port.
    pub links: Vec<Link>,
    pub addrs: Vec<Addr>,
    pub routes: Vec<RouteConf>,
    pub neighs: Vec<Neigh>,
    pub filters: Vec<FilterConf>,
    pub settings: Settings,
    pub workers: Vec<WorkerConf>,
    /// The number of ports: `link set` declares port0 up to this one less.
    pub ports: u16,
    /// The MAC policies `mac load` loads, in order, with `mac set`'s
    /// settings applied.
    pub mac: Registry,
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
        let at = |line, message| Error {
            file: path.to_owned(),
            line,
            message,
        };
        let mut r = Reader {
            cfg: Config {
                file: path.to_owned(),
                ..Config::default()
            },
            ..Reader::default()
        };
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            r.line = i + 1;
            r.statement(&words).map_err(|message| at(r.line, message))?;
        }
        r.check().map_err(|(line, message)| at(line, message))?;
        Ok(r.cfg)
    }

    /// The settings of port `n`; defaults for a port DPDK found beyond
    /// those the file declares.
    pub fn link(&self, n: u16) -> Link {
        self.links.get(usize::from(n)).cloned().unwrap_or_default()
    }
}

/// A link attribute, to refuse one given twice for a port: the second
/// would silently override the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Attr {
    Mtu,
    Lladdr,
    Pointopoint,
    Label,
    /// The scope's name and number.
    Zone(&'static str, u8),
}

impl fmt::Display for Attr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Attr::Mtu => f.write_str("mtu"),
            Attr::Lladdr => f.write_str("lladdr"),
            Attr::Pointopoint => f.write_str("pointopoint"),
            Attr::Label => f.write_str("label"),
            Attr::Zone(name, _) => write!(f, "zone {name}"),
        }
    }
}

/// Where a link attribute was set.
#[derive(Debug, Clone, Copy)]
struct AttrSet {
    line: usize,
    /// Set as the interface-local zone that a link zone implies.
    by_link_zone: bool,
}

/// The link attributes set so far, per port.
#[derive(Debug, Default)]
struct Attrs(HashMap<(u16, Attr), AttrSet>);

impl Attrs {
    /// Records `attr` of `port` as set on `line`, refusing it if it was
    /// set before.
    fn set_once(&mut self, port: u16, attr: Attr, line: usize, by_link_zone: bool) -> Result<()> {
        let first = match self.0.entry((port, attr)) {
            Entry::Vacant(v) => {
                v.insert(AttrSet { line, by_link_zone });
                return Ok(());
            }
            Entry::Occupied(o) => *o.get(),
        };
        let why = if first.by_link_zone || by_link_zone {
            " (a link zone sets the interface zone too)"
        } else {
            ""
        };
        if first.line == line {
            Err(format!("`{attr}` is given twice{why}"))
        } else {
            Err(format!(
                "`{attr}` of port{port} is already set on line {}{why}",
                first.line
            ))
        }
    }
}

/// A configuration being read, with what the checks need beyond it. The
/// duplicate checks are hashed: a full table has hundreds of thousands of
/// routes, and a scan of those read so far per route made reading one take
/// half a minute.
#[derive(Debug, Default)]
struct Reader {
    cfg: Config,
    /// The line being read.
    line: usize,
    /// The line of each port's first `link set`.
    declared: BTreeMap<u16, usize>,
    /// The first line each port is named on by a statement other than
    /// `link set`, checked once the whole file is read since declarations
    /// may come later.
    used: BTreeMap<u16, usize>,
    attrs: Attrs,
    /// (address, its link for a link-local one).
    addrs: HashSet<(Ipv6Addr, Option<Dev>)>,
    /// Each route's line, by prefix.
    routes: HashMap<(u128, u8), usize>,
    /// (port, line) of each neighbour, by (address, its port for a
    /// link-local one).
    neighs: HashMap<(Ipv6Addr, Option<u16>), (u16, usize)>,
    /// The receive queues workers poll.
    queues: HashSet<(u16, u16)>,
    lcores: HashSet<u32>,
    /// The line each port's `label` is on, checked once the policies and
    /// ports are all known.
    labels: Vec<(u16, usize)>,
    /// The line each sysctl was set on.
    sysctls: HashMap<String, usize>,
    /// The line each `mac set POLICY KEY` was given on.
    mac_sets: HashMap<(String, String), usize>,
}

impl Reader {
    fn statement(&mut self, w: &[&str]) -> Result<()> {
        match w {
            ["link", "set", dev, rest @ ..] => self.link_set(dev, rest),
            ["addr", "add", rest @ ..] => self.addr(rest),
            ["route", "add", rest @ ..] => self.route(rest),
            ["neigh", "add", rest @ ..] => self.neigh(rest),
            ["filter", "add", rest @ ..] => self.filter(rest),
            ["sysctl", rest @ ..] => self.sysctl(rest),
            ["worker", rest @ ..] => self.worker(rest),
            ["mac", rest @ ..] => self.mac(rest),
            [first, ..] => Err(format!(
                "unknown statement `{first}` (expected link, addr, route, neigh, filter, sysctl, worker or mac)"
            )),
            [] => Ok(()),
        }
    }

    /// A port a statement uses; it must be declared somewhere in the file.
    fn port(&mut self, name: &str) -> Result<u16> {
        let n = port_of(name)?;
        self.used.entry(n).or_insert(self.line);
        Ok(n)
    }

    /// A device a statement uses; a port must be declared somewhere in the
    /// file.
    fn dev(&mut self, name: &str) -> Result<Dev> {
        let dev = device(name)?;
        if let Dev::Port(n) = dev {
            self.used.entry(n).or_insert(self.line);
        }
        Ok(dev)
    }

    /// `link set`: declares the port, and sets each attribute given.
    fn link_set(&mut self, dev: &str, mut rest: &[&str]) -> Result<()> {
        let port = port_of(dev)?;
        if rest.is_empty() {
            return Err(
                "`link set` needs an attribute: up, mtu, lladdr, pointopoint, zone or label".into(),
            );
        }
        let line = self.line;
        self.declared.entry(port).or_insert(line);
        let i = usize::from(port);
        if self.cfg.links.len() <= i {
            self.cfg.links.resize(i + 1, Link::default());
        }
        let link = &mut self.cfg.links[i];
        let attrs = &mut self.attrs;
        while let [key, tail @ ..] = rest {
            rest = tail;
            match *key {
                // Saying a port is up again changes nothing: not an error.
                "up" => {}
                "mtu" => {
                    let mtu: u32 = number(value(key, &mut rest)?, "MTU")?;
                    if !(1280..=65535).contains(&mtu) {
                        return Err(format!("MTU {mtu} is out of range: IPv6 needs 1280..65535"));
                    }
                    attrs.set_once(port, Attr::Mtu, line, false)?;
                    link.mtu = Some(mtu);
                }
                "lladdr" => {
                    let m = mac(value(key, &mut rest)?)?;
                    if m.is_multicast() || m == EthernetAddress::default() {
                        return Err(format!(
                            "{m} cannot be an interface's address (a group or all-zero MAC)"
                        ));
                    }
                    attrs.set_once(port, Attr::Lladdr, line, false)?;
                    link.lladdr = Some(m);
                }
                "pointopoint" => {
                    let on = on_off(value(key, &mut rest)?)?;
                    attrs.set_once(port, Attr::Pointopoint, line, false)?;
                    link.pointopoint = on;
                }
                "label" => {
                    let text = value(key, &mut rest)?;
                    attrs.set_once(port, Attr::Label, line, false)?;
                    link.label = Some(text.to_string());
                    self.labels.push((port, line));
                }
                "zone" => {
                    let v = value(key, &mut rest)?;
                    let ((name, scope), zone) = match scope_name(v) {
                        Some(s) => {
                            let (z, tail) = rest
                                .split_first()
                                .ok_or("`zone` needs a zone id after the scope")?;
                            rest = tail;
                            (s, number(z, "zone id")?)
                        }
                        None => (("link", scope::LINK_LOCAL), number(v, "zone id")?),
                    };
                    attrs.set_once(port, Attr::Zone(name, scope), line, false)?;
                    link.zones.push((scope, zone));
                    // Interface-local scope follows the link-local zone.
                    if scope == scope::LINK_LOCAL {
                        let interface = Attr::Zone("interface", scope::INTERFACE_LOCAL);
                        attrs.set_once(port, interface, line, true)?;
                        link.zones.push((scope::INTERFACE_LOCAL, zone));
                    }
                }
                other => {
                    return Err(format!(
                        "unknown link attribute `{other}` (expected up, mtu, lladdr, pointopoint, zone or label)"
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
        not_v4_mapped(&addr, "an interface address")?;
        let dev = self.dev(dev)?;
        // A link-local address names a station on one link only, so two
        // links may each have it; any other address is the router's once.
        let link = is_link_local_unicast(&addr).then_some(dev);
        if !self.addrs.insert((addr, link)) {
            return Err(format!("address {addr} is assigned twice"));
        }
        self.cfg.addrs.push(Addr {
            dev,
            addr,
            prefix_len,
        });
        Ok(())
    }

    fn route(&mut self, w: &[&str]) -> Result<()> {
        let [prefix, rest @ ..] = w else {
            return Err("expected `route add PREFIX [via GATEWAY] [dev DEV] [blackhole|reject] [dynamic|modified]`".into());
        };
        let (prefix, prefix_len) = prefix_of(prefix)?;
        // With no host bits set, a prefix whose first address is multicast
        // lies inside ff00::/8, and one whose first is IPv4-mapped inside
        // ::ffff:0:0/96.
        if prefix.is_multicast() {
            return Err(format!(
                "{prefix}/{prefix_len} is multicast: routes are for unicast destinations; multicast is not forwarded (ip6_forward drops it)"
            ));
        }
        if is_v4_mapped(&prefix) {
            return Err(format!(
                "{prefix}/{prefix_len} is IPv4-mapped: {V4_MAPPED_WHY}"
            ));
        }
        let mut r = RouteConf {
            prefix,
            prefix_len,
            via: None,
            dev: None,
            flags: RouteFlags::default(),
            line: self.line,
        };
        let mut rest = rest;
        while let [key, tail @ ..] = rest {
            rest = tail;
            match *key {
                "via" => {
                    let v = value(key, &mut rest)?;
                    let gw: Ipv6Addr = v
                        .parse()
                        .map_err(|_| format!("`{v}` is not an IPv6 address"))?;
                    if gw.is_multicast() || gw.is_unspecified() {
                        return Err(format!("gateway {gw} must be a unicast address"));
                    }
                    not_v4_mapped(&gw, "a gateway")?;
                    r.via = Some(gw);
                    r.flags.gateway = true;
                }
                "dev" => r.dev = Some(self.dev(value(key, &mut rest)?)?),
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
            if is_link_local_unicast(&gw) && r.dev.is_none() {
                return Err(format!(
                    "link-local gateway {gw} needs `dev portN` to say which link"
                ));
            }
            if r.dev == Some(Dev::Loopback) {
                return Err("a gateway route cannot use lo0".into());
            }
        }
        match self.routes.entry((prefix.to_bits(), prefix_len)) {
            Entry::Occupied(first) => {
                return Err(format!(
                    "a route for {prefix}/{prefix_len} already exists (added on line {})",
                    first.get()
                ));
            }
            Entry::Vacant(v) => {
                v.insert(self.line);
            }
        }
        self.cfg.routes.push(r);
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
        not_v4_mapped(&addr, "a neighbour")?;
        let lladdr = mac(lladdr)?;
        if lladdr.is_multicast() {
            return Err(format!("{lladdr} is a group address, not a neighbour's"));
        }
        let port = self.port(dev)?;
        // A link-local address names a station on one link only, so two
        // links may each have a neighbour with it; any other address is one
        // station's, on one link.
        let link = is_link_local_unicast(&addr).then_some(port);
        match self.neighs.entry((addr, link)) {
            Entry::Occupied(o) => {
                let (first_port, first_line) = *o.get();
                return Err(if first_port == port {
                    format!(
                        "neighbour {addr} on port{port} is given twice (first on line {first_line})"
                    )
                } else {
                    format!(
                        "neighbour {addr} is on port{first_port} already (line {first_line}): an address that is not link-local is one station's, on one link"
                    )
                });
            }
            Entry::Vacant(v) => {
                v.insert((port, self.line));
            }
        }
        self.cfg.neighs.push(Neigh {
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
        if self.cfg.filters.len() >= pfil::MAX_RULES {
            return Err(format!(
                "too many filter rules (at most {})",
                pfil::MAX_RULES
            ));
        }
        self.cfg.filters.push(FilterConf {
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
        if let Some(first) = self.sysctls.get(name) {
            return Err(format!("sysctl {name} is already set on line {first}"));
        }
        let s = &mut self.cfg.settings;
        match name {
            "net.inet6.ip6.stealth" => s.stealth = bool01(value)?,
            "net.inet6.ip6.fastforwarding" => s.fastforwarding = bool01(value)?,
            "net.inet6.ip6.redirect" => s.sendredirects = bool01(value)?,
            "net.inet6.icmp6.errppslimit" => {
                s.icmp6errppslim = number(value, "errppslimit")?;
                // -1 is FreeBSD's documented "unlimited"; other negative
                // values are typos that would silently mean the same.
                if s.icmp6errppslim < -1 {
                    return Err(
                        "net.inet6.icmp6.errppslimit must be -1 (unlimited), 0 (none) or a positive rate"
                            .into(),
                    );
                }
            }
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
        self.sysctls.insert(name.to_string(), self.line);
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
            if !self.queues.insert((port, queue)) {
                return Err(format!(
                    "receive queue port{port}/{queue} is polled by two workers"
                ));
            }
            rx.push((port, queue));
        }
        if !self.lcores.insert(lcore) {
            return Err(format!("lcore {lcore} already has a worker"));
        }
        self.cfg.workers.push(WorkerConf { lcore, rx });
        Ok(())
    }

    /// `mac load POLICY` and `mac set POLICY KEY VALUE`: policies load in
    /// file order (the last loaded is asked first), and a setting applies
    /// to one loaded before it.
    fn mac(&mut self, w: &[&str]) -> Result<()> {
        match w {
            ["load", name] => {
                let policy = mac::policy_named(name).ok_or_else(|| {
                    format!(
                        "unknown MAC policy `{name}` (expected one of {})",
                        mac::POLICY_NAMES.join(", ")
                    )
                })?;
                self.cfg.mac.register(policy).map_err(|e| match e {
                    Errno::EEXIST => format!("{name} is loaded already ({e})"),
                    e => format!("cannot load {name}: {e}"),
                })
            }
            ["set", name, key, value] => {
                if self.cfg.mac.policies().get(name).is_none() {
                    return Err(format!("{name} is not loaded (`mac load {name}` first)"));
                }
                if let Some(first) = self.mac_sets.get(&(name.to_string(), key.to_string())) {
                    return Err(format!(
                        "mac set {name} {key} is already given on line {first}"
                    ));
                }
                if (*name, *key) == ("biba", "trusted_interfaces") {
                    for dev in value.split(',').filter(|d| !d.is_empty()) {
                        self.port(dev).map_err(|e| {
                            if dev == "lo0" {
                                "lo0 is always biba/equal: trusted_interfaces names ports"
                                    .to_string()
                            } else {
                                e
                            }
                        })?;
                    }
                }
                self.mac_sets
                    .insert((name.to_string(), key.to_string()), self.line);
                let policies = self.cfg.mac.policies();
                policies.get(name).map_or(Ok(()), |p| p.set(key, value))
            }
            _ => Err("expected `mac load POLICY` or `mac set POLICY KEY VALUE`".into()),
        }
    }

    /// Checks that need the whole file.
    fn check(&mut self) -> std::result::Result<(), (usize, String)> {
        self.check_ports()?;
        self.check_labels()?;
        // A gateway without `dev` is on the link whose prefix covers it.
        let cfg = &mut self.cfg;
        for r in &mut cfg.routes {
            if let (Some(gw), None) = (r.via, r.dev) {
                let dev = cfg
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

    /// Each port's `label` is one the loaded policies accept for it from
    /// the configuration's credential, as they will when it starts.
    fn check_labels(&self) -> std::result::Result<(), (usize, String)> {
        let p = self.cfg.mac.policies();
        let mut cred = crate::mac::config_cred(p);
        let mut result = Ok(());
        for &(port, line) in &self.labels {
            let link = &self.cfg.links[usize::from(port)];
            let ifp = Ifnet::new(
                port,
                format!("port{port}"),
                EthernetAddress::default(),
                link.mtu.unwrap_or(crate::tables::DEFAULT_MTU),
                IfFlags {
                    loopback: false,
                    pointopoint: link.pointopoint,
                },
            );
            match crate::mac::interface_label(p, &cred, &ifp, link.label.as_deref()) {
                Ok(mut l) => p.label_destroy(Kind::Ifnet, &mut l),
                Err(e) => {
                    result = Err((line, e));
                    break;
                }
            }
        }
        p.label_destroy(Kind::Cred, &mut cred.label);
        result
    }

    /// Every port used is declared, the declared ones are numbered from
    /// port0 without a gap, and there is at least one. Of several errors,
    /// the earliest in the file is reported.
    fn check_ports(&mut self) -> std::result::Result<(), (usize, String)> {
        let mut errors: Vec<(usize, String)> = self
            .used
            .iter()
            .filter(|(port, _)| !self.declared.contains_key(port))
            .map(|(port, &line)| {
                (
                    line,
                    format!("port{port} is not declared (add `link set port{port} up`)"),
                )
            })
            .collect();
        let mut next = 0;
        for (&port, &line) in &self.declared {
            if port != next {
                errors.push((
                    line,
                    format!(
                        "port{port} is declared but port{next} is not: DPDK numbers ports from port0 without gaps (add `link set port{next} up`)"
                    ),
                ));
            }
            next = port + 1;
        }
        if let Some(first) = errors.into_iter().min_by_key(|(line, _)| *line) {
            return Err(first);
        }
        if self.declared.is_empty() {
            return Err((0, "declares no ports: add `link set port0 up`".into()));
        }
        self.cfg.ports = next;
        Ok(())
    }
}

/// Why IPv4-mapped addresses are refused wherever the file gives one.
const V4_MAPPED_WHY: &str = "IPv4-mapped addresses never appear on the wire (ip6_input drops them)";

fn not_v4_mapped(a: &Ipv6Addr, what: &str) -> Result<()> {
    if is_v4_mapped(a) {
        return Err(format!(
            "{a} cannot be {what}: it is IPv4-mapped, and {V4_MAPPED_WHY}"
        ));
    }
    Ok(())
}

/// The value after `key`, taken from `rest`.
fn value<'a>(key: &str, rest: &mut &[&'a str]) -> Result<&'a str> {
    let (v, tail) = rest
        .split_first()
        .ok_or_else(|| format!("`{key}` needs a value"))?;
    *rest = tail;
    Ok(v)
}

/// `port<N>` or `lo0`.
fn device(name: &str) -> Result<Dev> {
    if name == "lo0" {
        return Ok(Dev::Loopback);
    }
    let n = parse_port(name).map_err(|_| {
        format!(
            "unknown device `{name}` (expected port0..port{} or lo0)",
            MAX_PORTS - 1
        )
    })?;
    Ok(Dev::Port(n))
}

/// A device that must be a port.
fn port_of(name: &str) -> Result<u16> {
    match device(name)? {
        Dev::Port(n) => Ok(n),
        Dev::Loopback => Err("lo0 cannot be configured here; name a port".into()),
    }
}

/// `port<N>`: DPDK port N, below [`MAX_PORTS`], with no leading zero so
/// that each port has one name.
pub fn parse_port(name: &str) -> Result<u16> {
    name.strip_prefix("port")
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .filter(|n| *n == "0" || !n.starts_with('0'))
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

/// A scope's name as `zone` takes it: its canonical name, for messages,
/// and its number.
fn scope_name(s: &str) -> Option<(&'static str, u8)> {
    Some(match s {
        "interface" => ("interface", scope::INTERFACE_LOCAL),
        "link" => ("link", scope::LINK_LOCAL),
        "realm" => ("realm", scope::REALM_LOCAL),
        "admin" => ("admin", scope::ADMIN_LOCAL),
        "site" => ("site", scope::SITE_LOCAL),
        "organization" | "org" => ("organization", scope::ORG_LOCAL),
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
            "link set port0 up\n\
             link set port1 mtu 1500 lladdr 02:00:00:00:00:01\n\
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
            "test.conf:1: unknown statement `frobnicate` (expected link, addr, route, neigh, filter, sysctl, worker or mac)"
        );
        assert!(err("link set eth0 mtu 1500").starts_with("test.conf:1: unknown device `eth0`"));
        assert!(err("link set port0 mtu 1000").contains("out of range"));
        assert!(err("link set port0 mtu").contains("`mtu` needs a value"));
        assert!(err("link set port0 lladdr 02:00").contains("not a MAC address"));
        assert!(err("addr add 2001:db8::1/129 dev port0").contains("over 128"));
        assert!(err("addr add ff02::1/64 dev port0").contains("cannot be an interface address"));
        assert!(err("route add 2001:db8::/32").contains("needs `via GATEWAY`"));
        assert!(err("route add 2001:db8::/32 via fe80::1").contains("needs `dev portN`"));
        assert!(
            err("link set port0 up\nroute add 2001:db8::/32 via 2001:db9::1")
                .contains("on no configured link")
        );
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
            "test.conf:2: a route for 2001:db8::/32 already exists (added on line 1)"
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
        assert!(
            parse(
                "link set port0 up\nlink set port1 up\n\
                 addr add fe80::1/64 dev port0\naddr add fe80::1/64 dev port1"
            )
            .is_ok()
        );
        assert!(
            err("addr add fe80::1/64 dev port0\naddr add fe80::1/64 dev port0")
                .contains("assigned twice")
        );
    }

    #[test]
    fn mac_statements_and_labels() {
        let c = parse(
            "link set port0 up\nlink set port1 label mls/low(low-high),biba/high(low-high)\n\
             mac load mls\nmac load biba\nmac set mls enabled 0\n\
             mac set biba trusted_interfaces port0,port1\nmac load ifoff\nmac set ifoff other_enabled 1\n",
        )
        .unwrap();
        let p = c.mac.policies();
        assert_eq!(p.count(), 3);
        assert_eq!(
            p.iter().map(|(p, _)| p.conf().name).collect::<Vec<_>>(),
            vec!["ifoff", "biba", "mls"],
            "the last loaded is asked first"
        );
        assert_eq!(
            c.link(1).label.as_deref(),
            Some("mls/low(low-high),biba/high(low-high)")
        );
        let settings = p.get("mls").unwrap().settings();
        assert!(
            settings.contains(&("enabled", "0".to_string())),
            "{settings:?}"
        );

        let base = "link set port0 up\nlink set port1 up\n";
        let e = |t: &str| err(&format!("{base}{t}"));
        assert_eq!(
            e("mac load lomac"),
            "test.conf:3: unknown MAC policy `lomac` (expected one of mls, biba, ifoff, test, stub)"
        );
        assert_eq!(
            e("mac load mls\nmac load mls"),
            "test.conf:4: mls is loaded already (EEXIST)"
        );
        assert_eq!(
            e("mac set mls enabled 0"),
            "test.conf:3: mls is not loaded (`mac load mls` first)"
        );
        assert!(
            e("mac load mls\nmac set mls bogus 1")
                .starts_with("test.conf:4: mls has no setting `bogus`")
        );
        assert!(e("mac load mls\nmac set mls enabled yes").starts_with("test.conf:4: "));
        assert!(e("mac load ifoff\nmac set ifoff lo_enabled 2").starts_with("test.conf:4: "));
        assert!(
            e("mac load biba\nmac set biba trusted_interfaces port7")
                .starts_with("test.conf:4: port7 is not declared")
        );
        assert_eq!(
            e("mac load"),
            "test.conf:3: expected `mac load POLICY` or `mac set POLICY KEY VALUE`"
        );
        assert!(
            e("link set port1 label mls/low(low-high)")
                .starts_with("test.conf:3: label `mls/low(low-high)` for port1: EINVAL: no loaded policy labels interfaces")
        );
        assert!(
            e("mac load mls\nlink set port1 label mls/low")
                .starts_with("test.conf:4: label `mls/low` for port1: EINVAL")
        );
        assert!(
            e("mac load mls\nlink set port1 label biba/low(low-low)").starts_with("test.conf:4: ")
        );
        assert!(e("mac load mls\nlink set port1 label mls/(5-3)").starts_with("test.conf:4: "));
        assert!(
            parse(&format!(
                "{base}link set port1 label mls/low(low-high)\nmac load mls"
            ))
            .is_ok(),
            "a label may come before the load: labels are checked once the file is read"
        );
        assert_eq!(
            e("mac load mls\nlink set port1 label mls/low(low-high) label mls/5(low-high)"),
            "test.conf:4: `label` is given twice"
        );
    }

    #[test]
    fn a_sysctl_is_set_once_and_up_may_be_said_again() {
        assert_eq!(
            err(
                "link set port0 up\nsysctl net.inet6.ip6.redirect=0\nsysctl net.inet6.ip6.redirect=1"
            ),
            "test.conf:3: sysctl net.inet6.ip6.redirect is already set on line 2"
        );
        assert!(parse("link set port0 up\nlink set port0 up mtu 1500").is_ok());
    }

    #[test]
    fn port_names() {
        assert_eq!(parse_port("port0"), Ok(0));
        assert_eq!(parse_port("port31"), Ok(31));
        assert_eq!(parse_port("port10"), Ok(10));
        for bad in [
            "port32", "port", "port+1", "port01x", "eth0", "Port1", "port01", "port00", "port031",
        ] {
            assert!(parse_port(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ports_exist_only_as_link_set_declares_them() {
        let c = parse("link set port0 up").unwrap();
        assert_eq!((c.ports, c.link(0)), (1, Link::default()));
        let c =
            parse("link set port0 up mtu 9000\nlink set port1 lladdr 02:00:00:00:00:01").unwrap();
        assert_eq!((c.ports, c.link(0).mtu), (2, Some(9000)));
        // A declaration may come after the statements that use the port.
        let c = parse(
            "addr add 2001:db8::1/64 dev port1\nworker 1 rx port1/0\n\
             link set port0 up\nlink set port1 up",
        )
        .unwrap();
        assert_eq!((c.ports, c.links.len()), (2, 2));
        // The loopback needs no declaration.
        assert!(parse("link set port0 up\nroute add 2001:db8::/32 dev lo0").is_ok());
        assert_eq!(
            err(
                "link set port0 up\naddr add 2001:db8::1/64 dev port0\n#\naddr add 2001:db8:1::1/64 dev port9"
            ),
            "test.conf:4: port9 is not declared (add `link set port9 up`)"
        );
        for (text, port) in [
            ("route add 2001:db8::/32 dev port2", 2),
            ("route add 2001:db8::/32 via fe80::1 dev port3", 3),
            ("neigh add fe80::1 lladdr 02:00:00:00:00:01 dev port4", 4),
            ("filter add drop iif port5", 5),
            ("filter add drop oif port6", 6),
            ("worker 1 rx port0/0 port7/0", 7),
        ] {
            assert_eq!(
                err(&format!("link set port0 up\n{text}\nlink set port1 up")),
                format!("test.conf:2: port{port} is not declared (add `link set port{port} up`)"),
                "{text}"
            );
        }
        // The first line a port is used on is the one reported.
        assert!(
            err("link set port0 up\n\nfilter add drop iif port7\naddr add 2001:db8::1 dev port7")
                .starts_with("test.conf:3: port7 is not declared")
        );
        assert!(err("link set port0").contains("`link set` needs an attribute: up, mtu"));
        assert!(err("link set lo0 up").contains("lo0 cannot be configured here"));
        assert!(err("link set port0 down").contains("unknown link attribute `down`"));
    }

    #[test]
    fn declared_ports_are_numbered_from_port0_without_gaps() {
        assert_eq!(
            err("link set port0 up\nlink set port1 up\n\nlink set port3 up"),
            "test.conf:4: port3 is declared but port2 is not: DPDK numbers ports from port0 without gaps (add `link set port2 up`)"
        );
        assert!(
            err("link set port1 up").starts_with("test.conf:1: port1 is declared but port0 is not")
        );
        // Of several errors, the earliest line's.
        assert!(
            err("link set port2 up\naddr add 2001:db8::1 dev port5\nlink set port0 up")
                .starts_with("test.conf:1: port2 is declared but port1 is not")
        );
        assert!(
            err("link set port0 up\naddr add 2001:db8::1 dev port5\nlink set port2 up")
                .starts_with("test.conf:2: port5 is not declared")
        );
        for text in ["", "# nothing\n", "route add 2001:db8::/32 blackhole\n"] {
            assert_eq!(
                err(text),
                "test.conf: declares no ports: add `link set port0 up`",
                "{text:?}"
            );
        }
        let all: String = (0..MAX_PORTS)
            .map(|n| format!("link set port{n} up\n"))
            .collect();
        assert_eq!(parse(&all).unwrap().ports, MAX_PORTS);
        assert!(err(&format!("{all}link set port32 up")).contains("unknown device `port32`"));
        assert!(err("link set port01 up").contains("unknown device `port01`"));
    }

    #[test]
    fn a_neighbour_is_given_once() {
        let base = "link set port0 up\nlink set port1 up\n";
        assert_eq!(
            err(&format!(
                "{base}neigh add fe80::1 lladdr 02:00:00:00:01:01 dev port1\n\
                 neigh add fe80::1 lladdr 02:00:00:00:01:02 dev port1"
            )),
            "test.conf:4: neighbour fe80::1 on port1 is given twice (first on line 3)"
        );
        // The same link-local address on two links names two stations.
        let c = parse(&format!(
            "{base}neigh add fe80::1 lladdr 02:00:00:00:01:01 dev port0\n\
             neigh add fe80::1 lladdr 02:00:00:00:01:02 dev port1"
        ))
        .unwrap();
        assert_eq!(c.neighs.len(), 2);
        assert_eq!(
            err(&format!(
                "{base}neigh add 2001:db8::5 lladdr 02:00:00:00:01:01 dev port0\n\
                 neigh add 2001:db8::5 lladdr 02:00:00:00:01:01 dev port1"
            )),
            "test.conf:4: neighbour 2001:db8::5 is on port0 already (line 3): an address that is not link-local is one station's, on one link"
        );
        assert!(
            err(&format!(
                "{base}neigh add 2001:db8::5 lladdr 02:00:00:00:01:01 dev port0\n\
                 neigh add 2001:db8::5 lladdr 02:00:00:00:01:01 dev port0"
            ))
            .ends_with("neighbour 2001:db8::5 on port0 is given twice (first on line 3)")
        );
    }

    #[test]
    fn a_link_attribute_is_given_once() {
        assert_eq!(
            err("link set port1 mtu 1500 mtu 1400\nlink set port0 up"),
            "test.conf:1: `mtu` is given twice"
        );
        assert_eq!(
            err("link set port0 up\nlink set port1 mtu 1500\n\nlink set port1 mtu 1400"),
            "test.conf:4: `mtu` of port1 is already set on line 2"
        );
        assert_eq!(
            err("link set port0 lladdr 02:00:00:00:00:01 lladdr 02:00:00:00:00:02"),
            "test.conf:1: `lladdr` is given twice"
        );
        assert_eq!(
            err("link set port0 lladdr 02:00:00:00:00:01\nlink set port0 lladdr 02:00:00:00:00:01"),
            "test.conf:2: `lladdr` of port0 is already set on line 1"
        );
        assert_eq!(
            err("link set port0 pointopoint on\nlink set port0 pointopoint off"),
            "test.conf:2: `pointopoint` of port0 is already set on line 1"
        );
        assert_eq!(
            err("link set port0 zone site 1\nlink set port0 zone 9 zone site 3"),
            "test.conf:2: `zone site` of port0 is already set on line 1"
        );
        assert_eq!(
            err("link set port0 zone 7 zone link 8"),
            "test.conf:1: `zone link` is given twice"
        );
        assert_eq!(
            err("link set port0 zone 7\nlink set port0 zone interface 8"),
            "test.conf:2: `zone interface` of port0 is already set on line 1 (a link zone sets the interface zone too)"
        );
        // Different attributes, ports and scopes are no conflict.
        let c = parse(
            "link set port0 lladdr 02:00:00:00:00:01\nlink set port0 mtu 9000\n\
             link set port1 mtu 9000 zone site 1\nlink set port1 zone 9 zone admin 3\n\
             link set port0 zone site 1",
        )
        .unwrap();
        assert_eq!(c.link(1).zones, vec![(5, 1), (2, 9), (1, 9), (4, 3)]);
        assert_eq!(c.link(0).zones, vec![(5, 1)]);
    }

    #[test]
    fn errppslimit_is_unlimited_none_or_a_rate() {
        for (v, want) in [(-1, -1), (0, 0), (1, 1), (5000, 5000)] {
            let c = parse(&format!(
                "link set port0 up\nsysctl net.inet6.icmp6.errppslimit={v}"
            ))
            .unwrap();
            assert_eq!(c.settings.icmp6errppslim, want);
        }
        for v in ["-2", "-100", "-2147483648"] {
            assert_eq!(
                err(&format!("sysctl net.inet6.icmp6.errppslimit={v}")),
                "test.conf:1: net.inet6.icmp6.errppslimit must be -1 (unlimited), 0 (none) or a positive rate"
            );
        }
    }

    #[test]
    fn multicast_and_ipv4_mapped_are_refused_where_they_cannot_work() {
        let base = "link set port0 up\n";
        for prefix in ["ff00::/8", "ff02::/16", "ff05::1:3/128"] {
            assert_eq!(
                err(&format!("{base}route add {prefix} dev port0")),
                format!(
                    "test.conf:2: {prefix} is multicast: routes are for unicast destinations; multicast is not forwarded (ip6_forward drops it)"
                )
            );
        }
        for prefix in [
            "::ffff:0.0.0.0/96",
            "::ffff:192.0.2.0/120",
            "::ffff:192.0.2.1/128",
        ] {
            assert!(
                err(&format!("{base}route add {prefix} blackhole")).ends_with(
                    "is IPv4-mapped: IPv4-mapped addresses never appear on the wire (ip6_input drops them)"
                ),
                "{prefix}"
            );
        }
        // Prefixes that only contain multicast or IPv4-mapped addresses
        // among others are routes for unicast too.
        let c = parse(&format!(
            "{base}route add fe00::/7 dev port0\nroute add ::/64 dev port0\nroute add default dev port0"
        ))
        .unwrap();
        assert_eq!(c.routes.len(), 3);
        assert_eq!(
            err(&format!(
                "{base}route add 2001:db8::/32 via ::ffff:192.0.2.1 dev port0"
            )),
            "test.conf:2: ::ffff:192.0.2.1 cannot be a gateway: it is IPv4-mapped, and IPv4-mapped addresses never appear on the wire (ip6_input drops them)"
        );
        assert_eq!(
            err(&format!("{base}addr add ::ffff:192.0.2.1/128 dev port0")),
            "test.conf:2: ::ffff:192.0.2.1 cannot be an interface address: it is IPv4-mapped, and IPv4-mapped addresses never appear on the wire (ip6_input drops them)"
        );
        assert_eq!(
            err(&format!(
                "{base}neigh add ::ffff:192.0.2.1 lladdr 02:00:00:00:00:01 dev port0"
            )),
            "test.conf:2: ::ffff:192.0.2.1 cannot be a neighbour: it is IPv4-mapped, and IPv4-mapped addresses never appear on the wire (ip6_input drops them)"
        );
    }

    /// A full table's worth of routes reads in a moment, and a duplicate
    /// after them all is still found, with the line of the first.
    #[test]
    fn a_quarter_million_routes_read_in_linear_time() {
        use std::fmt::Write;
        const N: u32 = 250_000;
        let mut text = String::from("link set port0 up\n");
        for i in 0..N {
            writeln!(
                text,
                "route add 2001:db8:{:x}:{:x}::/64 dev port0",
                i >> 16,
                i & 0xffff
            )
            .unwrap();
        }
        let start = std::time::Instant::now();
        let c = parse(&text).unwrap();
        assert_eq!(c.routes.len(), N as usize);
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "took {:?}",
            start.elapsed()
        );
        // Route 123456 (0x1e240) is on line 123458.
        text.push_str("route add 2001:db8:1:e240::/64 dev port0\n");
        assert_eq!(
            err(&text),
            format!(
                "test.conf:{}: a route for 2001:db8:1:e240::/64 already exists (added on line 123458)",
                N + 2
            )
        );
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
