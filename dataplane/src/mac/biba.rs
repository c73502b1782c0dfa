//! FreeBSD's `mac_biba`: integrity, the dual of mls. Labels, text (with
//! grades where mls has levels) and network entry points are
//! [`lattice`](super::lattice)'s; what differs is the direction of reads
//! (no read down), the credential of init (`high(low-high)`) and how an
//! interface is labelled when it attaches, by the settings below.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard};

use super::lattice::{Element, Lattice, Rules, Type, dom};
use super::{flag_text, set_flag};
use crate::iface::Ifnet;

/// `IFNAMSIZ`: FreeBSD ignores a trusted name this long or longer, which
/// no interface can have; labelgate refuses the setting instead, so that a
/// typo is not silently untrusted.
const IFNAMSIZ: usize = 16;

/// The policy, with FreeBSD's `security.mac.biba.*` sysctls as settings.
/// Only `enabled` is read per packet; the interface settings are read when
/// an interface attaches.
#[derive(Debug)]
pub struct Biba {
    enabled: AtomicBool,
    trust_all_interfaces: AtomicBool,
    trusted_interfaces: RwLock<Vec<String>>,
    interfaces_equal: AtomicBool,
}

impl Default for Biba {
    /// FreeBSD's defaults: enforcing, every interface equal.
    fn default() -> Biba {
        Biba {
            enabled: AtomicBool::new(true),
            trust_all_interfaces: AtomicBool::new(false),
            trusted_interfaces: RwLock::new(Vec::new()),
            interfaces_equal: AtomicBool::new(true),
        }
    }
}

/// `trusted_interfaces`: names separated by commas; blanks anywhere are
/// dropped and empty names skipped, as FreeBSD's parser does.
fn parse_names(value: &str) -> Result<Vec<String>, String> {
    let bare: String = value.chars().filter(|c| !matches!(c, ' ' | '\t')).collect();
    bare.split(',')
        .filter(|name| !name.is_empty())
        .map(|name| {
            if name.len() < IFNAMSIZ {
                Ok(name.to_string())
            } else {
                Err(format!(
                    "biba: interface name `{name}` is too long (must be < {IFNAMSIZ})"
                ))
            }
        })
        .collect()
}

