//! Owned packet buffers.

use std::ptr::NonNull;

use dataplane::PacketBuf;
use dataplane::mac::MbufLabel;

use super::sys;

/// One packet in one or more chained mbufs, owned: freed when dropped.
///
/// `repr(transparent)` over the pointer, so a slice of `Mbuf` is a slice of
/// `rte_mbuf *` for DPDK's burst calls.
#[repr(transparent)]
#[derive(Debug)]
pub struct Mbuf(NonNull<sys::rte_mbuf>);

// SAFETY: an Mbuf is the only handle to its buffer; moving it to another
// thread moves the ownership, and freeing from any thread is allowed.
unsafe impl Send for Mbuf {}

impl Mbuf {
    /// # Safety
    /// `m` must be a valid mbuf (chain) owned by nobody else.
    pub(super) unsafe fn from_raw(m: NonNull<sys::rte_mbuf>) -> Mbuf {
        Mbuf(m)
    }

    /// Gives up ownership (to DPDK, on transmit).
    pub(super) fn into_raw(self) -> *mut sys::rte_mbuf {
        let p = self.0.as_ptr();
        std::mem::forget(self);
        p
    }

    #[inline]
    fn seg(&self) -> &sys::rte_mbuf {
        // SAFETY: we own a valid mbuf for as long as self lives.
        unsafe { self.0.as_ref() }
    }

    /// The DPDK port the packet was received on.
    #[inline]
    pub fn port(&self) -> u16 {
        self.seg().port
    }

    /// The first segment's data.
    #[inline]
    pub fn data(&self) -> &[u8] {
        seg_data(self.seg())
    }

    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: we own the mbuf exclusively (&mut self); its data area
        // [buf_addr + data_off, + data_len) lies within the buffer.
        unsafe {
            let m = self.0.as_mut();
            std::slice::from_raw_parts_mut(
                (m.buf_addr as *mut u8).add(usize::from(m.data_off)),
                usize::from(m.data_len),
            )
        }
    }

    #[inline]
    pub fn pkt_len(&self) -> usize {
        self.seg().pkt_len as usize
    }

    /// Makes the packet length the sum of its segments' lengths if the
    /// driver said otherwise (DPDK 22.11's net_pcap keeps it in 16 bits);
    /// returns whether it had to. One comparison for a single segment.
    #[inline]
    pub(super) fn repair_len(&mut self) -> bool {
        let m = self.seg();
        if m.nb_segs == 1 && m.next.is_null() && m.pkt_len == u32::from(m.data_len) {
            return false;
        }
        let mut total = 0u32;
        let mut segs = 0u16;
        let mut seg = Some(m);
        while let Some(s) = seg {
            total += u32::from(s.data_len);
            segs = segs.saturating_add(1);
            // SAFETY: `next` is null or a valid segment of the chain we own.
            seg = unsafe { s.next.as_ref() };
        }
        if total == m.pkt_len && segs == m.nb_segs {
            return false;
        }
        // SAFETY: we own the chain exclusively; only the head's totals change.
        let head = unsafe { self.0.as_mut() };
        head.pkt_len = total;
        head.nb_segs = segs;
        true
    }

    /// Copies bytes from `offset` on, across segments.
    pub fn read(&self, mut offset: usize, dst: &mut [u8]) -> usize {
        let mut done = 0;
        let mut seg = Some(self.seg());
        while let Some(m) = seg {
            let data = seg_data(m);
            if offset < data.len() {
                let n = (data.len() - offset).min(dst.len() - done);
                dst[done..done + n].copy_from_slice(&data[offset..offset + n]);
                done += n;
                offset = 0;
                if done == dst.len() {
                    break;
                }
            } else {
                offset -= data.len();
            }
            // SAFETY: `next` is null or a valid segment of the chain we own.
            seg = unsafe { m.next.as_ref() };
        }
        done
    }

    /// Shortens the packet to `len` bytes, freeing segments beyond it.
    pub fn truncate(&mut self, len: usize) -> bool {
        if len > self.pkt_len() {
            return false;
        }
        let mut kept = 0usize;
        let mut segs = 0u16;
        let mut cur = self.0.as_ptr();
        // SAFETY: we own the whole chain exclusively; each segment is
        // valid, and the tail cut off is freed once, after it is unlinked.
        unsafe {
            loop {
                let m = &mut *cur;
                segs += 1;
                let dl = usize::from(m.data_len);
                if kept + dl >= len || m.next.is_null() {
                    m.data_len = (len - kept) as u16;
                    if !m.next.is_null() {
                        sys::rte_pktmbuf_free(m.next);
                        m.next = std::ptr::null_mut();
                    }
                    break;
                }
                kept += dl;
                cur = m.next;
            }
            let head = self.0.as_mut();
            head.pkt_len = len as u32;
            head.nb_segs = segs;
        }
        true
    }

    /// Appends `len` bytes to an mbuf with room in its last segment.
    pub fn append(&mut self, len: usize) -> Option<&mut [u8]> {
        let len16 = u16::try_from(len).ok()?;
        // SAFETY: we own the mbuf; rte_pktmbuf_append returns null if the
        // tailroom is short, else a pointer to `len` writable bytes inside
        // the last segment's buffer, now counted in its data_len.
        unsafe {
            let p = sys::rte_pktmbuf_append(self.0.as_ptr(), len16);
            if p.is_null() {
                return None;
            }
            Some(std::slice::from_raw_parts_mut(p as *mut u8, len))
        }
    }
}

