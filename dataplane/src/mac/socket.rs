//! Sockets and credentials: the framework side of FreeBSD's
//! `sys/security/mac/mac_socket.c`, function for function and check for
//! check in its order. The router's own endpoints use it; here it is the
//! composition of the policies' socket entry points.

use std::net::SocketAddrV6;

use super::label::check_buflen;
use super::{Errno, Kind, Label, MacResult, MbufLabel, Policies};
use crate::iface::Ifnet;

/// A subject: who asks, with its label (FreeBSD's `struct ucred`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cred {
    pub uid: u32,
    /// The groups, the effective one first.
    pub groups: Vec<u32>,
    pub label: Label,
}

/// A local endpoint of the router as MAC sees it: its protocol, where it
/// is bound, its label and the label of its peer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Socket {
    /// IPPROTO_UDP, IPPROTO_TCP or IPPROTO_ICMPV6.
    pub proto: u8,
    pub local: Option<SocketAddrV6>,
    pub label: Label,
    pub peer_label: Label,
}

impl Policies {
    /// `mac_socket_init` + `mac_socket_create`: a new socket of `cred`.
    pub fn socket_create(&self, cred: &Cred, proto: u8) -> Socket {
        let mut so = Socket {
            proto,
            local: None,
            label: self.label_init(Kind::Socket),
            peer_label: self.label_init(Kind::SocketPeer),
        };
        let mut label = std::mem::take(&mut so.label);
        for l in &self.list {
            let c = l.slot(&cred.label);
            l.with_slot(&mut label, |s| l.policy.socket_create(c, &so, s));
        }
        so.label = label;
        so
    }

    /// `mac_socket_destroy`.
    pub fn socket_destroy(&self, so: &mut Socket) {
        self.label_destroy(Kind::Socket, &mut so.label);
        self.label_destroy(Kind::SocketPeer, &mut so.peer_label);
    }

    /// `mac_socket_newconn`: a socket accepted on `old`.
    pub fn socket_newconn(&self, old: &Socket) -> Socket {
        let mut so = Socket {
            proto: old.proto,
            local: old.local,
            label: self.label_init(Kind::Socket),
            peer_label: self.label_init(Kind::SocketPeer),
        };
        let mut label = std::mem::take(&mut so.label);
        for l in &self.list {
            let ol = l.slot(&old.label);
            l.with_slot(&mut label, |s| l.policy.socket_newconn(old, ol, &so, s));
        }
        so.label = label;
        so
    }

    /// `mac_socket_relabel`.
    fn socket_relabel(&self, cred: &Cred, so: &mut Socket, new: &Label) {
        let mut label = std::mem::take(&mut so.label);
        for l in &self.list {
            let (c, n) = (l.slot(&cred.label), l.slot(new));
            l.with_slot(&mut label, |s| l.policy.socket_relabel(c, so, s, n));
        }
        so.label = label;
    }

    /// `mac_socketpeer_set_from_mbuf`: the peer of `so` is who sent `m`.
    pub fn socketpeer_set_from_mbuf(&self, m: &MbufLabel, so: &mut Socket) {
        let mut peer = std::mem::take(&mut so.peer_label);
        for l in &self.list {
            let ms = *l.mslot(m);
            l.with_slot(&mut peer, |s| l.policy.socketpeer_set_from_mbuf(&ms, so, s));
        }
        so.peer_label = peer;
    }

    /// `mac_socketpeer_set_from_socket`: `new`'s peer is `old`.
    pub fn socketpeer_set_from_socket(&self, old: &Socket, new: &mut Socket) {
        let mut peer = std::mem::take(&mut new.peer_label);
        for l in &self.list {
            let ol = l.slot(&old.label);
            l.with_slot(&mut peer, |s| {
                l.policy.socketpeer_set_from_socket(old, ol, new, s)
            });
        }
        new.peer_label = peer;
    }

    /// `mac_socket_create_mbuf`: the label of a packet `so` sends.
    pub fn socket_create_mbuf(&self, so: &Socket, m: &mut MbufLabel) {
        for l in &self.list {
            let sl = l.slot(&so.label);
            l.with_mslot(m, |s| l.policy.socket_create_mbuf(so, sl, s));
        }
    }

    pub fn socket_check_accept(&self, cred: &Cred, so: &Socket) -> MacResult {
        self.check(|l| {
            l.policy
                .socket_check_accept(l.slot(&cred.label), so, l.slot(&so.label))
        })
    }

    pub fn socket_check_bind(&self, cred: &Cred, so: &Socket, addr: &SocketAddrV6) -> MacResult {
        self.check(|l| {
            l.policy
                .socket_check_bind(cred, l.slot(&cred.label), so, l.slot(&so.label), addr)
        })
    }

