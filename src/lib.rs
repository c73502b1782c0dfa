//! labelgate's DPDK bindings as a library, so that benchmarks and
//! integration tests can drive DPDK through the same safe types as the
//! router; the router itself is the binary (`src/main.rs`).

pub mod dpdk;