/// The bytes of private area a pool needs for its mbufs to carry a MAC
/// label: whole cache lines, so that the packet data after it starts on
/// one as it does without a label. DPDK asks only for a multiple of
/// `RTE_MBUF_PRIV_ALIGN` (8), but at 160 bytes a 64-byte frame straddled
/// two lines and the driver's copy into it and every header read paid for
/// both: with `mls` on a full table labelgate forwarded about 10 Mpps
/// where it forwarded 13 to 15 without a policy, and net_pcap's copy took
/// a tenth of the worker's cycles instead of none to speak of.
pub const LABEL_PRIV_SIZE: u16 = std::mem::size_of::<MbufLabel>().next_multiple_of(64) as u16;
/// The data after a label starts on a cache line.
const _: () = assert!(
    (std::mem::size_of::<sys::rte_mbuf>() + LABEL_PRIV_SIZE as usize + super::HEADROOM)
        .is_multiple_of(64)
);

impl Mbuf {
    /// The label in the private area, if the pool gave mbufs room for one.
    #[inline]
    fn label_ptr(&self) -> Option<*mut MbufLabel> {
        const _: () = assert!(std::mem::align_of::<MbufLabel>() <= 8);
        let m = self.seg();
        if usize::from(m.priv_size) < std::mem::size_of::<MbufLabel>() {
            return None;
        }
        // SAFETY: the private area starts right after the rte_mbuf (DPDK's
        // rte_mbuf_to_priv), lies within the mbuf's object, and is
        // RTE_MBUF_PRIV_ALIGN-aligned, which covers MbufLabel's alignment.
        Some(
            unsafe { (self.0.as_ptr() as *mut u8).add(std::mem::size_of::<sys::rte_mbuf>()) }
                .cast::<MbufLabel>(),
        )
    }
}

#[inline]
fn seg_data(m: &sys::rte_mbuf) -> &[u8] {
    // SAFETY: a valid segment's [buf_addr + data_off, + data_len) lies within
    // its buffer; the slice borrows the segment and so cannot outlive it.
    unsafe {
        std::slice::from_raw_parts(
            (m.buf_addr as *const u8).add(usize::from(m.data_off)),
            usize::from(m.data_len),
        )
    }
}

impl Drop for Mbuf {
    fn drop(&mut self) {
        // SAFETY: we own the chain; it is freed exactly once, here.
        unsafe { sys::rte_pktmbuf_free(self.0.as_ptr()) }
    }
}

impl PacketBuf for Mbuf {
    #[inline]
    fn head(&self) -> &[u8] {
        self.data()
    }

    #[inline]
    fn head_mut(&mut self) -> &mut [u8] {
        self.data_mut()
    }

    #[inline]
    fn pkt_len(&self) -> usize {
        Mbuf::pkt_len(self)
    }

    fn read(&self, offset: usize, dst: &mut [u8]) -> usize {
        Mbuf::read(self, offset, dst)
    }

    fn truncate(&mut self, len: usize) -> bool {
        Mbuf::truncate(self, len)
    }

    fn extend(&mut self, len: usize) -> Option<&mut [u8]> {
        self.append(len)
    }

    #[inline]
    fn rx_port(&self) -> u16 {
        self.port()
    }

    #[inline]
    fn label(&self) -> Option<&MbufLabel> {
        // SAFETY: the area holds priv_size bytes that belong to this mbuf
        // alone; MbufLabel is plain words, so any bytes there (zeroed by
        // rte_pktmbuf_init, or a label of the mbuf's last use) are a valid
        // value; the borrow is tied to &self.
        self.label_ptr().map(|p| unsafe { &*p })
    }

    #[inline]
    fn label_mut(&mut self) -> Option<&mut MbufLabel> {
        // SAFETY: as for label(); &mut self makes the borrow exclusive.
        self.label_ptr().map(|p| unsafe { &mut *p })
    }
}
