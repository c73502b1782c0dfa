//! Ethernet ports and their queues.

use std::ffi::CStr;
use std::mem::MaybeUninit;
use std::ptr::NonNull;
use std::sync::Arc;

use arrayvec::ArrayVec;
use controlplane::report::PortCounters;
use dataplane::wire::ethernet::Address as EthernetAddress;

use super::eal::EalGuard;
use super::{BURST, DpdkError, Eal, Mbuf, Mempool, check, sys};

/// The longest Ethernet frame carrying an IPv6 packet of `mtu` bytes:
/// header and frame check sequence added.
pub fn frame_len(mtu: u32) -> usize {
    mtu as usize + 14 + 4
}

/// How to set a port up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortConfig {
    pub rx_queues: u16,
    pub tx_queues: u16,
    pub rx_desc: u16,
    pub tx_desc: u16,
    /// The largest IPv6 packet the port must carry (the link MTU).
    pub mtu: u32,
    /// Receive every unicast frame: needed when the router's configured
    /// MAC address is not one the NIC would accept.
    pub promiscuous: bool,
}

/// The open port; stopped and closed when the last handle goes.
#[derive(Debug)]
struct PortInner {
    id: u16,
    _pool: Arc<Mempool>,
    _eal: Arc<EalGuard>,
}

impl Drop for PortInner {
    fn drop(&mut self) {
        // SAFETY: no queue handle is left (each holds this Arc), so no lcore
        // polls the port; stopping flushes the driver's buffers (net_pcap
        // closes its capture files) and close releases its mbufs.
        unsafe {
            sys::rte_eth_dev_stop(self.id);
            sys::rte_eth_dev_close(self.id);
        }
    }
}

/// A configured, started port.
#[derive(Debug, Clone)]
pub struct Port {
    inner: Arc<PortInner>,
}

/// One receive queue; the only handle to it, so one lcore polls it.
#[derive(Debug)]
pub struct RxQueue {
    port: Arc<PortInner>,
    queue: u16,
}

/// One transmit queue; the only handle to it, so one lcore sends on it.
#[derive(Debug)]
pub struct TxQueue {
    port: Arc<PortInner>,
    queue: u16,
}

impl Port {
    /// Configures port `id` with `conf`, its receive queues filling from
    /// `pool`, starts it, and returns it with its queue handles.
    pub fn start(
        eal: &Eal,
        id: u16,
        conf: &PortConfig,
        pool: &Arc<Mempool>,
    ) -> Result<(Port, Vec<RxQueue>, Vec<TxQueue>), DpdkError> {
        let what = |call: &'static str| move || format!("port{id}: {call}");
        let mut info = MaybeUninit::<sys::rte_eth_dev_info>::zeroed();
        // SAFETY: info points to writable storage for the struct.
        check(what("rte_eth_dev_info_get"), unsafe {
            sys::rte_eth_dev_info_get(id, info.as_mut_ptr())
        })?;
        // SAFETY: rte_eth_dev_info_get succeeded and filled it in.
        let info = unsafe { info.assume_init() };
        if conf.rx_queues > info.max_rx_queues || conf.tx_queues > info.max_tx_queues {
            return Err(DpdkError::new(
                format!(
                    "port{id}: needs {} rx and {} tx queues, the driver offers {} and {}",
                    conf.rx_queues, conf.tx_queues, info.max_rx_queues, info.max_tx_queues
                ),
                22,
            ));
        }
        let mut eth = sys::rte_eth_conf::default();
        if conf.rx_queues > 1 {
            let hf = u64::from(
                sys::RTE_ETH_RSS_IPV6
                    | sys::RTE_ETH_RSS_NONFRAG_IPV6_TCP
                    | sys::RTE_ETH_RSS_NONFRAG_IPV6_UDP,
            ) & info.flow_type_rss_offloads;
            if hf != 0 {
                eth.rxmode.mq_mode = sys::RTE_ETH_MQ_RX_RSS;
                eth.rx_adv_conf.rss_conf.rss_hf = hf;
            }
        }
        let multiseg = u64::from(sys::RTE_ETH_TX_OFFLOAD_MULTI_SEGS);
        if info.tx_offload_capa & multiseg != 0 {
            eth.txmode.offloads |= multiseg;
        }
        // Frames longer than an mbuf's data room arrive in chains; drivers
        // that can must be asked to (drivers that cannot reject the MTU, or,
        // like net_pcap, chain without being asked).
        // SAFETY: the pool is valid while `pool` is.
        let room = unsafe { sys::rte_pktmbuf_data_room_size(pool.as_ptr()) };
        let frame = frame_len(conf.mtu);
        let scatter = u64::from(sys::RTE_ETH_RX_OFFLOAD_SCATTER);
        if frame > usize::from(room).saturating_sub(sys::RTE_PKTMBUF_HEADROOM as usize)
            && info.rx_offload_capa & scatter != 0
        {
            eth.rxmode.offloads |= scatter;
        }
        // SAFETY: eth is a valid configuration for the call.
        check(what("rte_eth_dev_configure"), unsafe {
            sys::rte_eth_dev_configure(id, conf.rx_queues, conf.tx_queues, &eth)
        })?;
        // From here on the port is ours to stop and close, on error too.
        let inner = Arc::new(PortInner {
            id,
            _pool: pool.clone(),
            _eal: eal.guard.clone(),
        });
        let (mut rxd, mut txd) = (conf.rx_desc, conf.tx_desc);
        // SAFETY: both pointers are to live u16s.
        check(what("rte_eth_dev_adjust_nb_rx_tx_desc"), unsafe {
            sys::rte_eth_dev_adjust_nb_rx_tx_desc(id, &mut rxd, &mut txd)
        })?;
        // SAFETY: no preconditions.
        let socket = unsafe { sys::rte_eth_dev_socket_id(id) }.max(0) as u32;
        for q in 0..conf.rx_queues {
            // SAFETY: the port is configured with this many queues; the pool
            // outlives the port (PortInner holds it).
            check(what("rte_eth_rx_queue_setup"), unsafe {
                sys::rte_eth_rx_queue_setup(id, q, rxd, socket, std::ptr::null(), pool.as_ptr())
            })?;
        }
        for q in 0..conf.tx_queues {
            // SAFETY: as above; a null config takes the driver's defaults.
            check(what("rte_eth_tx_queue_setup"), unsafe {
                sys::rte_eth_tx_queue_setup(id, q, txd, socket, std::ptr::null())
            })?;
        }
        // Drivers without an MTU setter (net_pcap) carry any size already.
        // SAFETY: no preconditions.
        let rc = unsafe { sys::rte_eth_dev_set_mtu(id, conf.mtu.min(u32::from(u16::MAX)) as u16) };
        if rc < 0 && rc != -95 {
            check(what("rte_eth_dev_set_mtu"), rc)?;
        }
        // SAFETY: no preconditions; drivers that lack these ignore them.
        unsafe {
            if conf.promiscuous {
                sys::rte_eth_promiscuous_enable(id);
            }
            sys::rte_eth_allmulticast_enable(id);
        }
        // SAFETY: the port is fully configured.
        check(what("rte_eth_dev_start"), unsafe {
            sys::rte_eth_dev_start(id)
        })?;
        let rx = (0..conf.rx_queues)
            .map(|queue| RxQueue {
                port: inner.clone(),
                queue,
            })
            .collect();
        let tx = (0..conf.tx_queues)
            .map(|queue| TxQueue {
                port: inner.clone(),
                queue,
            })
            .collect();
        Ok((Port { inner }, rx, tx))
    }

