//! Typed views over packet bytes.
//!
//! The contract is smoltcp's: a `Packet<T: AsRef<[u8]>>` (or `Frame`) is a
//! set of field accessors over a byte buffer. `new_checked` verifies once that
//! the buffer holds the fixed header, after which no accessor panics.
//! Validation beyond "the bytes are there" (version, payload length against
//! the buffer) is the caller's, because each failure has its own FreeBSD
//! counter and the caller is the one who knows which.

use core::fmt;

/// The buffer is too short for the structure it is being read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncated;

impl fmt::Display for Truncated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("buffer too short for the header")
    }
}

impl std::error::Error for Truncated {}

pub type Result<T> = core::result::Result<T, Truncated>;

/// An open enum over a protocol number: the named values, and `Unknown` for
/// the rest, kept rather than rejected (smoltcp's `enum_with_unknown!`).
macro_rules! enum_with_unknown {
    (
        $(#[$meta:meta])*
        pub enum $name:ident($ty:ty) {
            $( $(#[$vmeta:meta])* $variant:ident = $value:expr ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            Unknown($ty),
        }

        impl From<$ty> for $name {
            fn from(v: $ty) -> Self {
                match v {
                    $( $value => $name::$variant, )+
                    other => $name::Unknown(other),
                }
            }
        }

        impl From<$name> for $ty {
            fn from(v: $name) -> Self {
                match v {
                    $( $name::$variant => $value, )+
                    $name::Unknown(other) => other,
                }
            }
        }
    };
}

pub(crate) use enum_with_unknown;

/// Reads a big-endian u16 at `at`; callers have checked the length.
#[inline]
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[inline]
fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

pub mod checksum;
pub mod ethernet;
pub mod icmpv6;
pub mod ipv6;
pub mod ipv6option;
pub mod ndisc;
