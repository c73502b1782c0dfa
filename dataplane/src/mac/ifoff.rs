//! FreeBSD's `mac_ifoff`: interfaces stay silent until an administrator
//! enables them, so that a router brought up somewhere untrusted leaks no
//! packet before it is configured. Decisions go by the interface alone; no
//! labels. FreeBSD's bpfdesc check (and its `bpfrecv_enabled` setting) has
//! no counterpart here, as labelgate has no BPF.

use std::sync::atomic::{AtomicBool, Ordering};

use super::{Conf, Errno, Flags, Kinds, MacResult, MbufSlot, Policy, Slot, Socket};
use crate::iface::Ifnet;

/// The policy, with FreeBSD's `security.mac.ifoff.*` sysctls as settings.
/// Atomics because workers read them per packet while the control plane
/// may change them; no ordering with other memory is needed.
#[derive(Debug)]
pub struct Ifoff {
    enabled: AtomicBool,
    lo_enabled: AtomicBool,
    other_enabled: AtomicBool,
}

impl Default for Ifoff {
    /// FreeBSD's defaults: enforcing, loopback open, everything else shut.
    fn default() -> Ifoff {
        Ifoff {
            enabled: AtomicBool::new(true),
            lo_enabled: AtomicBool::new(true),
            other_enabled: AtomicBool::new(false),
        }
    }
}

const KEYS: &str = "enabled, lo_enabled, other_enabled";

impl Ifoff {
    fn setting(&self, key: &str) -> Option<&AtomicBool> {
        match key {
            "enabled" => Some(&self.enabled),
            "lo_enabled" => Some(&self.lo_enabled),
            "other_enabled" => Some(&self.other_enabled),
            _ => None,
        }
    }

    /// `ifnet_check_outgoing` and `ifnet_check_incoming` (without BPF):
    /// both ask the same questions in the same order.
    fn check(&self, ifp: &Ifnet) -> MacResult {
        let loopback = ifp.flags.loopback;
        if !self.enabled.load(Ordering::Relaxed)
            || (self.lo_enabled.load(Ordering::Relaxed) && loopback)
            || (self.other_enabled.load(Ordering::Relaxed) && !loopback)
        {
            Ok(())
        } else {
            Err(Errno::EPERM)
        }
    }
}

impl Policy for Ifoff {
    fn conf(&self) -> Conf {
        Conf {
            name: "ifoff",
            flags: Flags::UNLOADOK,
            labels: Kinds::NONE,
        }
    }

    fn set(&self, key: &str, value: &str) -> Result<(), String> {
        let setting = self
            .setting(key)
            .ok_or_else(|| format!("ifoff has no setting `{key}` (it has {KEYS})"))?;
        let set = super::set_flag("ifoff", setting, key, value);
        super::settings_changed();
        set
    }

    fn settings(&self) -> Vec<(&'static str, String)> {
        ["enabled", "lo_enabled", "other_enabled"]
            .into_iter()
            .filter_map(|key| Some((key, super::flag_text(self.setting(key)?))))
            .collect()
    }

    /// Its transmit check reads the interface and its switches, never the
    /// packet.
    fn forwards_by_interface(&self) -> bool {
        true
    }

    fn ifnet_check_transmit(&self, ifp: &Ifnet, _: &Slot, _: &MbufSlot) -> MacResult {
        self.check(ifp)
    }

    /// A packet the router made itself has no receiving interface and is
    /// not ifoff's business.
    fn socket_check_deliver(
        &self,
        _: &Socket,
        _: &Slot,
        rcvif: Option<&Ifnet>,
        _: &MbufSlot,
    ) -> MacResult {
        rcvif.map_or(Ok(()), |ifp| self.check(ifp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iface::IfFlags;

    fn ifnet(loopback: bool) -> Ifnet {
        let flags = IfFlags {
            loopback,
            ..IfFlags::default()
        };
        Ifnet::new(0, "port0".into(), Default::default(), 1500, flags)
    }

    fn bit(b: bool) -> &'static str {
        if b { "1" } else { "0" }
    }

    #[test]
    fn conf_and_defaults() {
        let p = Ifoff::default();
        assert_eq!(
            p.conf(),
            Conf {
                name: "ifoff",
                flags: Flags::UNLOADOK,
                labels: Kinds::NONE
            }
        );
        assert_eq!(
            p.settings(),
            vec![
                ("enabled", "1".to_string()),
                ("lo_enabled", "1".to_string()),
                ("other_enabled", "0".to_string()),
            ]
        );
    }

    #[test]
    fn every_setting_combination() {
        let (lo, port) = (ifnet(true), ifnet(false));
        let so = Socket::default();
        let m = MbufSlot::default();
        for enabled in [false, true] {
            for lo_enabled in [false, true] {
                for other_enabled in [false, true] {
                    let p = Ifoff::default();
                    p.set("enabled", bit(enabled)).unwrap();
                    p.set("lo_enabled", bit(lo_enabled)).unwrap();
                    p.set("other_enabled", bit(other_enabled)).unwrap();
                    let want = |allowed: bool| if allowed { Ok(()) } else { Err(Errno::EPERM) };
                    let want_lo = want(!enabled || lo_enabled);
                    let want_port = want(!enabled || other_enabled);
                    let case = (enabled, lo_enabled, other_enabled);
                    let e = Slot::Empty;
                    assert_eq!(p.ifnet_check_transmit(&lo, &e, &m), want_lo, "{case:?}");
                    assert_eq!(p.ifnet_check_transmit(&port, &e, &m), want_port, "{case:?}");
                    assert_eq!(
                        p.socket_check_deliver(&so, &e, Some(&lo), &m),
                        want_lo,
                        "{case:?}"
                    );
                    assert_eq!(
                        p.socket_check_deliver(&so, &e, Some(&port), &m),
                        want_port,
                        "{case:?}"
                    );
                    assert_eq!(
                        p.socket_check_deliver(&so, &e, None, &m),
                        Ok(()),
                        "{case:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn defaults_silence_ports_only() {
        let p = Ifoff::default();
        let m = MbufSlot::default();
        assert_eq!(
            p.ifnet_check_transmit(&ifnet(false), &Slot::Empty, &m),
            Err(Errno::EPERM)
        );
        assert_eq!(
            p.ifnet_check_transmit(&ifnet(true), &Slot::Empty, &m),
            Ok(())
        );
    }

    #[test]
    fn bad_settings_say_what_is_expected() {
        let p = Ifoff::default();
        let e = p.set("bpfrecv_enabled", "1").unwrap_err();
        assert!(e.contains("bpfrecv_enabled") && e.contains(KEYS), "{e}");
        let e = p.set("enabled", "2").unwrap_err();
        assert!(e.contains("0 or 1") && e.contains("`2`"), "{e}");
        assert_eq!(p.settings()[0], ("enabled", "1".to_string()));
    }
}