    pub fn socket_check_connect(&self, cred: &Cred, so: &Socket, addr: &SocketAddrV6) -> MacResult {
        self.check(|l| {
            l.policy
                .socket_check_connect(l.slot(&cred.label), so, l.slot(&so.label), addr)
        })
    }

    pub fn socket_check_create(&self, cred: &Cred, proto: u8) -> MacResult {
        self.check(|l| l.policy.socket_check_create(l.slot(&cred.label), proto))
    }

    /// `mac_socket_check_deliver`: may `m`, received on `rcvif` (or made
    /// by the router), reach `so`?
    pub fn socket_check_deliver(
        &self,
        so: &Socket,
        rcvif: Option<&Ifnet>,
        m: &MbufLabel,
    ) -> MacResult {
        self.check(|l| {
            l.policy
                .socket_check_deliver(so, l.slot(&so.label), rcvif, l.mslot(m))
        })
    }

    pub fn socket_check_listen(&self, cred: &Cred, so: &Socket) -> MacResult {
        self.check(|l| {
            l.policy
                .socket_check_listen(l.slot(&cred.label), so, l.slot(&so.label))
        })
    }

    pub fn socket_check_poll(&self, cred: &Cred, so: &Socket) -> MacResult {
        self.check(|l| {
            l.policy
                .socket_check_poll(l.slot(&cred.label), so, l.slot(&so.label))
        })
    }

    pub fn socket_check_receive(&self, cred: &Cred, so: &Socket) -> MacResult {
        self.check(|l| {
            l.policy
                .socket_check_receive(l.slot(&cred.label), so, l.slot(&so.label))
        })
    }

    /// `mac_socket_check_relabel` (static in mac_socket.c).
    fn socket_check_relabel(&self, cred: &Cred, so: &Socket, new: &Label) -> MacResult {
        self.check(|l| {
            l.policy
                .socket_check_relabel(l.slot(&cred.label), so, l.slot(&so.label), l.slot(new))
        })
    }

    pub fn socket_check_send(&self, cred: &Cred, so: &Socket) -> MacResult {
        self.check(|l| {
            l.policy
                .socket_check_send(l.slot(&cred.label), so, l.slot(&so.label))
        })
    }

    pub fn socket_check_stat(&self, cred: &Cred, so: &Socket) -> MacResult {
        self.check(|l| {
            l.policy
                .socket_check_stat(l.slot(&cred.label), so, l.slot(&so.label))
        })
    }

    pub fn socket_check_visible(&self, cred: &Cred, so: &Socket) -> MacResult {
        self.check(|l| {
            l.policy
                .socket_check_visible(l.slot(&cred.label), so, l.slot(&so.label))
        })
    }

    /// `mac_socket_label_set`: checked, then applied.
    pub fn socket_label_set(&self, cred: &Cred, so: &mut Socket, new: &Label) -> MacResult {
        self.socket_check_relabel(cred, so, new)?;
        self.socket_relabel(cred, so, new);
        Ok(())
    }

    /// `mac_setsockopt_label`: `text` internalized as a socket label and
    /// set; `EINVAL` if no policy labels sockets.
    pub fn setsockopt_label(&self, cred: &Cred, so: &mut Socket, text: &str) -> MacResult {
        if !self.labeled.contains(Kind::Socket) {
            return Err(Errno::EINVAL);
        }
        let mut intlabel = self.internalize(Kind::Socket, text)?;
        let r = self.socket_label_set(cred, so, &intlabel);
        self.label_destroy(Kind::Socket, &mut intlabel);
        r
    }

    /// `mac_getsockopt_label`: the socket's label as text, for the
    /// elements asked, in a buffer of `buflen`.
    pub fn getsockopt_label(
        &self,
        so: &Socket,
        elements: &str,
        buflen: usize,
    ) -> Result<String, Errno> {
        self.getsockopt(Kind::Socket, &so.label, elements, buflen)
    }

    /// `mac_getsockopt_peerlabel`.
    pub fn getsockopt_peerlabel(
        &self,
        so: &Socket,
        elements: &str,
        buflen: usize,
    ) -> Result<String, Errno> {
        self.getsockopt(Kind::SocketPeer, &so.peer_label, elements, buflen)
    }

