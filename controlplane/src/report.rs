//! Counters for people and for scripts: a summary table and JSON under
//! FreeBSD's names (`ip6s_forward`, `ifs6_out_forward`, ...).

use std::fmt::Write;

use dataplane::stats::{FateValues, StatsValues};
use serde_json::{Map, Value, json};

use crate::local::LocalStats;

/// A port's counters as its driver keeps them (`rte_eth_stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortCounters {
    pub ipackets: u64,
    pub opackets: u64,
    pub ibytes: u64,
    pub obytes: u64,
    pub imissed: u64,
    pub ierrors: u64,
    pub oerrors: u64,
    pub rx_nombuf: u64,
}

impl PortCounters {
    fn json(&self) -> Value {
        json!({
            "ipackets": self.ipackets, "opackets": self.opackets,
            "ibytes": self.ibytes, "obytes": self.obytes,
            "imissed": self.imissed, "ierrors": self.ierrors,
            "oerrors": self.oerrors, "rx_nombuf": self.rx_nombuf,
        })
    }
}

/// A loaded MAC policy, as the report shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyReport {
    pub name: &'static str,
    pub slot: Option<usize>,
    pub flags: Vec<&'static str>,
    pub settings: Vec<(&'static str, String)>,
    /// What the policy itself counts (the test policy's entry points).
    pub counters: Vec<(String, u64)>,
}

/// The MAC framework's part of a report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MacReport {
    /// The loaded policies, in the order they were loaded.
    pub policies: Vec<PolicyReport>,
    /// The name of the policy with each id, to read the denial counters.
    pub names_by_id: Vec<Option<&'static str>>,
    /// Each interface's label as text, by ifindex.
    pub labels: Vec<String>,
}

impl MacReport {
    /// What `policies` has loaded and `labels` are, now.
    pub fn of(policies: &dataplane::mac::Policies, labels: Vec<String>) -> MacReport {
        use dataplane::mac::Flags;
        let mut out: Vec<PolicyReport> = policies
            .iter()
            .map(|(p, slot)| {
                let flags = p.conf().flags;
                PolicyReport {
                    name: p.conf().name,
                    slot,
                    flags: [
                        (Flags::UNLOADOK, "UNLOADOK"),
                        (Flags::NOTLATE, "NOTLATE"),
                        (Flags::LABELMBUFS, "LABELMBUFS"),
                    ]
                    .into_iter()
                    .filter(|(f, _)| flags.contains(*f))
                    .map(|(_, n)| n)
                    .collect(),
                    settings: p.settings(),
                    counters: p.report(),
                }
            })
            .collect();
        out.reverse();
        MacReport {
            policies: out,
            names_by_id: policies.names_by_id().to_vec(),
            labels,
        }
    }

    /// Refusals at transmit as `(policy, errno, count)`.
    fn denials<'a>(
        &'a self,
        s: &'a StatsValues,
    ) -> impl Iterator<Item = (&'static str, &'static str, u64)> + 'a {
        s.mac_denied.iter().enumerate().flat_map(move |(id, row)| {
            let name = self.names_by_id.get(id).copied().flatten();
            row.iter()
                .enumerate()
                .filter(|&(_, &n)| n > 0)
                .map(move |(e, &n)| (name.unwrap_or("?"), dataplane::mac::Errno::ALL[e].name(), n))
        })
    }

    fn json(&self, s: &StatsValues) -> Value {
        let mut denied = Map::new();
        for (policy, errno, n) in self.denials(s) {
            denied
                .entry(policy)
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("made as an object")
                .insert(errno.to_string(), n.into());
        }
        let policies: Vec<Value> = self
            .policies
            .iter()
            .map(|p| {
                json!({
                    "name": p.name,
                    "slot": p.slot,
                    "flags": p.flags,
                    "settings": p.settings.iter().map(|(k, v)| (k.to_string(), Value::from(v.clone()))).collect::<Map<_, _>>(),
                    "counters": p.counters.iter().map(|(k, v)| (k.clone(), Value::from(*v))).collect::<Map<_, _>>(),
                })
            })
            .collect();
        json!({ "policies": policies, "denied": denied })
    }
}

/// Everything a report says.
pub struct Report<'a> {
    pub stats: &'a StatsValues,
    /// Interface names by index.
    pub ifnames: &'a [String],
    /// Driver counters by port.
    pub hw: &'a [PortCounters],
    /// Filter rules as written, by position.
    pub filters: &'a [String],
    pub local: &'a LocalStats,
    pub mac: &'a MacReport,
}

