//! What labelgate does to one packet.
//!
//! This crate knows nothing of DPDK or threads: it works on any buffer that
//! implements [`PacketBuf`], takes the time as an argument and allocates
//! nothing per packet, so every forwarding decision can be tested with plain
//! byte arrays.
#![forbid(unsafe_code)]

pub mod engine;
pub mod exthdr;
pub mod fastfwd;
pub mod fib;
pub mod forward;
pub mod icmp6;
pub mod iface;
pub mod in6_src;
pub mod input;
pub mod mac;
pub mod nd6;
pub mod neigh;
pub mod packet;
pub mod pfil;
pub mod ratelimit;
pub mod snapshot;
pub mod stats;
pub mod wire;

pub use engine::{Engine, Io};
pub use packet::{PacketBuf, VecPacket};
pub use snapshot::Snapshot;
