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
                    v["tx_enqueued"] = p.tx_enqueued.into();
                    v["tx_oqdrops"] = p.tx_oqdrops.into();
                }
                if let Some(hw) = self.hw.get(i) {
                    v["hw"] = hw.json();
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
        })
    }

    /// The table printed at the end of a replay or run.
    pub fn summary(&self) -> String {
        let s = self.stats;
        let f = &s.fates;
        let mut out = String::new();
        let _ = writeln!(out, "received   {:>12}", f.received);
        for (i, name) in self.ifnames.iter().enumerate() {
            let fwd = s.ifs.get(i).map_or(0, |x| x.ifs6_out_forward);
            let sent = s.ports.get(i).map_or(0, |p| p.tx_enqueued);
            let refused = s.ports.get(i).map_or(0, |p| p.tx_oqdrops);
            if fwd + sent + refused > 0 {
                let _ = writeln!(
                    out,
                    "  {name:<8} forwarded {fwd:>10}  transmitted {sent:>10}  tx refused {refused:>8}"
                );
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
        assert!(s.contains("noroute"), "{s}");
        assert!(s.contains(": ok"), "{s}");
    }
}
