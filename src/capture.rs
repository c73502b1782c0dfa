//! Capture files around a replay: checking inputs before DPDK sees them,
//! spreading an input over several receive queues, and merging what several
//! transmit queues wrote.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use controlplane::report::count;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapReader, PcapWriter};
use pcap_file::pcapng::{Block, PcapNgReader};
use pcap_file::{DataLink, TsResolution};

/// libpcap refuses records longer than this for Ethernet
/// (`max_snaplen_for_dlt`), and so net_pcap stops there.
const LIBPCAP_MAX_CAPLEN: usize = 262_144;

/// DPDK 22.11's net_pcap keeps a received frame's length in 16 bits
/// (`eth_pcap_rx_jumbo`), so a longer record would reach the router with a
/// length that disagrees with its bytes. No IPv6 packet without a jumbo
/// payload option is longer than 65,535 + 40 bytes anyway.
pub const NET_PCAP_MAX_FRAME: usize = 65_535;

/// The classic pcap versions libpcap reads (`pcap_check_header`).
const PCAP_VERSION_MAJOR: u16 = 2;
const PCAP_VERSION_MINOR: u16 = 4;

/// What a capture holds, as net_pcap (through libpcap) will read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    pub path: PathBuf,
    /// Records up to the first damage.
    pub packets: u64,
    /// Why reading stopped before the end of the file, if it did.
    pub damaged: Option<String>,
    /// The longest record, as replayed (after any cut).
    pub max_len: usize,
    /// Records longer than the capture's snapshot length, cut to it as
    /// libpcap cuts them on reading.
    pub cut_to_snaplen: u64,
    /// Records longer than net_pcap can carry, cut to
    /// [`NET_PCAP_MAX_FRAME`].
    pub cut_to_net_pcap: u64,
    /// A classic pcap read to its end with no record cut: libpcap will
    /// deliver exactly the records counted. Anything else is replayed from a
    /// rewritten copy of those records, cut as counted, so that what is
    /// replayed never depends on how two readers treat damage or length,
    /// and one worker replays what several do.
    pub clean: bool,
}

impl Capture {
    /// What the replay changes of the capture, for a warning.
    pub fn cuts(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.cut_to_snaplen > 0 {
            out.push(format!(
                "{} longer than the capture's snapshot length, cut to it as libpcap reads them",
                count(self.cut_to_snaplen as usize, "record")
            ));
        }
        if self.cut_to_net_pcap > 0 {
            out.push(format!(
                "{} longer than the {NET_PCAP_MAX_FRAME} bytes net_pcap can carry, cut to that",
                count(self.cut_to_net_pcap as usize, "record")
            ));
        }
        out
    }
}

/// The records of a capture, whichever of the two formats it is in.
enum Records {
    /// A classic pcap and its effective snapshot length.
    Pcap(PcapReader<BufReader<File>>, usize),
    PcapNg(PcapNgReader<BufReader<File>>),
}

/// One record: its time and bytes.
struct Record {
    ts: Duration,
    orig_len: u32,
    data: Vec<u8>,
}

/// How a record was cut to what net_pcap will deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    None,
    Snaplen,
    NetPcap,
}

fn open(path: &Path) -> Result<Records, String> {
    let mut f = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut magic = [0u8; 4];
    f.read_exact(&mut magic)
        .map_err(|_| format!("{}: not a capture file (too short)", path.display()))?;
    let f = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let r = BufReader::new(f);
    let bad = |e| format!("{}: not a readable capture: {e}", path.display());
    match magic {
        // Interfaces are declared in blocks among the packets; each is
        // checked as it is read.
        [0x0a, 0x0d, 0x0d, 0x0a] => Ok(Records::PcapNg(PcapNgReader::new(r).map_err(bad)?)),
        _ => {
            let p = PcapReader::new(r).map_err(bad)?;
            let h = p.header();
            if h.version_major != PCAP_VERSION_MAJOR || h.version_minor > PCAP_VERSION_MINOR {
                return Err(format!(
                    "{}: pcap version {}.{}, which libpcap does not read (it reads {PCAP_VERSION_MAJOR}.0 to {PCAP_VERSION_MAJOR}.{PCAP_VERSION_MINOR})",
                    path.display(),
                    h.version_major,
                    h.version_minor
                ));
            }
            if h.datalink != DataLink::ETHERNET {
                return Err(format!(
                    "{}: link type {:?}, not Ethernet; labelgate replays Ethernet captures",
                    path.display(),
                    h.datalink
                ));
            }
            // libpcap takes a zero or oversized snapshot length as its
            // maximum for the link type.
            let snaplen = match h.snaplen as usize {
                0 => LIBPCAP_MAX_CAPLEN,
                n => n.min(LIBPCAP_MAX_CAPLEN),
            };
            Ok(Records::Pcap(p, snaplen))
        }
    }
}