    /// The port's MAC address; callers check that `id` is a valid port.
    pub fn mac(eal: &Eal, id: u16) -> Result<EthernetAddress, DpdkError> {
        let _ = eal;
        let mut a = sys::rte_ether_addr::default();
        // SAFETY: a is writable storage for the address.
        check(|| format!("port{id}: rte_eth_macaddr_get"), unsafe {
            sys::rte_eth_macaddr_get(id, &mut a)
        })?;
        Ok(EthernetAddress(a.addr_bytes))
    }

    /// The device name (for `net_pcap0` and the like, its vdev name).
    pub fn name(&self) -> String {
        let mut buf = [0 as std::ffi::c_char; 64];
        // SAFETY: buf is RTE_ETH_NAME_MAX_LEN (64) bytes, as the call needs.
        let rc = unsafe { sys::rte_eth_dev_get_name_by_port(self.inner.id, buf.as_mut_ptr()) };
        if rc < 0 {
            return format!("port{}", self.inner.id);
        }
        // SAFETY: on success buf holds a NUL-terminated name.
        unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    }

    pub fn stats(&self) -> PortCounters {
        let mut s = MaybeUninit::<sys::rte_eth_stats>::zeroed();
        // SAFETY: s is writable storage for the struct; zeroed is a valid
        // value if the call fails.
        let s = unsafe {
            sys::rte_eth_stats_get(self.inner.id, s.as_mut_ptr());
            s.assume_init()
        };
        PortCounters {
            ipackets: s.ipackets,
            opackets: s.opackets,
            ibytes: s.ibytes,
            obytes: s.obytes,
            imissed: s.imissed,
            ierrors: s.ierrors,
            oerrors: s.oerrors,
            rx_nombuf: s.rx_nombuf,
        }
    }
}

impl RxQueue {
    pub fn port(&self) -> u16 {
        self.port.id
    }

    /// Receives up to the room left in `out`; counts in `badlen` the
    /// frames whose length the driver misreported (and which were mended).
    #[inline]
    pub fn rx_burst(&mut self, out: &mut ArrayVec<Mbuf, BURST>, badlen: &mut u64) -> usize {
        let room = out.remaining_capacity();
        let mut raw = [std::ptr::null_mut::<sys::rte_mbuf>(); BURST];
        // SAFETY: this handle is the queue's only one (&mut self), so no
        // other thread polls it; raw has room for `room` pointers.
        let n = usize::from(unsafe {
            sys::rte_eth_rx_burst(self.port.id, self.queue, raw.as_mut_ptr(), room as u16)
        });
        for &p in &raw[..n] {
            // SAFETY: the driver hands over n valid, exclusively owned mbufs.
            let mut m = unsafe { Mbuf::from_raw(NonNull::new_unchecked(p)) };
            *badlen += u64::from(m.repair_len());
            out.push(m);
        }
        n
    }
}

impl TxQueue {
    pub fn port(&self) -> u16 {
        self.port.id
    }

    /// Sends from the front of `pkts`; those the queue takes leave the
    /// vector, those it refuses stay, in order.
    #[inline]
    pub fn tx_burst(&mut self, pkts: &mut ArrayVec<Mbuf, BURST>) -> usize {
        // SAFETY: Mbuf is repr(transparent) over a non-null rte_mbuf
        // pointer, so the vector's storage is an array of rte_mbuf *.
        let raw = pkts.as_mut_ptr() as *mut *mut sys::rte_mbuf;
        // SAFETY: this handle is the queue's only one; the driver takes
        // ownership of the first n mbufs it returns.
        let n = usize::from(unsafe {
            sys::rte_eth_tx_burst(self.port.id, self.queue, raw, pkts.len() as u16)
        });
        for m in pkts.drain(..n) {
            m.into_raw();
        }
        n
    }
}
