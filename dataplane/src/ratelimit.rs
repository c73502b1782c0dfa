//! The rate limiters FreeBSD puts on what the router says about packets.
//!
//! Both take the time as an argument, so tests drive them with made-up
//! instants.

use std::time::{Duration, Instant};

/// FreeBSD's `ppsratecheck` (now `eventratecheck`): a one-second window
/// that opens at the first event after the previous window closed, passing
/// at most `max` events in it. `max == 0` passes nothing; a negative `max`
/// passes everything. This is how `net.inet6.icmp6.errppslimit` limits
/// ICMPv6 errors and redirects.
#[derive(Debug, Clone)]
pub struct PpsLimiter {
    window: Option<Instant>,
    count: u32,
    max: i32,
}

impl PpsLimiter {
    pub fn new(max: i32) -> PpsLimiter {
        PpsLimiter {
            window: None,
            count: 0,
            max,
        }
    }

    pub fn set_max(&mut self, max: i32) {
        self.max = max;
    }

    pub fn max(&self) -> i32 {
        self.max
    }

    /// Counts one event; true if it may pass.
    pub fn check(&mut self, now: Instant) -> bool {
        match self.window {
            Some(start) if now.saturating_duration_since(start) < Duration::from_secs(1) => {
                self.count = self.count.saturating_add(1);
                self.max < 0 || i64::from(self.count) <= i64::from(self.max)
            }
            _ => {
                self.window = Some(now);
                self.count = 1;
                self.max != 0
            }
        }
    }
}

/// The seed's limiter for "cannot forward" log lines: one line, then
/// silence until more than `ip6_log_interval` seconds have passed.
#[derive(Debug, Clone, Default)]
pub struct LogLimiter {
    last: Option<Instant>,
}

impl LogLimiter {
    pub fn check(&mut self, now: Instant, interval: Duration) -> bool {
        match self.last {
            Some(last) if now.saturating_duration_since(last) <= interval => false,
            _ => {
                self.last = Some(now);
                true
            }
        }
    }
}

/// This worker's share of a router-wide limit: `total` split across
/// `workers` so that all of them together pass at most `total` a second.
pub fn share(total: i32, workers: usize, index: usize) -> i32 {
    if total < 0 || workers <= 1 {
        return total;
    }
    let n = workers as i32;
    total / n + i32::from((index as i32) < total % n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_max_per_window() {
        let t0 = Instant::now();
        let mut l = PpsLimiter::new(3);
        let passed = (0..10).filter(|_| l.check(t0)).count();
        assert_eq!(passed, 3);
        // Still in the window just before one second.
        assert!(!l.check(t0 + Duration::from_millis(999)));
        // A new window opens at the first event after it closed.
        assert!(l.check(t0 + Duration::from_millis(1000)));
        assert!(l.check(t0 + Duration::from_millis(1500)));
        assert!(l.check(t0 + Duration::from_millis(1999)));
        assert!(!l.check(t0 + Duration::from_millis(1999)));
    }

    #[test]
    fn zero_denies_and_negative_allows() {
        let t0 = Instant::now();
        let mut z = PpsLimiter::new(0);
        assert!(!(0..5).any(|_| z.check(t0)));
        let mut u = PpsLimiter::new(-1);
        assert!((0..1000).all(|_| u.check(t0)));
    }

    #[test]
    fn log_interval_is_strict() {
        let t0 = Instant::now();
        let mut l = LogLimiter::default();
        let i = Duration::from_secs(5);
        assert!(l.check(t0, i));
        assert!(!l.check(t0 + Duration::from_secs(5), i));
        assert!(l.check(t0 + Duration::from_millis(5001), i));
    }

    #[test]
    fn shares_add_up() {
        for (total, workers) in [(100, 1), (100, 2), (100, 3), (7, 4), (1, 2), (0, 3)] {
            let sum: i32 = (0..workers).map(|i| share(total, workers, i)).sum();
            assert_eq!(sum, total, "{total} over {workers}");
        }
        assert_eq!(share(-1, 4, 2), -1);
    }
}