impl Biba {
    fn trusted(&self) -> RwLockReadGuard<'_, Vec<String>> {
        self.trusted_interfaces
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Rules for Biba {
    const NAME: &'static str = "biba";
    const KEYS: &'static str =
        "enabled, trust_all_interfaces, trusted_interfaces, interfaces_equal";
    /// `biba_cred_create_init`: `high(low-high)`, high so that the router
    /// may write anywhere, the whole range so that it may relabel.
    const CRED_INIT: Lattice = Lattice::new(Element::HIGH, Element::LOW, Element::HIGH);

    fn enabled(&self) -> &AtomicBool {
        &self.enabled
    }

    fn set_other(&self, key: &str, value: &str) -> Option<Result<(), String>> {
        Some(match key {
            "trust_all_interfaces" => set_flag(Self::NAME, &self.trust_all_interfaces, key, value),
            "interfaces_equal" => set_flag(Self::NAME, &self.interfaces_equal, key, value),
            "trusted_interfaces" => parse_names(value).map(|names| {
                *self
                    .trusted_interfaces
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = names;
            }),
            _ => return None,
        })
    }

    fn other_settings(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "trust_all_interfaces",
                flag_text(&self.trust_all_interfaces),
            ),
            ("trusted_interfaces", self.trusted().join(",")),
            ("interfaces_equal", flag_text(&self.interfaces_equal)),
        ]
    }

    /// No read down.
    fn reads(subject: &Element, object: &Element) -> bool {
        dom(object, subject)
    }

    /// `biba_ifnet_create`: loopback, or any interface while
    /// `interfaces_equal`, is equal; otherwise high if all interfaces or
    /// this one by name are trusted, low if not.
    fn ifnet_type(&self, ifp: &Ifnet) -> Type {
        if ifp.flags.loopback || self.interfaces_equal.load(Ordering::Relaxed) {
            Type::Equal
        } else if self.trust_all_interfaces.load(Ordering::Relaxed)
            || self.trusted().contains(&ifp.name)
        {
            Type::High
        } else {
            Type::Low
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mac::lattice::encode;
    use crate::mac::lattice::tests::{ifnet, slot};
    use crate::mac::{Conf, Errno, Flags, Kind, MbufSlot, Policy, Slot, Socket};

    fn ifnet_label(p: &Biba, name: &str, loopback: bool) -> String {
        let mut l = Slot::Empty;
        p.ifnet_create(&ifnet(name, loopback), &mut l);
        let (mut out, mut claimed) = (String::new(), 0);
        p.externalize(Kind::Ifnet, &l, "biba", &mut out, &mut claimed)
            .unwrap();
        out
    }

    #[test]
    fn conf_and_defaults() {
        let p = Biba::default();
        let Conf { name, flags, .. } = p.conf();
        assert_eq!((name, flags), ("biba", Flags::NOTLATE | Flags::LABELMBUFS));
        assert_eq!(
            p.conf().labels,
            crate::mac::mls::Mls::default().conf().labels
        );
        assert_eq!(
            p.settings(),
            vec![
                ("enabled", "1".to_string()),
                ("trust_all_interfaces", "0".to_string()),
                ("trusted_interfaces", String::new()),
                ("interfaces_equal", "1".to_string()),
            ]
        );
        let mut cred = Slot::Empty;
        p.cred_create_init(&mut cred);
        assert_eq!(cred, slot("high(low-high)"));
    }

    #[test]
    fn interface_labels_by_setting() {
        let p = Biba::default();
        assert_eq!(ifnet_label(&p, "lo0", true), "equal(equal-equal)");
        assert_eq!(ifnet_label(&p, "port0", false), "equal(equal-equal)");
        p.set("interfaces_equal", "0").unwrap();
        assert_eq!(ifnet_label(&p, "lo0", true), "equal(equal-equal)");
        assert_eq!(ifnet_label(&p, "port0", false), "low(low-low)");
        p.set("trusted_interfaces", " port1 ,\tport0,,").unwrap();
        assert_eq!(
            p.settings()[2],
            ("trusted_interfaces", "port1,port0".to_string())
        );
        assert_eq!(ifnet_label(&p, "port0", false), "high(high-high)");
        assert_eq!(ifnet_label(&p, "port2", false), "low(low-low)");
        assert_eq!(ifnet_label(&p, "port", false), "low(low-low)");
        p.set("trust_all_interfaces", "1").unwrap();
        assert_eq!(ifnet_label(&p, "port2", false), "high(high-high)");
        assert_eq!(ifnet_label(&p, "lo0", true), "equal(equal-equal)");
        p.set("interfaces_equal", "1").unwrap();
        assert_eq!(ifnet_label(&p, "port2", false), "equal(equal-equal)");
        p.set("trusted_interfaces", "").unwrap();
        p.set("trust_all_interfaces", "0").unwrap();
        p.set("interfaces_equal", "0").unwrap();
        assert_eq!(ifnet_label(&p, "port0", false), "low(low-low)");
    }

    #[test]
    fn bad_settings_change_nothing() {
        let p = Biba::default();
        p.set("trusted_interfaces", "port0").unwrap();
        let e = p
            .set("trusted_interfaces", "port1,abcdefghijklmnop")
            .unwrap_err();
        assert!(e.contains("abcdefghijklmnop") && e.contains("16"), "{e}");
        assert_eq!(p.settings()[2].1, "port0");
        p.set("trusted_interfaces", "abcdefghijklmno").unwrap();
        let e = p.set("interfaces_equal", "2").unwrap_err();
        assert!(e.contains("0 or 1") && e.contains("`2`"), "{e}");
        let e = p.set("ptys_equal", "1").unwrap_err();
        assert!(e.contains("ptys_equal") && e.contains(Biba::KEYS), "{e}");
        assert_eq!(p.settings()[3].1, "1");
    }

    #[test]
    fn reads_down_are_not_visible() {
        let p = Biba::default();
        let so = Socket::default();
        let five = slot("5");
        for (subject, want) in [
            ("3(low-high)", Ok(())),
            ("low", Ok(())),
            ("5", Ok(())),
            ("7(low-high)", Err(Errno::ENOENT)),
            ("high(low-high)", Err(Errno::ENOENT)),
            ("equal", Ok(())),
        ] {
            let r = p.socket_check_visible(&slot(subject), &so, &five);
            assert_eq!(r, want, "{subject}");
        }
        p.set("enabled", "0").unwrap();
        assert_eq!(p.socket_check_visible(&slot("high"), &so, &five), Ok(()));
    }

    #[test]
    fn transmit_with_trusted_interfaces() {
        let p = Biba::default();
        p.set("interfaces_equal", "0").unwrap();
        p.set("trusted_interfaces", "port0").unwrap();
        let (trusted, untrusted) = (ifnet("port0", false), ifnet("port1", false));
        let (mut tl, mut ul) = (Slot::Empty, Slot::Empty);
        p.ifnet_create(&trusted, &mut tl);
        p.ifnet_create(&untrusted, &mut ul);
        let mut from_trusted = MbufSlot::default();
        p.mbuf_create_from_ifnet(&trusted, &tl, &mut from_trusted);
        assert_eq!(from_trusted, encode(Some(Element::HIGH)));
        let refused = p.ifnet_check_transmit(&untrusted, &ul, &from_trusted);
        assert_eq!(refused, Err(Errno::EACCES));
        assert_eq!(p.ifnet_check_transmit(&trusted, &tl, &from_trusted), Ok(()));
        let mut nd = MbufSlot::default();
        p.mbuf_create_linklayer(&untrusted, &ul, &mut nd);
        assert_eq!(p.ifnet_check_transmit(&untrusted, &ul, &nd), Ok(()));
        assert_eq!(p.ifnet_check_transmit(&trusted, &tl, &nd), Ok(()));
    }

    #[test]
    fn relabel_takes_biba_privilege() {
        let p = Biba::default();
        let port = ifnet("port0", false);
        let mut root = Slot::Empty;
        p.cred_create_init(&mut root);
        let old = slot("equal(equal-equal)");
        let new = slot("high(low-high)");
        assert_eq!(p.ifnet_check_relabel(&root, &port, &old, &new), Ok(()));
        let user = slot("high(high-high)");
        assert_eq!(
            p.ifnet_check_relabel(&user, &port, &old, &new),
            Err(Errno::EPERM)
        );
        assert_eq!(
            p.ifnet_check_relabel(&user, &port, &old, &slot("high")),
            Err(Errno::EINVAL)
        );
        let so = Socket::default();
        let r = p.socket_check_relabel(&root, &so, &slot("high"), &slot("5"));
        assert_eq!(r, Ok(()));
        let r = p.socket_check_relabel(&slot("5(3-7)"), &so, &slot("high"), &slot("5"));
        assert_eq!(r, Err(Errno::EPERM));
    }
}