impl Records {
    /// The next record as net_pcap will deliver it, and how it was cut;
    /// `Err` describes damage that stops reading.
    fn next(&mut self) -> Option<Result<(Record, Cut), String>> {
        let snaplen = match self {
            Records::Pcap(_, s) => *s,
            Records::PcapNg(_) => LIBPCAP_MAX_CAPLEN,
        };
        Some(self.next_raw()?.map(|mut r| {
            let cut = if r.data.len() > snaplen {
                r.data.truncate(snaplen);
                Cut::Snaplen
            } else {
                Cut::None
            };
            if r.data.len() > NET_PCAP_MAX_FRAME {
                r.data.truncate(NET_PCAP_MAX_FRAME);
                return (r, Cut::NetPcap);
            }
            (r, cut)
        }))
    }

    /// The next record as the file holds it.
    fn next_raw(&mut self) -> Option<Result<Record, String>> {
        match self {
            Records::Pcap(r, _) => {
                let nano = r.header().ts_resolution == TsResolution::NanoSecond;
                let raw = match r.next_raw_packet()? {
                    Ok(raw) => raw,
                    Err(e) => return Some(Err(damage(e))),
                };
                if raw.incl_len as usize > LIBPCAP_MAX_CAPLEN {
                    return Some(Err(too_long(raw.incl_len as usize)));
                }
                let frac = if nano {
                    raw.ts_frac
                } else {
                    raw.ts_frac.saturating_mul(1000)
                };
                Some(Ok(Record {
                    ts: Duration::new(u64::from(raw.ts_sec), 0)
                        + Duration::from_nanos(u64::from(frac)),
                    orig_len: raw.orig_len,
                    data: raw.data.into_owned(),
                }))
            }
            Records::PcapNg(r) => loop {
                match r.next_block()? {
                    Ok(Block::EnhancedPacket(p)) if p.data.len() > LIBPCAP_MAX_CAPLEN => {
                        return Some(Err(too_long(p.data.len())));
                    }
                    Ok(Block::SimplePacket(p)) if p.data.len() > LIBPCAP_MAX_CAPLEN => {
                        return Some(Err(too_long(p.data.len())));
                    }
                    Ok(Block::EnhancedPacket(p)) => {
                        return Some(Ok(Record {
                            ts: p.timestamp,
                            orig_len: p.original_len,
                            data: p.data.into_owned(),
                        }));
                    }
                    Ok(Block::SimplePacket(p)) => {
                        return Some(Ok(Record {
                            ts: Duration::ZERO,
                            orig_len: p.original_len,
                            data: p.data.into_owned(),
                        }));
                    }
                    Ok(Block::InterfaceDescription(i)) if i.linktype != DataLink::ETHERNET => {
                        return Some(Err(format!(
                            "{NOT_ETHERNET}: an interface of link type {:?}",
                            i.linktype
                        )));
                    }
                    Ok(_) => continue,
                    Err(e) => return Some(Err(damage(e))),
                }
            },
        }
    }
}

/// A record libpcap refuses, and stops reading at.
fn too_long(len: usize) -> String {
    format!("a record claims {len} bytes, more than libpcap reads ({LIBPCAP_MAX_CAPLEN})")
}