fn object<'a>(pairs: impl Iterator<Item = (&'a str, u64)>) -> Value {
    Value::Object(
        pairs
            .map(|(k, v)| (k.to_string(), Value::from(v)))
            .collect(),
    )
}

/// The drop reasons, without their `drop_` prefix.
fn drops(f: &FateValues) -> impl Iterator<Item = (&'static str, u64)> + '_ {
    f.iter()
        .filter_map(|(k, v)| k.strip_prefix("drop_").map(|k| (k, v)))
}

impl Report<'_> {
    pub fn json(&self) -> Value {
        let s = self.stats;
        let f = &s.fates;
        let outhist: Map<String, Value> = s
            .icmp6_outhist
            .iter()
            .enumerate()
            .filter(|(_, v)| **v != 0)
            .map(|(t, v)| (t.to_string(), Value::from(*v)))
            .collect();
        let mut icmp6 = object(s.icmp6.iter());
        icmp6["icp6s_outhist"] = Value::Object(outhist);
        let interfaces: Map<String, Value> = self
            .ifnames
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let mut v = object(s.ifs.get(i).copied().unwrap_or_default().iter());
                if let Some(p) = s.ports.get(i) {
                    for (k, n) in p.iter() {
                        v[k] = n.into();
                    }
                }
                if let Some(hw) = self.hw.get(i) {
                    v["hw"] = hw.json();
                }
                if let Some(l) = self.mac.labels.get(i).filter(|l| !l.is_empty()) {
                    v["label"] = l.clone().into();
                }
                (name.clone(), v)
            })
            .collect();
        let filters: Vec<Value> = self
            .filters
            .iter()
            .enumerate()
            .map(|(i, text)| json!({ "rule": text, "hits": s.filter_hits.get(i).copied().unwrap_or(0) }))
            .collect();
        json!({
            "fates": {
                "received": f.received,
                "forwarded": f.forwarded,
                "punted": f.punted,
                "held": f.held,
                "dropped": s.dropped(),
                "drops": object(drops(f)),
            },
            "conserved": s.conserved(),
            "ip6stat": object(s.ip6.iter()),
            "icmp6stat": icmp6,
            "interfaces": interfaces,
            "filters": filters,
            "control": object(self.local.iter()),
            "upcalls": object(s.upcalls.iter()),
            "rtcache": object(s.rtcache.iter()),
            "fastfwd": object(s.fastfwd.iter()),
            "mac": self.mac.json(s),
        })
    }

    /// The table printed at the end of a replay or run.
    pub fn summary(&self) -> String {
        let s = self.stats;
        let f = &s.fates;
        let mut out = String::new();
        let _ = writeln!(out, "received   {:>12}", f.received);
        let _ = writeln!(
            out,
            "  {:<8} {:>10} {:>10} {:>11} {:>10}",
            "port", "received", "routed", "transmitted", "tx refused"
        );
        for (i, name) in self.ifnames.iter().enumerate() {
            let rx = self.hw.get(i).map_or(0, |h| h.ipackets);
            let routed = s.ifs.get(i).map_or(0, |x| x.ifs6_out_forward);
            let sent = s.ports.get(i).map_or(0, |p| p.tx_enqueued);
            let refused = s.ports.get(i).map_or(0, |p| p.tx_oqdrops);
            if i < self.hw.len() || rx + routed + sent + refused > 0 {
                let _ = writeln!(
                    out,
                    "  {name:<8} {rx:>10} {routed:>10} {sent:>11} {refused:>10}"
                );
            }
        }
        let _ = writeln!(
            out,
            "  (routed: ip6_forward chose the port; held and unresolved packets are among them)"
        );
        if !self.mac.policies.is_empty() {
            let names: Vec<&str> = self.mac.policies.iter().map(|p| p.name).collect();
            let _ = writeln!(out, "mac policies    {}", names.join(", "));
            for (name, label) in self.ifnames.iter().zip(&self.mac.labels) {
                if !label.is_empty() {
                    let _ = writeln!(out, "  {name:<8} label {label}");
                }
            }
            let denied: Vec<String> = self
                .mac
                .denials(s)
                .map(|(p, e, n)| format!("{p} {e} {n}"))
                .collect();
            if !denied.is_empty() {
                let _ = writeln!(out, "  refused at transmit: {}", denied.join(", "));
            }
        }
        let _ = writeln!(out, "forwarded  {:>12}", f.forwarded);
        let _ = writeln!(out, "punted     {:>12}", f.punted);
        if f.held > 0 {
            let _ = writeln!(out, "held       {:>12}", f.held);
        }
        let _ = writeln!(out, "dropped    {:>12}", s.dropped());
        for (name, v) in drops(f).filter(|(_, v)| *v > 0) {
            let _ = writeln!(out, "  {name:<20} {v:>10}");
        }
        let sent: u64 = s.ifs.iter().map(|i| i.ifs6_out_msg).sum();
        let decided = s.icmp6.icp6s_error + s.icmp6.icp6s_oredirect;
        if decided > 0 {
            let _ = writeln!(
                out,
                "icmp6 sent {:>12}  (decided {}, rate-limited {}, not allowed {}, undeliverable {})",
                sent,
                decided,
                s.icmp6.icp6s_toofreq,
                s.icmp6.icp6s_canterror + s.icmp6.icp6s_badaddr,
                s.ip6.ip6s_odropped
            );
        }
        let _ = writeln!(
            out,
            "conservation: received {} = forwarded {} + punted {} + held {} + dropped {}: {}",
            f.received,
            f.forwarded,
            f.punted,
            f.held,
            s.dropped(),
            if s.conserved() { "ok" } else { "VIOLATED" }
        );
        out
    }
}

