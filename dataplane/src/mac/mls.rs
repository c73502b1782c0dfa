//! FreeBSD's `mac_mls`: Bell-LaPadula confidentiality. A packet takes the
//! label of the interface it arrived on (or of the socket that sent it)
//! and may leave only through an interface whose range holds it, so that
//! traffic of one level cannot leak onto a link cleared for less. The
//! entry points are [`lattice`](super::lattice)'s, shared with biba; this
//! file says only where mls differs.

use std::sync::atomic::AtomicBool;

use super::lattice::{Element, Lattice, Rules, Type, dom};
use crate::iface::Ifnet;

/// The policy, with FreeBSD's `security.mac.mls.enabled` as its setting.
#[derive(Debug)]
pub struct Mls {
    enabled: AtomicBool,
}

impl Default for Mls {
    fn default() -> Mls {
        Mls {
            enabled: AtomicBool::new(true),
        }
    }
}

impl Rules for Mls {
    const NAME: &'static str = "mls";
    /// `mls_cred_create_init`: `low(low-high)`, low so that what the
    /// router sends goes anywhere, the whole range so that it may relabel.
    const CRED_INIT: Lattice = Lattice::new(Element::LOW, Element::LOW, Element::HIGH);

    fn enabled(&self) -> &AtomicBool {
        &self.enabled
    }

    /// No read up.
    fn reads(subject: &Element, object: &Element) -> bool {
        dom(subject, object)
    }

