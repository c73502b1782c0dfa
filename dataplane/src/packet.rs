//! The packet abstraction the dataplane works on.
//!
//! The application implements [`PacketBuf`] for `rte_mbuf`; tests and
//! benchmarks use [`VecPacket`]. Code generic over it is monomorphised, so the
//! abstraction costs nothing at run time.

/// Mutable packet bytes plus the metadata the forwarding path needs.
///
/// A packet may span several segments (a jumbo frame read into chained
/// mbufs). The headers the dataplane rewrites must lie in the first segment,
/// [`head`](PacketBuf::head); bytes beyond it are reached only by copying.
pub trait PacketBuf {
    /// The first segment.
    fn head(&self) -> &[u8];
    fn head_mut(&mut self) -> &mut [u8];
    /// The length of the whole packet, all segments.
    fn pkt_len(&self) -> usize;
    /// Copies bytes from `offset` on, across segments, into `dst`; returns
    /// how many were copied.
    fn read(&self, offset: usize, dst: &mut [u8]) -> usize;
    /// Shortens the packet to `len` bytes (FreeBSD's `m_adj` with a negative
    /// count), as `ip6_input` does when a frame carries link-layer padding.
    /// Returns false if `len` exceeds the packet.
    fn truncate(&mut self, len: usize) -> bool;
    /// Appends `len` bytes to the packet's last segment and returns them;
    /// `None` if they do not fit. Used on freshly allocated packets, whose
    /// bytes are whatever the buffer held before: callers write them all.
    fn extend(&mut self, len: usize) -> Option<&mut [u8]>;
    /// The DPDK port the packet arrived on.
    fn rx_port(&self) -> u16;
    /// The packet's MAC label, where the buffer has room for one (an mbuf
    /// has it in its private area only while some policy labels packets).
    fn label(&self) -> Option<&MbufLabel>;
    fn label_mut(&mut self) -> Option<&mut MbufLabel>;
}

/// A burst of received packets, which the engine reads in place (a run of
/// them is classified before any is taken) and then empties: the worker's
/// receive array is worked on where the driver put it, not copied out
/// first.
pub trait Burst<P> {
    fn packets(&self) -> &[P];
    /// Takes every packet, in order, leaving the burst empty.
    fn take_all(&mut self) -> impl Iterator<Item = P> + '_;
}

impl<P> Burst<P> for Vec<P> {
    #[inline]
    fn packets(&self) -> &[P] {
        self
    }

    #[inline]
    fn take_all(&mut self) -> impl Iterator<Item = P> + '_ {
        self.drain(..)
    }
}

impl<P, const N: usize> Burst<P> for arrayvec::ArrayVec<P, N> {
    #[inline]
    fn packets(&self) -> &[P] {
        self
    }

    #[inline]
    fn take_all(&mut self) -> impl Iterator<Item = P> + '_ {
        self.drain(..)
    }
}

use crate::exthdr::Bytes;
use crate::mac::MbufLabel;

/// A packet in one heap buffer, for tests and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VecPacket {
    pub data: Vec<u8>,
    pub port: u16,
    /// The most [`extend`](PacketBuf::extend) may grow to, as an mbuf's data
    /// room would limit it.
    pub room: usize,
    pub label: MbufLabel,
}

impl VecPacket {
    pub fn new(data: Vec<u8>, port: u16) -> VecPacket {
        VecPacket {
            data,
            port,
            room: 2048,
            label: MbufLabel::default(),
        }
    }
}

impl PacketBuf for VecPacket {
    fn head(&self) -> &[u8] {
        &self.data
    }

    fn head_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }

    fn pkt_len(&self) -> usize {
        self.data.len()
    }

    fn read(&self, offset: usize, dst: &mut [u8]) -> usize {
        self.data.read_at(offset, dst)
    }

    fn truncate(&mut self, len: usize) -> bool {
        if len > self.data.len() {
            return false;
        }
        self.data.truncate(len);
        true
    }

    fn extend(&mut self, len: usize) -> Option<&mut [u8]> {
        let start = self.data.len();
        if start + len > self.room {
            return None;
        }
        self.data.resize(start + len, 0);
        Some(&mut self.data[start..])
    }

    fn rx_port(&self) -> u16 {
        self.port
    }

    fn label(&self) -> Option<&MbufLabel> {
        Some(&self.label)
    }

    fn label_mut(&mut self) -> Option<&mut MbufLabel> {
        Some(&mut self.label)
    }
}
