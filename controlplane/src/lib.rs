//! labelgate's control plane: the configuration, the authoritative tables
//! and the snapshots built from them, what the workers hand up, and the
//! counters' reports. It knows nothing of DPDK; the application runs it on
//! its control thread.

pub mod config;
pub mod local;
pub mod mac;
pub mod report;
pub mod tables;

pub use config::Config;
pub use tables::{PortInfo, Tables};