    /// Both getsockopt calls: the socket kind must be labelled, the buffer
    /// sane, and the label is copied before it is externalized, as
    /// mac_socket.c copies it under the socket lock.
    fn getsockopt(
        &self,
        kind: Kind,
        label: &Label,
        elements: &str,
        buflen: usize,
    ) -> Result<String, Errno> {
        if !self.labeled.contains(Kind::Socket) {
            return Err(Errno::EINVAL);
        }
        check_buflen(buflen)?;
        let mut copy = self.label_init(kind);
        self.label_copy(kind, label, &mut copy);
        let r = self.externalize(kind, &copy, elements, buflen);
        self.label_destroy(kind, &mut copy);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iface::IfFlags;
    use crate::mac::{Registry, policy_named};

    const UDP: u8 = 17;

    fn loaded(names: &[&str]) -> Registry {
        let mut r = Registry::new();
        for n in names {
            r.register(policy_named(n).unwrap()).unwrap();
        }
        r
    }

    #[test]
    fn socket_labels_need_a_policy_that_labels_sockets() {
        let r = loaded(&["ifoff"]);
        let p = r.policies();
        let cred = p.cred_init(0, vec![0]);
        let mut so = p.socket_create(&cred, UDP);
        assert_eq!(
            p.setsockopt_label(&cred, &mut so, "mls/low"),
            Err(Errno::EINVAL)
        );
        assert_eq!(p.getsockopt_label(&so, "mls", 100), Err(Errno::EINVAL));
        assert_eq!(p.getsockopt_peerlabel(&so, "mls", 100), Err(Errno::EINVAL));
    }

    #[test]
    fn a_socket_is_labelled_relabelled_and_read_as_mac_socket_c_does() {
        let r = loaded(&["mls"]);
        let p = r.policies();
        let cred = p.cred_init(0, vec![0]);
        let mut so = p.socket_create(&cred, UDP);
        assert_eq!(
            p.getsockopt_label(&so, "mls", 100).unwrap(),
            "mls/low",
            "from the subject"
        );
        assert_eq!(p.getsockopt_label(&so, "mls", 1), Err(Errno::EINVAL));
        p.setsockopt_label(&cred, &mut so, "mls/5").unwrap();
        assert_eq!(p.getsockopt_label(&so, "mls", 100).unwrap(), "mls/5");
        assert_eq!(
            p.setsockopt_label(&cred, &mut so, "mls/5(low-high)"),
            Err(Errno::EINVAL),
            "a socket label is effective only"
        );
        assert_eq!(
            p.setsockopt_label(&cred, &mut so, "mls/"),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            p.getsockopt_label(&so, "mls", 100).unwrap(),
            "mls/5",
            "unchanged"
        );

        let mut ifp = Ifnet::new(
            0,
            "port0".into(),
            Default::default(),
            1500,
            IfFlags::default(),
        );
        ifp.label = p.internalize(Kind::Ifnet, "mls/5(low-high)").unwrap();
        let mut m = MbufLabel::default();
        p.mbuf_init(&mut m);
        p.mbuf_create_from_ifnet(&ifp, &mut m);
        assert_eq!(p.socket_check_deliver(&so, Some(&ifp), &m), Ok(()));
        p.socketpeer_set_from_mbuf(&m, &mut so);
        assert_eq!(p.getsockopt_peerlabel(&so, "mls", 100).unwrap(), "mls/5");
        ifp.label = p.internalize(Kind::Ifnet, "mls/6(low-high)").unwrap();
        p.mbuf_create_from_ifnet(&ifp, &mut m);
        assert_eq!(
            p.socket_check_deliver(&so, Some(&ifp), &m),
            Err(Errno::EACCES)
        );

        let mut out = MbufLabel::default();
        p.socket_create_mbuf(&so, &mut out);
        let accepted = p.socket_newconn(&so);
        assert_eq!(p.getsockopt_label(&accepted, "mls", 100).unwrap(), "mls/5");
        let mut other = p.socket_create(&cred, UDP);
        p.socketpeer_set_from_socket(&so, &mut other);
        assert_eq!(p.getsockopt_peerlabel(&other, "mls", 100).unwrap(), "mls/5");
        p.socket_destroy(&mut so);
    }

    #[test]
    fn the_test_policy_sees_each_socket_label_begin_and_end_once() {
        let r = loaded(&["test"]);
        let p = r.policies();
        let mut cred = p.cred_init(0, vec![0]);
        let mut so = p.socket_create(&cred, UDP);
        assert_eq!(
            p.socket_check_bind(&cred, &so, &"[::1]:53".parse().unwrap()),
            Ok(())
        );
        let _ = p.getsockopt_label(&so, "?test", 100);
        p.socket_destroy(&mut so);
        p.label_destroy(Kind::Cred, &mut cred.label);
        let t = p.get("test").unwrap().report();
        let live = |k: &str| t.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
        for kind in ["socket", "socketpeer", "cred"] {
            assert_eq!(
                live(&format!("{kind}_labels_live")),
                Some(0),
                "{kind}: {t:?}"
            );
        }
        assert_eq!(live("double_destroy"), Some(0));
    }
}
