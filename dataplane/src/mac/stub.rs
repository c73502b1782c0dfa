//! FreeBSD's `mac_stub`: a policy that implements every entry point and
//! does nothing in any of them. Loaded, it measures what the framework
//! itself costs per hook: the walk of the policy list, the slot lookups and
//! the indirect call. FreeBSD's stub fills every slot of its ops table
//! because a NULL slot is skipped and would measure nothing; here every
//! method is overridden likewise, so that the stub stays empty whatever the
//! trait's defaults come to do.

use std::net::SocketAddrV6;

use super::{Conf, Cred, Flags, Kind, Kinds, MacResult, MbufSlot, Policy, Slot, Socket};
use crate::iface::Ifnet;

/// The do-nothing policy. It labels nothing (so it takes no slot, as
/// FreeBSD's stub registers without one) and may be unloaded.
#[derive(Debug, Default)]
pub struct Stub;

impl Policy for Stub {
    fn conf(&self) -> Conf {
        Conf {
            name: "stub",
            flags: Flags::UNLOADOK,
            labels: Kinds::NONE,
        }
    }

    fn init(&self) {}
    fn destroy(&self) {}
    fn set(&self, key: &str, _: &str) -> Result<(), String> {
        Err(format!("stub has no setting `{key}`"))
    }
    fn settings(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
    fn report(&self) -> Vec<(String, u64)> {
        Vec::new()
    }

    fn mbuf_init_label(&self, _: &mut MbufSlot) {}
    fn mbuf_destroy_label(&self, _: &mut MbufSlot) {}
    fn mbuf_copy_label(&self, src: &MbufSlot, dst: &mut MbufSlot) {
        *dst = *src;
    }
    fn init_label(&self, _: Kind, _: &mut Slot) {}
    fn destroy_label(&self, _: Kind, _: &mut Slot) {}
    fn copy_label(&self, _: Kind, src: &Slot, dst: &mut Slot) {
        dst.clone_from(src);
    }
    fn externalize(&self, _: Kind, _: &Slot, _: &str, _: &mut String, _: &mut u32) -> MacResult {
        Ok(())
    }
    fn internalize(&self, _: Kind, _: &mut Slot, _: &str, _: &str, _: &mut u32) -> MacResult {
        Ok(())
    }

    fn cred_create_init(&self, _: &mut Slot) {}

    fn ifnet_create(&self, _: &Ifnet, _: &mut Slot) {}
    fn ifnet_check_relabel(&self, _: &Slot, _: &Ifnet, _: &Slot, _: &Slot) -> MacResult {
        Ok(())
    }
    fn ifnet_relabel(&self, _: &Slot, _: &Ifnet, _: &mut Slot, _: &Slot) {}
    /// Doing nothing, its answer is the same for every packet.
    fn forwards_by_interface(&self) -> bool {
        true
    }

    fn ifnet_check_transmit(&self, _: &Ifnet, _: &Slot, _: &MbufSlot) -> MacResult {
        Ok(())
    }

    fn mbuf_create_from_ifnet(&self, _: &Ifnet, _: &Slot, _: &mut MbufSlot) {}
    fn mbuf_create_netlayer(&self, _: &MbufSlot, _: &mut MbufSlot) {}
    fn mbuf_create_linklayer(&self, _: &Ifnet, _: &Slot, _: &mut MbufSlot) {}

    fn socket_create(&self, _: &Slot, _: &Socket, _: &mut Slot) {}
    fn socket_newconn(&self, _: &Socket, _: &Slot, _: &Socket, _: &mut Slot) {}
    fn socket_create_mbuf(&self, _: &Socket, _: &Slot, _: &mut MbufSlot) {}
    fn socketpeer_set_from_mbuf(&self, _: &MbufSlot, _: &Socket, _: &mut Slot) {}
    fn socketpeer_set_from_socket(&self, _: &Socket, _: &Slot, _: &Socket, _: &mut Slot) {}
    fn socket_relabel(&self, _: &Slot, _: &Socket, _: &mut Slot, _: &Slot) {}
    fn socket_check_accept(&self, _: &Slot, _: &Socket, _: &Slot) -> MacResult {
        Ok(())
    }
    fn socket_check_bind(
        &self,
        _: &Cred,
        _: &Slot,
        _: &Socket,
        _: &Slot,
        _: &SocketAddrV6,
    ) -> MacResult {
        Ok(())
    }
    fn socket_check_connect(&self, _: &Slot, _: &Socket, _: &Slot, _: &SocketAddrV6) -> MacResult {
        Ok(())
    }
    fn socket_check_create(&self, _: &Slot, _: u8) -> MacResult {
        Ok(())
    }
    fn socket_check_deliver(
        &self,
        _: &Socket,
        _: &Slot,
        _: Option<&Ifnet>,
        _: &MbufSlot,
    ) -> MacResult {
        Ok(())
    }
    fn socket_check_listen(&self, _: &Slot, _: &Socket, _: &Slot) -> MacResult {
        Ok(())
    }
    fn socket_check_poll(&self, _: &Slot, _: &Socket, _: &Slot) -> MacResult {
        Ok(())
    }
    fn socket_check_receive(&self, _: &Slot, _: &Socket, _: &Slot) -> MacResult {
        Ok(())
    }
    fn socket_check_relabel(&self, _: &Slot, _: &Socket, _: &Slot, _: &Slot) -> MacResult {
        Ok(())
    }
    fn socket_check_send(&self, _: &Slot, _: &Socket, _: &Slot) -> MacResult {
        Ok(())
    }
    fn socket_check_stat(&self, _: &Slot, _: &Socket, _: &Slot) -> MacResult {
        Ok(())
    }
    fn socket_check_visible(&self, _: &Slot, _: &Socket, _: &Slot) -> MacResult {
        Ok(())
    }

    /// FreeBSD's mac_stub declines to grant a privilege.
    fn priv_grant(&self, _: &Slot, _: u32) -> Option<MacResult> {
        Some(Err(super::Errno::EPERM))
    }

    fn ip6q_create(&self, _: &MbufSlot, _: &mut Slot) {}
    fn ip6q_match(&self, _: &MbufSlot, _: &Slot) -> bool {
        true
    }
    fn ip6q_update(&self, _: &MbufSlot, _: &mut Slot) {}
    fn ip6q_reassemble(&self, _: &Slot, _: &mut MbufSlot) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iface::IfFlags;
    use crate::mac::{Label, MbufLabel, Registry};
    use std::sync::Arc;

    #[test]
    fn conf() {
        assert_eq!(
            Stub.conf(),
            Conf {
                name: "stub",
                flags: Flags::UNLOADOK,
                labels: Kinds::NONE
            }
        );
        assert!(Stub.set("enabled", "1").is_err());
        assert!(Stub.settings().is_empty() && Stub.report().is_empty());
    }

    #[test]
    fn permits_everything_and_changes_nothing() {
        let ifp = Ifnet::new(
            0,
            "port0".into(),
            Default::default(),
            1500,
            IfFlags::default(),
        );
        let (so, cred) = (Socket::default(), Cred::default());
        let addr: SocketAddrV6 = "[2001:db8::1]:80".parse().unwrap();
        let (e, m) = (Slot::Empty, MbufSlot([1, 2, 3, 4, 5]));
        assert_eq!(Stub.ifnet_check_transmit(&ifp, &e, &m), Ok(()));
        assert_eq!(Stub.ifnet_check_relabel(&e, &ifp, &e, &e), Ok(()));
        assert_eq!(Stub.socket_check_bind(&cred, &e, &so, &e, &addr), Ok(()));
        assert_eq!(Stub.socket_check_connect(&e, &so, &e, &addr), Ok(()));
        assert_eq!(Stub.socket_check_create(&e, 17), Ok(()));
        assert_eq!(Stub.socket_check_deliver(&so, &e, Some(&ifp), &m), Ok(()));
        assert_eq!(Stub.socket_check_deliver(&so, &e, None, &m), Ok(()));
        assert_eq!(Stub.socket_check_send(&e, &so, &e), Ok(()));
        assert_eq!(Stub.socket_check_visible(&e, &so, &e), Ok(()));
        assert!(Stub.ip6q_match(&m, &e));

        let mut dst = MbufSlot::default();
        Stub.mbuf_copy_label(&m, &mut dst);
        assert_eq!(dst, m);
        let mut slot = Slot::Empty;
        Stub.copy_label(Kind::Ifnet, &Slot::Word(7), &mut slot);
        assert_eq!(slot, Slot::Word(7));

        let mut new = m;
        Stub.mbuf_create_from_ifnet(&ifp, &e, &mut new);
        Stub.mbuf_create_netlayer(&m, &mut new);
        Stub.ip6q_reassemble(&e, &mut new);
        assert_eq!(new, m);

        let (mut out, mut claimed) = (String::new(), 0);
        assert_eq!(
            Stub.externalize(Kind::Socket, &e, "stub", &mut out, &mut claimed),
            Ok(())
        );
        assert_eq!(
            Stub.internalize(Kind::Socket, &mut slot, "stub", "x", &mut claimed),
            Ok(())
        );
        assert_eq!((out.as_str(), claimed), ("", 0));
    }

    #[test]
    fn loaded_it_takes_no_slot_and_refuses_nothing() {
        let mut r = Registry::new();
        r.register(Arc::new(Stub)).unwrap();
        assert_eq!(r.slot_of("stub"), Some(None));
        let p = r.policies();
        let ifp = Ifnet::new(
            0,
            "port0".into(),
            Default::default(),
            1500,
            IfFlags::default(),
        );
        assert_eq!(
            p.ifnet_check_transmit(&ifp, &MbufLabel::default(), |_, _| {}),
            Ok(())
        );
        assert!(p.ip6q_match(&MbufLabel::default(), &Label::default()));
        r.unregister("stub").unwrap();
    }
}