fn damage(e: pcap_file::PcapError) -> String {
    match e {
        pcap_file::PcapError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the capture ends in the middle of a record".into()
        }
        other => format!("a corrupt record ({other})"),
    }
}

const NOT_ETHERNET: &str = "not Ethernet";

/// Checks that `path` is an Ethernet capture and counts what libpcap will
/// deliver from it.
pub fn inspect(path: &Path) -> Result<Capture, String> {
    let mut records = open(path)?;
    let classic = matches!(records, Records::Pcap(..));
    let (mut packets, mut max_len, mut damaged) = (0, 0, None);
    let (mut cut_to_snaplen, mut cut_to_net_pcap) = (0, 0);
    while let Some(r) = records.next() {
        match r {
            Ok((r, cut)) => {
                packets += 1;
                max_len = max_len.max(r.data.len());
                match cut {
                    Cut::None => {}
                    Cut::Snaplen => cut_to_snaplen += 1,
                    Cut::NetPcap => cut_to_net_pcap += 1,
                }
            }
            Err(e) if packets == 0 && e.starts_with(NOT_ETHERNET) => {
                return Err(format!(
                    "{}: {e}; labelgate replays Ethernet captures",
                    path.display()
                ));
            }
            Err(e) => {
                damaged = Some(format!("{e} after {}", count(packets as usize, "packet")));
                break;
            }
        }
    }
    Ok(Capture {
        path: path.to_owned(),
        packets,
        clean: classic && damaged.is_none() && cut_to_snaplen + cut_to_net_pcap == 0,
        damaged,
        max_len,
        cut_to_snaplen,
        cut_to_net_pcap,
    })
}