    /// `mls_ifnet_create`: loopback `equal(equal-equal)`, every other
    /// interface `low(low-low)`.
    fn ifnet_type(&self, ifp: &Ifnet) -> Type {
        if ifp.flags.loopback {
            Type::Equal
        } else {
            Type::Low
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mac::lattice::tests::{ifnet, slot};
    use crate::mac::lattice::{decode, encode};
    use crate::mac::{Errno, Flags, Kind, MbufSlot, Policy, Slot, Socket};

    fn text(p: &Mls, l: &Slot) -> String {
        let (mut out, mut claimed) = (String::new(), 0);
        p.externalize(Kind::Socket, l, "mls", &mut out, &mut claimed)
            .unwrap();
        assert_eq!(claimed, 1);
        out
    }

    fn mbuf(text: &str) -> MbufSlot {
        encode(Some(text.parse().unwrap()))
    }

    #[test]
    fn conf_and_settings() {
        let p = Mls::default();
        let conf = p.conf();
        assert_eq!(conf.name, "mls");
        assert_eq!(conf.flags, Flags::NOTLATE | Flags::LABELMBUFS);
        // Every kind; mbufs by LABELMBUFS.
        for kind in Kind::ALL {
            assert_eq!(conf.labels.contains(kind), kind != Kind::Mbuf, "{kind:?}");
        }
        assert_eq!(p.settings(), vec![("enabled", "1".to_string())]);
        p.set("enabled", "0").unwrap();
        assert_eq!(p.settings(), vec![("enabled", "0".to_string())]);
        let e = p.set("enabled", "yes").unwrap_err();
        assert!(e.contains("0 or 1") && e.contains("`yes`"), "{e}");
        let e = p.set("ptys_equal", "1").unwrap_err();
        assert!(e.contains("ptys_equal") && e.contains("enabled"), "{e}");
    }

    #[test]
    fn internalize_and_externalize_own_element_only() {
        let p = Mls::default();
        let mut l = Slot::Empty;
        p.init_label(Kind::Socket, &mut l);
        let mut claimed = 0;
        p.internalize(Kind::Socket, &mut l, "biba", "junk", &mut claimed)
            .unwrap();
        assert_eq!((claimed, text(&p, &l)), (0, String::new()));
        for (data, want) in [
            (
                "10:2+3+6(5:2+3-20:2+3+4+5+6)",
                "10:2+3+6(5:2+3-20:2+3+4+5+6)",
            ),
            ("hi(lo-hi)", "high(low-high)"),
            ("5:3+1+1", "5:1+3"),
        ] {
            p.internalize(Kind::Socket, &mut l, "mls", data, &mut claimed)
                .unwrap();
            assert_eq!(text(&p, &l), want);
        }
        assert_eq!(claimed, 3);
        let before = l.clone();
        for bad in ["", "65536", "(high-low)", "low:1"] {
            let r = p.internalize(Kind::Socket, &mut l, "mls", bad, &mut claimed);
            assert_eq!(r, Err(Errno::EINVAL), "{bad:?}");
            assert_eq!(l, before, "a bad label changes nothing");
        }
        let mut out = String::from("biba/high,mls/");
        p.externalize(Kind::Ifnet, &l, "biba", &mut out, &mut claimed)
            .unwrap();
        p.externalize(Kind::Ifnet, &l, "mls", &mut out, &mut claimed)
            .unwrap();
        assert_eq!(out, "biba/high,mls/5:1+3");
        p.destroy_label(Kind::Socket, &mut l);
        assert_eq!(l, Slot::Empty);
    }

    #[test]
    fn default_labels() {
        let p = Mls::default();
        let mut cred = Slot::Empty;
        p.cred_create_init(&mut cred);
        assert_eq!(text(&p, &cred), "low(low-high)");
        for (name, loopback, want) in [
            ("lo0", true, "equal(equal-equal)"),
            ("port0", false, "low(low-low)"),
        ] {
            let mut l = Slot::Empty;
            p.ifnet_create(&ifnet(name, loopback), &mut l);
            assert_eq!(text(&p, &l), want);
        }
    }

    #[test]
    fn transmit() {
        let p = Mls::default();
        let port = ifnet("port0", false);
        let mut port_label = Slot::Empty;
        p.ifnet_create(&port, &mut port_label);
        // A packet received on a low(low-low) interface may leave a
        // low(low-high) one.
        let mut m = MbufSlot::default();
        p.mbuf_create_from_ifnet(&port, &port_label, &mut m);
        assert_eq!(decode(&m), Some(Element::LOW));
        let wide = slot("low(low-high)");
        assert_eq!(p.ifnet_check_transmit(&port, &wide, &m), Ok(()));
        assert_eq!(p.ifnet_check_transmit(&port, &port_label, &m), Ok(()));
        // A 5 packet may not leave a low(low-low) interface.
        let five = mbuf("5");
        let refused = p.ifnet_check_transmit(&port, &port_label, &five);
        assert_eq!(refused, Err(Errno::EACCES));
        // Anything may leave the loopback interface.
        let lo = ifnet("lo0", true);
        let mut lo_label = Slot::Empty;
        p.ifnet_create(&lo, &mut lo_label);
        for m in [five, mbuf("high"), mbuf("65535:1+256"), m] {
            assert_eq!(p.ifnet_check_transmit(&lo, &lo_label, &m), Ok(()));
        }
        // A slot holding no label is in no range, not even loopback's.
        let empty = MbufSlot::default();
        assert_eq!(
            p.ifnet_check_transmit(&lo, &lo_label, &empty),
            Err(Errno::EACCES)
        );
        let garbage = MbufSlot([u64::MAX; 5]);
        assert_eq!(
            p.ifnet_check_transmit(&lo, &lo_label, &garbage),
            Err(Errno::EACCES)
        );
        assert_eq!(
            p.ifnet_check_transmit(&lo, &Slot::Empty, &five),
            Err(Errno::EACCES)
        );
        // Off, the check allows everything.
        p.set("enabled", "0").unwrap();
        assert_eq!(p.ifnet_check_transmit(&port, &port_label, &five), Ok(()));
        assert_eq!(p.ifnet_check_transmit(&port, &Slot::Empty, &empty), Ok(()));
    }

    #[test]
    fn packets_the_router_makes() {
        let p = Mls::default();
        let port = ifnet("port0", false);
        let mut m = MbufSlot([7; 5]);
        p.mbuf_create_linklayer(&port, &slot("low(low-low)"), &mut m);
        assert_eq!(decode(&m), Some(Element::EQUAL));
        let mut reply = MbufSlot::default();
        p.mbuf_create_netlayer(&mbuf("5:1"), &mut reply);
        assert_eq!(reply, mbuf("5:1"));
        p.mbuf_create_netlayer(&MbufSlot([u64::MAX; 5]), &mut reply);
        assert_eq!(decode(&reply), None);
    }

    #[test]
    fn ifnet_relabel_checks_in_order() {
        let p = Mls::default();
        let port = ifnet("port0", false);
        let old = slot("low(low-low)");
        let root = slot("low(low-high)");
        let user = slot("5(5-5)");
        let cases = [
            ("5", &root, Err(Errno::EINVAL)),
            ("(low-high)", &root, Err(Errno::EINVAL)),
            ("5", &user, Err(Errno::EINVAL)),
            ("5(low-high)", &user, Err(Errno::EPERM)),
            ("5(low-high)", &root, Ok(())),
            ("high(5-5)", &root, Ok(())),
        ];
        for (new, cred, want) in cases {
            let r = p.ifnet_check_relabel(cred, &port, &old, &slot(new));
            assert_eq!(r, want, "{new} by {cred:?}");
        }
        let mut none = Slot::Empty;
        p.init_label(Kind::Ifnet, &mut none);
        assert_eq!(p.ifnet_check_relabel(&root, &port, &old, &none), Ok(()));
        assert_eq!(
            p.ifnet_check_relabel(&user, &port, &old, &none),
            Err(Errno::EPERM)
        );
        assert_eq!(
            p.ifnet_check_relabel(&Slot::Empty, &port, &old, &none),
            Err(Errno::EPERM)
        );
        // Relabel checks do not depend on `enabled`.
        p.set("enabled", "0").unwrap();
        let r = p.ifnet_check_relabel(&user, &port, &old, &slot("5(low-high)"));
        assert_eq!(r, Err(Errno::EPERM));

        let mut l = old.clone();
        p.ifnet_relabel(&root, &port, &mut l, &slot("5(low-high)"));
        assert_eq!(text(&p, &l), "5(low-high)");
        p.ifnet_relabel(&root, &port, &mut l, &none);
        assert_eq!(text(&p, &l), "5(low-high)");
    }

    #[test]
    fn socket_relabel_checks_in_order() {
        let p = Mls::default();
        let so = Socket::default();
        let subject = slot("5(3-7)");
        let cases = [
            // A socket label has no range.
            ("6(3-7)", "5", Err(Errno::EINVAL)),
            ("(3-7)", "5", Err(Errno::EINVAL)),
            // The old label must be within the subject's range...
            ("6", "8", Err(Errno::EPERM)),
            // ...and so must the new one.
            ("8", "5", Err(Errno::EPERM)),
            ("6", "5", Ok(())),
            ("3", "7", Ok(())),
            // Equal is in every range but takes privilege.
            ("equal", "5", Err(Errno::EPERM)),
        ];
        for (new, old, want) in cases {
            let r = p.socket_check_relabel(&subject, &so, &slot(old), &slot(new));
            assert_eq!(r, want, "{old} -> {new}");
        }
        let root = slot("low(low-high)");
        let r = p.socket_check_relabel(&root, &so, &slot("5"), &slot("equal"));
        assert_eq!(r, Ok(()));
        // Not naming mls changes nothing, but the old label is checked.
        let mut none = Slot::Empty;
        p.init_label(Kind::Socket, &mut none);
        assert_eq!(
            p.socket_check_relabel(&subject, &so, &slot("5"), &none),
            Ok(())
        );
        let r = p.socket_check_relabel(&subject, &so, &slot("8"), &none);
        assert_eq!(r, Err(Errno::EPERM));

        let mut l = slot("5");
        p.socket_relabel(&subject, &so, &mut l, &slot("6"));
        assert_eq!(text(&p, &l), "6");
    }

    #[test]
    fn sockets_take_their_labels() {
        let p = Mls::default();
        let so = Socket::default();
        let cred = slot("5:1(low-high)");
        let mut l = Slot::Empty;
        p.init_label(Kind::Socket, &mut l);
        p.socket_create(&cred, &so, &mut l);
        assert_eq!(text(&p, &l), "5:1");
        let mut accepted = Slot::Empty;
        p.socket_newconn(&so, &l, &so, &mut accepted);
        assert_eq!(text(&p, &accepted), "5:1");
        let mut m = MbufSlot::default();
        p.socket_create_mbuf(&so, &l, &mut m);
        assert_eq!(m, mbuf("5:1"));
        let mut peer = Slot::Empty;
        p.socketpeer_set_from_mbuf(&mbuf("7"), &so, &mut peer);
        assert_eq!(text(&p, &peer), "7");
        p.socketpeer_set_from_socket(&so, &l, &so, &mut peer);
        assert_eq!(text(&p, &peer), "5:1");
        p.socketpeer_set_from_mbuf(&MbufSlot::default(), &so, &mut peer);
        assert_eq!(text(&p, &peer), "");
    }

    #[test]
    fn deliver_and_visible() {
        let p = Mls::default();
        let so = Socket::default();
        let five = slot("5");
        for (m, want) in [
            ("5", Ok(())),
            ("5:2", Ok(())),
            ("equal", Ok(())),
            ("6", Err(Errno::EACCES)),
            ("low", Err(Errno::EACCES)),
        ] {
            let r = p.socket_check_deliver(&so, &five, None, &mbuf(m));
            assert_eq!(r, want, "{m}");
        }
        let r = p.socket_check_deliver(&so, &five, None, &MbufSlot::default());
        assert_eq!(r, Err(Errno::EACCES));
        for (subject, want) in [
            ("7(low-high)", Ok(())),
            ("5", Ok(())),
            ("3(low-high)", Err(Errno::ENOENT)),
            ("low", Err(Errno::ENOENT)),
        ] {
            let r = p.socket_check_visible(&slot(subject), &so, &five);
            assert_eq!(r, want, "{subject}");
        }
        assert_eq!(
            p.socket_check_visible(&Slot::Empty, &so, &five),
            Err(Errno::ENOENT)
        );
        p.set("enabled", "0").unwrap();
        assert_eq!(p.socket_check_deliver(&so, &five, None, &mbuf("6")), Ok(()));
        assert_eq!(p.socket_check_visible(&slot("low"), &so, &five), Ok(()));
    }

    #[test]
    fn fragment_queues() {
        let p = Mls::default();
        let mut q = Slot::Empty;
        p.init_label(Kind::Ip6q, &mut q);
        p.ip6q_create(&mbuf("5:1"), &mut q);
        assert!(p.ip6q_match(&mbuf("5:1"), &q));
        assert!(p.ip6q_match(&mbuf("5:2"), &q));
        assert!(p.ip6q_match(&mbuf("equal"), &q));
        assert!(!p.ip6q_match(&mbuf("6"), &q));
        assert!(!p.ip6q_match(&MbufSlot::default(), &q));
        p.ip6q_update(&mbuf("6"), &mut q);
        let mut m = MbufSlot::default();
        p.ip6q_reassemble(&q, &mut m);
        assert_eq!(m, mbuf("5:1"));

        let mut unlabelled = Slot::Empty;
        p.ip6q_create(&MbufSlot::default(), &mut unlabelled);
        assert!(p.ip6q_match(&MbufSlot::default(), &unlabelled));
        assert!(!p.ip6q_match(&mbuf("5"), &unlabelled));
    }
}
