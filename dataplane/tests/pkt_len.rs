//! A packet whose length disagrees with its bytes (as a driver that keeps
//! the length in 16 bits reports a longer frame) is dropped or forwarded
//! under a named counter, never a panic or an arithmetic overflow.

mod common;

use std::net::Ipv6Addr;
use std::sync::Arc;

use common::*;
use dataplane::forward::LogEvent;
use dataplane::iface::IfIndex;
use dataplane::stats::WorkerStats;
use dataplane::{Engine, Io, PacketBuf, VecPacket};

/// A packet that reports `len` as its length whatever its bytes are.
#[derive(Debug)]
struct Lying {
    bytes: VecPacket,
    len: usize,
}

impl PacketBuf for Lying {
    fn head(&self) -> &[u8] {
        self.bytes.head()
    }
    fn head_mut(&mut self) -> &mut [u8] {
        self.bytes.head_mut()
    }
    fn pkt_len(&self) -> usize {
        self.len
    }
    fn read(&self, offset: usize, dst: &mut [u8]) -> usize {
        self.bytes.read(offset, dst)
    }
    fn truncate(&mut self, len: usize) -> bool {
        self.len = self.len.min(len);
        self.bytes.truncate(len.min(self.bytes.pkt_len()))
    }
    fn extend(&mut self, len: usize) -> Option<&mut [u8]> {
        self.len += len;
        self.bytes.extend(len)
    }
    fn rx_port(&self) -> u16 {
        self.bytes.rx_port()
    }
    fn label(&self) -> Option<&dataplane::mac::MbufLabel> {
        self.bytes.label()
    }
    fn label_mut(&mut self) -> Option<&mut dataplane::mac::MbufLabel> {
        self.bytes.label_mut()
    }
}

#[derive(Default)]
struct Sink {
    sent: usize,
}

impl Io<Lying> for Sink {
    fn alloc(&mut self) -> Option<Lying> {
        Some(Lying {
            bytes: VecPacket::new(vec![], u16::MAX),
            len: 0,
        })
    }
    fn transmit(&mut self, _port: IfIndex, _pkt: Lying) {
        self.sent += 1;
    }
    fn punt(&mut self, _pkt: Lying) -> Result<(), Lying> {
        Ok(())
    }
    fn resolve(&mut self, _ifindex: IfIndex, _addr: Ipv6Addr) {}
    fn log(&mut self, _event: LogEvent) {}
}

#[test]
fn any_reported_length_is_survived_and_counted() {
    let snap = snapshot();
    let stats = Arc::new(WorkerStats::new(snap.ifnets.len()));
    let mut engine = Engine::<Lying>::new(stats.clone(), 0, 1);
    let mut io = Sink::default();
    let frame = Ip6::udp(A, B).on(0);
    let lens = [
        0,
        1,
        13,
        14,
        20,
        53,
        54,
        frame.data.len() - 1,
        frame.data.len() + 1,
        65_535,
        65_536 + frame.data.len(),
        usize::MAX,
    ];
    let mut burst: Vec<Lying> = lens
        .iter()
        .map(|&len| Lying {
            bytes: frame.clone(),
            len,
        })
        .collect();
    engine.process_burst(&mut burst, &snap, std::time::Instant::now(), &mut io);
    let s = stats.read();
    assert_eq!(s.fates.received, lens.len() as u64);
    assert!(s.conserved(), "{s:?}");
    assert!(s.fates.drop_toosmall > 0, "short lengths are too small");
    assert!(
        s.fates.drop_tooshort > 0,
        "a length short of the payload is too short"
    );
}