fn writer(path: &Path) -> Result<PcapWriter<BufWriter<File>>, String> {
    let f = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let header = PcapHeader {
        snaplen: LIBPCAP_MAX_CAPLEN as u32,
        datalink: DataLink::ETHERNET,
        ts_resolution: TsResolution::NanoSecond,
        ..PcapHeader::default()
    };
    PcapWriter::with_header(BufWriter::new(f), header)
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn write(w: &mut PcapWriter<BufWriter<File>>, r: &Record, path: &Path) -> Result<(), String> {
    let p = PcapPacket::new(r.ts, r.orig_len.max(r.data.len() as u32), &r.data);
    w.write_packet(&p)
        .map(|_| ())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The receive queue a NIC's RSS would give a frame: a hash of the IPv6
/// source and destination, so one flow stays on one queue and in order.
/// Frames that are not IPv6 go to queue 0.
pub fn rss_queue(frame: &[u8], queues: usize) -> usize {
    match frame.get(12..14) {
        Some([0x86, 0xdd]) if frame.len() >= 14 + 40 => {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in &frame[14 + 8..14 + 40] {
                h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
            }
            (h % queues as u64) as usize
        }
        _ => 0,
    }
}

/// Spreads the readable records of `input` over `queues` files in `dir`.
pub fn split(input: &Path, queues: usize, dir: &Path, stem: &str) -> Result<Vec<PathBuf>, String> {
    let paths: Vec<PathBuf> = (0..queues)
        .map(|q| dir.join(format!("{stem}.rxq{q}.pcap")))
        .collect();
    let mut writers = paths
        .iter()
        .map(|p| writer(p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut records = open(input)?;
    while let Some(Ok((r, _))) = records.next() {
        let q = rss_queue(&r.data, queues);
        write(&mut writers[q], &r, &paths[q])?;
    }
    for (w, p) in writers.into_iter().zip(&paths) {
        use std::io::Write;
        w.into_writer()
            .flush()
            .map_err(|e| format!("{}: {e}", p.display()))?;
    }
    Ok(paths)
}

/// Merges captures into `out` in time order; returns the records written.
pub fn merge(parts: &[PathBuf], out: &Path) -> Result<u64, String> {
    let mut readers = parts
        .iter()
        .map(|p| open(p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut heads: Vec<Option<Record>> = readers
        .iter_mut()
        .map(|r| r.next().and_then(Result::ok).map(|(r, _)| r))
        .collect();
    let mut w = writer(out)?;
    let mut n = 0;
    while let Some(i) = (0..heads.len())
        .filter(|&i| heads[i].is_some())
        .min_by_key(|&i| heads[i].as_ref().map(|r| r.ts))
    {
        let r = heads[i].take().expect("chosen among the present");
        write(&mut w, &r, out)?;
        n += 1;
        heads[i] = readers[i].next().and_then(Result::ok).map(|(r, _)| r);
    }
    use std::io::Write;
    w.into_writer()
        .flush()
        .map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(src_last: u8) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 40];
        f[12] = 0x86;
        f[13] = 0xdd;
        f[14] = 0x60;
        f[14 + 8 + 15] = src_last;
        f
    }

    fn tmp(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("labelgate-capture-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn write_capture(path: &Path, frames: &[(u64, Vec<u8>)]) {
        let mut w = writer(path).unwrap();
        for (t, f) in frames {
            let r = Record {
                ts: Duration::from_micros(*t),
                orig_len: f.len() as u32,
                data: f.clone(),
            };
            write(&mut w, &r, path).unwrap();
        }
    }

    #[test]
    fn split_keeps_flows_together_and_merge_restores_time_order() {
        let d = tmp("split");
        let input = d.join("in.pcap");
        let frames: Vec<(u64, Vec<u8>)> = (0..64).map(|i| (i, frame((i % 8) as u8))).collect();
        write_capture(&input, &frames);
        assert_eq!(inspect(&input).unwrap().packets, 64);
        let parts = split(&input, 3, &d, "port0").unwrap();
        let counts: Vec<u64> = parts.iter().map(|p| inspect(p).unwrap().packets).collect();
        assert_eq!(counts.iter().sum::<u64>(), 64);
        for p in &parts {
            let mut r = open(p).unwrap();
            let mut last = None;
            while let Some(Ok((rec, _))) = r.next() {
                let q = rss_queue(&rec.data, 3);
                assert_eq!(parts[q], *p, "a flow is on the queue its hash says");
                assert!(
                    last.is_none_or(|t| t < rec.ts),
                    "each queue keeps time order"
                );
                last = Some(rec.ts);
            }
        }
        let out = d.join("merged.pcap");
        assert_eq!(merge(&parts, &out).unwrap(), 64);
        let mut r = open(&out).unwrap();
        let mut i = 0;
        while let Some(Ok((rec, _))) = r.next() {
            assert_eq!(rec.ts, Duration::from_micros(i));
            assert_eq!(rec.data, frames[i as usize].1);
            i += 1;
        }
        assert_eq!(i, 64);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn damaged_and_foreign_inputs() {
        let d = tmp("damaged");
        let good = d.join("good.pcap");
        write_capture(&good, &[(1, frame(1)), (2, frame(2)), (3, frame(3))]);
        let bytes = std::fs::read(&good).unwrap();
        let cut = d.join("cut.pcap");
        std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
        let c = inspect(&cut).unwrap();
        assert_eq!(c.packets, 2);
        assert!(c.damaged.unwrap().contains("after 2 packets"));
        let junk = d.join("junk.pcap");
        std::fs::write(&junk, b"this is not a capture at all").unwrap();
        assert!(
            inspect(&junk)
                .unwrap_err()
                .contains("not a readable capture")
        );
        let empty = d.join("empty.pcap");
        std::fs::write(&empty, b"").unwrap();
        assert!(inspect(&empty).unwrap_err().contains("too short"));
        assert!(
            inspect(&d.join("missing.pcap"))
                .unwrap_err()
                .contains("No such file")
        );
        let mut raw = bytes.clone();
        raw[20] = 101; // DLT_RAW
        let rawf = d.join("raw.pcap");
        std::fs::write(&rawf, &raw).unwrap();
        assert!(inspect(&rawf).unwrap_err().contains("not Ethernet"));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