/// `n` and its noun, in the plural when `n` is not one.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A packet rate in the unit that shows it: pps, kpps or Mpps, three
/// significant figures.
pub fn rate(packets: u64, secs: f64) -> String {
    let pps = packets as f64 / secs.max(1e-9);
    let (v, unit) = if pps >= 1e6 {
        (pps / 1e6, "Mpps")
    } else if pps >= 1e3 {
        (pps / 1e3, "kpps")
    } else {
        (pps, "pps")
    };
    let decimals = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    format!("{v:.decimals$} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use dataplane::stats::WorkerStats;

    #[test]
    fn json_and_summary_agree_with_the_counters() {
        let w = WorkerStats::new(2);
        w.fates.received.add(5);
        w.fates.forwarded.add(3);
        w.fates.drop_noroute.add(2);
        w.ip6.ip6s_noroute.add(2);
        w.ifs[0].ifs6_out_forward.add(3);
        w.ports[0].tx_enqueued.add(3);
        w.icmp6_outhist.0[1].add(2);
        w.filter_hits[0].inc();
        let stats = w.read();
        let names = vec!["port0".to_string(), "lo0".to_string()];
        let r = Report {
            stats: &stats,
            ifnames: &names,
            hw: &[PortCounters {
                ipackets: 5,
                ..Default::default()
            }],
            filters: &["drop proto udp".to_string()],
            local: &LocalStats::default(),
            mac: &MacReport::default(),
        };
        let j = r.json();
        assert_eq!(j["fates"]["received"], 5);
        assert_eq!(j["fates"]["drops"]["noroute"], 2);
        assert_eq!(j["fates"]["dropped"], 2);
        assert_eq!(j["conserved"], true);
        assert_eq!(j["ip6stat"]["ip6s_noroute"], 2);
        assert_eq!(j["icmp6stat"]["icp6s_outhist"]["1"], 2);
        assert_eq!(j["interfaces"]["port0"]["ifs6_out_forward"], 3);
        assert_eq!(j["interfaces"]["port0"]["hw"]["ipackets"], 5);
        assert_eq!(j["filters"][0]["hits"], 1);
        let s = r.summary();
        assert!(s.contains("received              5"), "{s}");
        assert!(
            s.contains("  port0             5          3           3          0"),
            "{s}"
        );
        assert!(
            s.contains("held and unresolved packets are among them"),
            "{s}"
        );
        assert!(s.contains("noroute"), "{s}");
        assert!(s.contains(": ok"), "{s}");
    }

    #[test]
    fn rates_and_counts_read_at_a_glance() {
        assert_eq!(rate(13, 0.057), "228 pps");
        assert_eq!(rate(4, 0.011), "364 pps");
        assert_eq!(rate(45_000, 1.0), "45.0 kpps");
        assert_eq!(rate(1_000_000, 0.45), "2.22 Mpps");
        assert_eq!(rate(0, 0.0), "0.00 pps");
        assert_eq!(count(1, "worker"), "1 worker");
        assert_eq!(count(2, "worker"), "2 workers");
        assert_eq!(count(0, "port"), "0 ports");
    }
}
