//! FreeBSD's `mac_test`: the framework's own checker. It labels every kind
//! of object with a magic number of that kind at init and a "free" magic
//! at destroy, and checks each label every hook is handed; a label of the
//! wrong kind, one used after destroy or one destroyed twice is a
//! framework bug. It is how labelgate proves that every label is
//! initialised, handed to the right hooks, and destroyed exactly once.
//!
//! Where FreeBSD stops the kernel (`KASSERT`, `DEBUGGER`), this policy
//! counts the fault and carries on, so that a run reports every fault and
//! its workers never die of one. FreeBSD's mac_test is
//! `MPC_LOADTIME_FLAG_UNLOADOK` only, because FreeBSD since 8.0 labels
//! mbufs for any policy with an mbuf init hook; labelgate keeps the older
//! LABELMBUFS flag, so the policy adds it to get its magic on packets.

use std::net::SocketAddrV6;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Conf, Cred, Flags, Kind, Kinds, MacResult, MbufSlot, Policy, Slot, Socket};
use crate::iface::Ifnet;

/// FreeBSD's `MAGIC_*` defines for the kinds labelgate has.
pub const MAGIC_MBUF: u64 = 0xbbef_a5bb;
pub const MAGIC_IFNET: u64 = 0xc218_b120;
/// Sockets and their peers share a magic in FreeBSD: a peer label is a
/// socket label.
pub const MAGIC_SOCKET: u64 = 0x9199_c6cd;
pub const MAGIC_CRED: u64 = 0x9a5a_4987;
pub const MAGIC_IP6Q: u64 = 0x0870_e1b7;
/// What a destroyed label holds, so that a later use is recognised.
pub const MAGIC_FREE: u64 = 0x849b_a1fd;

/// The magic a live label of `kind` holds.
pub const fn magic(kind: Kind) -> u64 {
    match kind {
        Kind::Mbuf => MAGIC_MBUF,
        Kind::Ifnet => MAGIC_IFNET,
        Kind::Socket | Kind::SocketPeer => MAGIC_SOCKET,
        Kind::Cred => MAGIC_CRED,
        Kind::Ip6q => MAGIC_IP6Q,
    }
}

/// The label life-cycle entry points, which exist once per kind
/// (`<kind>_<name>`).
#[derive(Debug, Clone, Copy)]
enum Life {
    Init,
    Destroy,
    Copy,
    Externalize,
    Internalize,
}

const LIFE_NAMES: [&str; 5] = [
    "init_label",
    "destroy_label",
    "copy_label",
    "externalize_label",
    "internalize_label",
];

const KINDS: usize = Kind::ALL.len();

/// Declares the other entry points and their counter names together, so
/// that the names cannot drift from the array they index.
macro_rules! hooks {
    ($($hook:ident => $name:literal,)*) => {
        #[derive(Debug, Clone, Copy)]
        enum Hook {
            $($hook,)*
        }

        const HOOK_NAMES: &[&str] = &[$($name,)*];
    };
}

// FreeBSD's COUNTER_DECL names. Where labelgate's hook has another name,
// the counter takes that of the FreeBSD entry point it stands for:
// `mbuf_create_from_ifnet` is `ifnet_create_mbuf`, `mbuf_create_netlayer`
// (a packet made in answer to another) is `netinet_icmp_reply`,
// `mbuf_create_linklayer` is `netinet6_nd6_send`.
hooks! {
    Init => "init",
    Destroy => "destroy",
    CredCreateInit => "cred_create_init",
    IfnetCreate => "ifnet_create",
    IfnetCheckRelabel => "ifnet_check_relabel",
    IfnetRelabel => "ifnet_relabel",
    IfnetCheckTransmit => "ifnet_check_transmit",
    IfnetCreateMbuf => "ifnet_create_mbuf",
    NetinetIcmpReply => "netinet_icmp_reply",
    Netinet6Nd6Send => "netinet6_nd6_send",
    SocketCreate => "socket_create",
    SocketNewconn => "socket_newconn",
    SocketCreateMbuf => "socket_create_mbuf",
    SocketpeerSetFromMbuf => "socketpeer_set_from_mbuf",
    SocketpeerSetFromSocket => "socketpeer_set_from_socket",
    SocketRelabel => "socket_relabel",
    SocketCheckAccept => "socket_check_accept",
    SocketCheckBind => "socket_check_bind",
    SocketCheckConnect => "socket_check_connect",
    SocketCheckCreate => "socket_check_create",
    SocketCheckDeliver => "socket_check_deliver",
    SocketCheckListen => "socket_check_listen",
    SocketCheckPoll => "socket_check_poll",
    SocketCheckReceive => "socket_check_receive",
    SocketCheckRelabel => "socket_check_relabel",
    SocketCheckSend => "socket_check_send",
    SocketCheckStat => "socket_check_stat",
    SocketCheckVisible => "socket_check_visible",
    PrivGrant => "priv_grant",
    Ip6qCreate => "ip6q_create",
    Ip6qMatch => "ip6q_match",
    Ip6qUpdate => "ip6q_update",
    Ip6qReassemble => "ip6q_reassemble",
}

const HOOKS: usize = HOOK_NAMES.len();

/// What FreeBSD would have panicked for.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// LABEL_DESTROY found the free magic.
    DoubleDestroy,
    /// LABEL_CHECK found the free magic.
    UseAfterDestroy,
    /// Anything else but the kind's magic or 0.
    Corrupted,
}

const FAULT_NAMES: [&str; 3] = ["double_destroy", "use_after_destroy", "corrupted"];

/// The checker. Its counters are shared by every worker, hence atomics;
/// they are only ever added to and read for reports, so Relaxed will do,
/// and fixed arrays keep a counted hook to one add.
#[derive(Debug)]
pub struct Test {
    hooks: [AtomicU64; HOOKS],
    life: [[AtomicU64; LIFE_NAMES.len()]; KINDS],
    faults: [AtomicU64; FAULT_NAMES.len()],
}

impl Default for Test {
    fn default() -> Test {
        Test {
            hooks: [const { AtomicU64::new(0) }; HOOKS],
            life: [const { [const { AtomicU64::new(0) }; LIFE_NAMES.len()] }; KINDS],
            faults: [const { AtomicU64::new(0) }; FAULT_NAMES.len()],
        }
    }
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

fn read(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

/// The policy's word in a slot; `None` for a slot no test label can be.
fn word(l: &Slot) -> Option<u64> {
    match l {
        Slot::Empty => Some(0),
        Slot::Word(w) => Some(*w),
        Slot::Lattice(_) => None,
    }
}

impl Test {
    /// Double destroys, uses after destroy and corrupted labels seen: a
    /// correct framework keeps it at 0.
    pub fn faults(&self) -> u64 {
        self.faults.iter().map(read).sum()
    }

    /// Labels of `kind` initialised and not yet destroyed. Negative when
    /// more were destroyed than initialised: a double destroy, or labels
    /// made before this policy was loaded. Exact once the data plane is
    /// quiet; while workers run the two counts are read a moment apart.
    pub fn live(&self, kind: Kind) -> i64 {
        let life = &self.life[kind as usize];
        let destroyed = read(&life[Life::Destroy as usize]);
        let initialised = read(&life[Life::Init as usize]);
        initialised.wrapping_sub(destroyed) as i64
    }

    fn hook(&self, h: Hook) {
        bump(&self.hooks[h as usize]);
    }

    fn life(&self, kind: Kind, l: Life) {
        bump(&self.life[kind as usize][l as usize]);
    }

    fn fault(&self, f: Fault) {
        bump(&self.faults[f as usize]);
    }

    /// LABEL_CHECK on a word: the kind's magic, or 0 for a label made
    /// while the policy was not loaded.
    fn check_word(&self, kind: Kind, w: Option<u64>) {
        match w {
            Some(w) if w == magic(kind) || w == 0 => {}
            Some(MAGIC_FREE) => self.fault(Fault::UseAfterDestroy),
            _ => self.fault(Fault::Corrupted),
        }
    }

    fn check(&self, kind: Kind, l: &Slot) {
        self.check_word(kind, word(l));
    }

    fn check_mbuf(&self, m: &MbufSlot) {
        self.check_word(Kind::Mbuf, Some(m.0[0]));
    }

    /// LABEL_DESTROY: the word the label is left with, `None` to leave a
    /// faulty label as it is (FreeBSD does not overwrite it either).
    fn destroy_word(&self, kind: Kind, w: Option<u64>) -> Option<u64> {
        match w {
            Some(w) if w == magic(kind) || w == 0 => Some(MAGIC_FREE),
            Some(MAGIC_FREE) => {
                self.fault(Fault::DoubleDestroy);
                None
            }
            _ => {
                self.fault(Fault::Corrupted);
                None
            }
        }
    }
}

impl Policy for Test {
    fn conf(&self) -> Conf {
        Conf {
            name: "test",
            flags: Flags::UNLOADOK | Flags::LABELMBUFS,
            labels: Kinds::of(&Kind::ALL),
        }
    }

    fn init(&self) {
        self.hook(Hook::Init);
    }

    fn destroy(&self) {
        self.hook(Hook::Destroy);
    }

    /// Every counter by its FreeBSD name (the kind's life-cycle counters
    /// first, then the other hooks), the three fault counters, and per
    /// kind `<kind>_labels_live`. A negative live count is reported as its
    /// two's-complement u64, a number near 2^64: saturating at 0 would
    /// pass a double destroy off as "all destroyed".
    fn report(&self) -> Vec<(String, u64)> {
        let mut out = Vec::with_capacity(KINDS * (LIFE_NAMES.len() + 1) + HOOKS + 3);
        for kind in Kind::ALL {
            for (name, c) in LIFE_NAMES.iter().zip(&self.life[kind as usize]) {
                out.push((format!("{}_{name}", kind.name()), read(c)));
            }
        }
        for (name, c) in HOOK_NAMES.iter().zip(&self.hooks) {
            out.push(((*name).to_string(), read(c)));
        }
        for (name, c) in FAULT_NAMES.iter().zip(&self.faults) {
            out.push(((*name).to_string(), read(c)));
        }
        for kind in Kind::ALL {
            out.push((
                format!("{}_labels_live", kind.name()),
                self.live(kind) as u64,
            ));
        }
        out
    }

    fn mbuf_init_label(&self, l: &mut MbufSlot) {
        l.0[0] = MAGIC_MBUF;
        self.life(Kind::Mbuf, Life::Init);
    }

    fn mbuf_destroy_label(&self, l: &mut MbufSlot) {
        if let Some(w) = self.destroy_word(Kind::Mbuf, Some(l.0[0])) {
            l.0[0] = w;
        }
        self.life(Kind::Mbuf, Life::Destroy);
    }

    /// Checks both sides and copies nothing, as FreeBSD's does: the
    /// destination, initialised, already holds the only thing the label
    /// says, and a copy would spread a bad source's fault.
    fn mbuf_copy_label(&self, src: &MbufSlot, dst: &mut MbufSlot) {
        self.check_mbuf(src);
        self.check_mbuf(dst);
        self.life(Kind::Mbuf, Life::Copy);
    }

    fn init_label(&self, kind: Kind, l: &mut Slot) {
        *l = Slot::Word(magic(kind));
        self.life(kind, Life::Init);
    }

    fn destroy_label(&self, kind: Kind, l: &mut Slot) {
        if let Some(w) = self.destroy_word(kind, word(l)) {
            *l = Slot::Word(w);
        }
        self.life(kind, Life::Destroy);
    }

    /// As [`Test::mbuf_copy_label`]: checks, copies nothing.
    fn copy_label(&self, kind: Kind, src: &Slot, dst: &mut Slot) {
        self.check(kind, src);
        self.check(kind, dst);
        self.life(kind, Life::Copy);
    }

    /// Checks and claims nothing: the policy has no label text.
    fn externalize(&self, kind: Kind, l: &Slot, _: &str, _: &mut String, _: &mut u32) -> MacResult {
        self.check(kind, l);
        self.life(kind, Life::Externalize);
        Ok(())
    }

    fn internalize(&self, kind: Kind, l: &mut Slot, _: &str, _: &str, _: &mut u32) -> MacResult {
        self.check(kind, l);
        self.life(kind, Life::Internalize);
        Ok(())
    }

    fn cred_create_init(&self, cred: &mut Slot) {
        self.check(Kind::Cred, cred);
        self.hook(Hook::CredCreateInit);
    }

    fn ifnet_create(&self, _: &Ifnet, l: &mut Slot) {
        self.check(Kind::Ifnet, l);
        self.hook(Hook::IfnetCreate);
    }

    fn ifnet_check_relabel(&self, cred: &Slot, _: &Ifnet, old: &Slot, new: &Slot) -> MacResult {
        self.check(Kind::Cred, cred);
        self.check(Kind::Ifnet, old);
        self.check(Kind::Ifnet, new);
        self.hook(Hook::IfnetCheckRelabel);
        Ok(())
    }

    fn ifnet_relabel(&self, cred: &Slot, _: &Ifnet, l: &mut Slot, new: &Slot) {
        self.check(Kind::Cred, cred);
        self.check(Kind::Ifnet, l);
        self.check(Kind::Ifnet, new);
        self.hook(Hook::IfnetRelabel);
    }

    fn ifnet_check_transmit(&self, _: &Ifnet, l: &Slot, m: &MbufSlot) -> MacResult {
        self.check(Kind::Ifnet, l);
        self.check_mbuf(m);
        self.hook(Hook::IfnetCheckTransmit);
        Ok(())
    }

    fn mbuf_create_from_ifnet(&self, _: &Ifnet, l: &Slot, m: &mut MbufSlot) {
        self.check(Kind::Ifnet, l);
        self.check_mbuf(m);
        self.hook(Hook::IfnetCreateMbuf);
    }

    fn mbuf_create_netlayer(&self, old: &MbufSlot, new: &mut MbufSlot) {
        self.check_mbuf(old);
        self.check_mbuf(new);
        self.hook(Hook::NetinetIcmpReply);
    }

    fn mbuf_create_linklayer(&self, _: &Ifnet, l: &Slot, m: &mut MbufSlot) {
        self.check(Kind::Ifnet, l);
        self.check_mbuf(m);
        self.hook(Hook::Netinet6Nd6Send);
    }

    fn socket_create(&self, cred: &Slot, _: &Socket, l: &mut Slot) {
        self.check(Kind::Cred, cred);
        self.check(Kind::Socket, l);
        self.hook(Hook::SocketCreate);
    }

    fn socket_newconn(&self, _: &Socket, oldl: &Slot, _: &Socket, newl: &mut Slot) {
        self.check(Kind::Socket, oldl);
        self.check(Kind::Socket, newl);
        self.hook(Hook::SocketNewconn);
    }

    fn socket_create_mbuf(&self, _: &Socket, l: &Slot, m: &mut MbufSlot) {
        self.check(Kind::Socket, l);
        self.check_mbuf(m);
        self.hook(Hook::SocketCreateMbuf);
    }

    fn socketpeer_set_from_mbuf(&self, m: &MbufSlot, _: &Socket, peer: &mut Slot) {
        self.check_mbuf(m);
        self.check(Kind::SocketPeer, peer);
        self.hook(Hook::SocketpeerSetFromMbuf);
    }

    fn socketpeer_set_from_socket(&self, _: &Socket, oldl: &Slot, _: &Socket, peer: &mut Slot) {
        self.check(Kind::Socket, oldl);
        self.check(Kind::SocketPeer, peer);
        self.hook(Hook::SocketpeerSetFromSocket);
    }

    fn socket_relabel(&self, cred: &Slot, _: &Socket, l: &mut Slot, new: &Slot) {
        self.check(Kind::Cred, cred);
        self.check(Kind::Socket, l);
        self.check(Kind::Socket, new);
        self.hook(Hook::SocketRelabel);
    }

    fn socket_check_accept(&self, cred: &Slot, _: &Socket, l: &Slot) -> MacResult {
        self.check(Kind::Cred, cred);
        self.check(Kind::Socket, l);
        self.hook(Hook::SocketCheckAccept);
        Ok(())
    }

    fn socket_check_bind(
        &self,
        _: &Cred,
        credl: &Slot,
        _: &Socket,
        l: &Slot,
        _: &SocketAddrV6,
    ) -> MacResult {
        self.check(Kind::Cred, credl);
        self.check(Kind::Socket, l);
        self.hook(Hook::SocketCheckBind);
        Ok(())
    }

    fn socket_check_connect(
        &self,
        cred: &Slot,
        _: &Socket,
        l: &Slot,
        _: &SocketAddrV6,
    ) -> MacResult {
        self.check(Kind::Cred, cred);
        self.check(Kind::Socket, l);
        self.hook(Hook::SocketCheckConnect);
        Ok(())
    }

    fn socket_check_create(&self, cred: &Slot, _: u8) -> MacResult {
        self.check(Kind::Cred, cred);
        self.hook(Hook::SocketCheckCreate);
        Ok(())
    }

    /// The receiving interface's label is not checked, as in FreeBSD,
    /// whose hook is not handed it.
    fn socket_check_deliver(
        &self,
        _: &Socket,
        l: &Slot,
        _: Option<&Ifnet>,
        m: &MbufSlot,
    ) -> MacResult {
        self.check(Kind::Socket, l);
        self.check_mbuf(m);
        self.hook(Hook::SocketCheckDeliver);
        Ok(())
    }

    fn socket_check_listen(&self, cred: &Slot, _: &Socket, l: &Slot) -> MacResult {
        self.check(Kind::Cred, cred);
        self.check(Kind::Socket, l);
        self.hook(Hook::SocketCheckListen);
        Ok(())
    }

    fn socket_check_poll(&self, cred: &Slot, _: &Socket, l: &Slot) -> MacResult {
        self.check(Kind::Cred, cred);
        self.check(Kind::Socket, l);
        self.hook(Hook::SocketCheckPoll);
        Ok(())
    }

    fn socket_check_receive(&self, cred: &Slot, _: &Socket, l: &Slot) -> MacResult {
        self.check(Kind::Cred, cred);
        self.check(Kind::Socket, l);
        self.hook(Hook::SocketCheckReceive);
        Ok(())
    }

    fn socket_check_relabel(&self, cred: &Slot, _: &Socket, old: &Slot, new: &Slot) -> MacResult {
        self.check(Kind::Cred, cred);
        self.check(Kind::Socket, old);
        self.check(Kind::Socket, new);
        self.hook(Hook::SocketCheckRelabel);
        Ok(())
    }

    fn socket_check_send(&self, cred: &Slot, _: &Socket, l: &Slot) -> MacResult {
        self.check(Kind::Cred, cred);
        self.check(Kind::Socket, l);
        self.hook(Hook::SocketCheckSend);
        Ok(())
    }

    fn socket_check_stat(&self, cred: &Slot, _: &Socket, l: &Slot) -> MacResult {
        self.check(Kind::Cred, cred);
        self.check(Kind::Socket, l);
        self.hook(Hook::SocketCheckStat);
        Ok(())
    }

    fn socket_check_visible(&self, cred: &Slot, _: &Socket, l: &Slot) -> MacResult {
        self.check(Kind::Cred, cred);
        self.check(Kind::Socket, l);
        self.hook(Hook::SocketCheckVisible);
        Ok(())
    }

    fn priv_grant(&self, cred: &Slot, _: u32) -> Option<MacResult> {
        self.check(Kind::Cred, cred);
        self.hook(Hook::PrivGrant);
        None
    }

    fn ip6q_create(&self, m: &MbufSlot, q: &mut Slot) {
        self.check_mbuf(m);
        self.check(Kind::Ip6q, q);
        self.hook(Hook::Ip6qCreate);
    }

    fn ip6q_match(&self, m: &MbufSlot, q: &Slot) -> bool {
        self.check_mbuf(m);
        self.check(Kind::Ip6q, q);
        self.hook(Hook::Ip6qMatch);
        true
    }

    fn ip6q_update(&self, m: &MbufSlot, q: &mut Slot) {
        self.check_mbuf(m);
        self.check(Kind::Ip6q, q);
        self.hook(Hook::Ip6qUpdate);
    }

    fn ip6q_reassemble(&self, q: &Slot, m: &mut MbufSlot) {
        self.check(Kind::Ip6q, q);
        self.check_mbuf(m);
        self.hook(Hook::Ip6qReassemble);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use super::*;
    use crate::iface::IfFlags;
    use crate::mac::{MbufLabel, Registry, lattice::Lattice};

    fn ifnet() -> Ifnet {
        Ifnet::new(
            0,
            "port0".into(),
            Default::default(),
            1500,
            IfFlags::default(),
        )
    }

    fn report(t: &Test) -> HashMap<String, u64> {
        t.report().into_iter().collect()
    }

    /// (double_destroy, use_after_destroy, corrupted)
    fn faults(t: &Test) -> (u64, u64, u64) {
        let r = report(t);
        (r["double_destroy"], r["use_after_destroy"], r["corrupted"])
    }

    #[test]
    fn conf_labels_everything() {
        let c = Test::default().conf();
        assert_eq!(c.name, "test");
        assert!(c.flags.contains(Flags::UNLOADOK | Flags::LABELMBUFS));
        assert!(!c.flags.contains(Flags::NOTLATE));
        assert!(Kind::ALL.iter().all(|&k| c.labels.contains(k)));
    }

    #[test]
    fn report_names_every_counter_once() {
        let t = Test::default();
        let names: Vec<String> = t.report().into_iter().map(|(n, _)| n).collect();
        let unique: std::collections::HashSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len());
        assert_eq!(names.len(), KINDS * 6 + HOOKS + 3);
        for n in [
            "mbuf_init_label",
            "mbuf_destroy_label",
            "mbuf_copy_label",
            "ifnet_init_label",
            "socketpeer_destroy_label",
            "cred_copy_label",
            "ip6q_init_label",
            "ifnet_check_transmit",
            "ifnet_create_mbuf",
            "netinet_icmp_reply",
            "netinet6_nd6_send",
            "socket_check_deliver",
            "ip6q_reassemble",
            "double_destroy",
            "use_after_destroy",
            "corrupted",
            "mbuf_labels_live",
            "ip6q_labels_live",
        ] {
            assert!(unique.contains(&n.to_string()), "{n}");
        }
        assert!(t.report().iter().all(|(_, v)| *v == 0));
    }

    #[test]
    fn init_and_destroy_every_kind() {
        let t = Test::default();
        let mut m = MbufSlot::default();
        t.mbuf_init_label(&mut m);
        assert_eq!(m.0[0], MAGIC_MBUF);
        assert_eq!(t.live(Kind::Mbuf), 1);
        t.mbuf_destroy_label(&mut m);
        assert_eq!(m.0[0], MAGIC_FREE);
        for kind in Kind::ALL {
            let mut l = Slot::Empty;
            t.init_label(kind, &mut l);
            assert_eq!(l, Slot::Word(magic(kind)));
            assert_eq!(t.live(kind), 1, "{kind:?}");
            t.destroy_label(kind, &mut l);
            assert_eq!(l, Slot::Word(MAGIC_FREE));
            assert_eq!(t.live(kind), 0, "{kind:?}");
        }
        assert_eq!(magic(Kind::SocketPeer), MAGIC_SOCKET);
        let r = report(&t);
        assert_eq!(r["mbuf_init_label"], 2);
        assert_eq!(r["mbuf_destroy_label"], 2);
        assert_eq!(r["socketpeer_init_label"], 1);
        assert_eq!(r["cred_destroy_label"], 1);
        assert_eq!(t.faults(), 0);
    }

    #[test]
    fn label_made_before_load_is_accepted() {
        let t = Test::default();
        let mut l = Slot::Empty;
        t.ifnet_create(&ifnet(), &mut l);
        t.destroy_label(Kind::Ifnet, &mut l);
        let mut m = MbufSlot::default();
        t.mbuf_destroy_label(&mut m);
        assert_eq!(t.faults(), 0);
        assert_eq!((l, m.0[0]), (Slot::Word(MAGIC_FREE), MAGIC_FREE));
        assert_eq!(t.live(Kind::Ifnet), -1);
        assert_eq!(report(&t)["ifnet_labels_live"], u64::MAX);
    }

    #[test]
    fn double_destroy_detected() {
        let t = Test::default();
        let mut l = Slot::Empty;
        t.init_label(Kind::Socket, &mut l);
        t.destroy_label(Kind::Socket, &mut l);
        t.destroy_label(Kind::Socket, &mut l);
        let mut m = MbufSlot::default();
        t.mbuf_init_label(&mut m);
        t.mbuf_destroy_label(&mut m);
        t.mbuf_destroy_label(&mut m);
        assert_eq!(faults(&t), (2, 0, 0));
        assert_eq!(t.faults(), 2);
        assert_eq!(l, Slot::Word(MAGIC_FREE));
        assert_eq!(t.live(Kind::Socket), -1);
        assert_eq!(t.live(Kind::Mbuf), -1);
    }

    #[test]
    fn use_after_destroy_detected() {
        let t = Test::default();
        let ifp = ifnet();
        let mut il = Slot::Empty;
        t.init_label(Kind::Ifnet, &mut il);
        let mut m = MbufSlot::default();
        t.mbuf_init_label(&mut m);
        t.mbuf_destroy_label(&mut m);
        assert_eq!(t.ifnet_check_transmit(&ifp, &il, &m), Ok(()));
        assert_eq!(faults(&t), (0, 1, 0));
        t.destroy_label(Kind::Ifnet, &mut il);
        let mut fresh = MbufSlot::default();
        t.mbuf_init_label(&mut fresh);
        t.mbuf_create_from_ifnet(&ifp, &il, &mut fresh);
        assert_eq!(faults(&t), (0, 2, 0));
        assert_eq!(report(&t)["ifnet_check_transmit"], 1);
        assert_eq!(report(&t)["ifnet_create_mbuf"], 1);
    }

    #[test]
    fn corruption_detected() {
        let t = Test::default();
        let ifp = ifnet();
        let mut m = MbufSlot::default();
        m.0[0] = MAGIC_IFNET;
        t.ifnet_check_transmit(&ifp, &Slot::Word(MAGIC_SOCKET), &m)
            .unwrap();
        assert_eq!(faults(&t), (0, 0, 2));
        let mut l = Slot::Word(0x1234);
        t.destroy_label(Kind::Cred, &mut l);
        assert_eq!(l, Slot::Word(0x1234));
        let mut l = Slot::Lattice(Lattice::default());
        t.destroy_label(Kind::Cred, &mut l);
        t.mbuf_destroy_label(&mut m);
        assert_eq!(m.0[0], MAGIC_IFNET);
        assert_eq!(faults(&t), (0, 0, 5));
    }

    #[test]
    fn copy_checks_both_sides() {
        let t = Test::default();
        let good = Slot::Word(MAGIC_SOCKET);
        let mut dst = good.clone();
        t.copy_label(Kind::Socket, &Slot::Word(MAGIC_FREE), &mut dst);
        assert_eq!(faults(&t), (0, 1, 0));
        let mut bad = Slot::Word(MAGIC_CRED);
        t.copy_label(Kind::Socket, &good, &mut bad);
        assert_eq!(faults(&t), (0, 1, 1));
        assert_eq!((dst, bad), (good, Slot::Word(MAGIC_CRED)));

        let src = MbufSlot([MAGIC_MBUF, 0, 0, 0, 0]);
        let mut dst = MbufSlot([MAGIC_FREE, 0, 0, 0, 0]);
        t.mbuf_copy_label(&src, &mut dst);
        t.mbuf_copy_label(&dst.clone(), &mut src.clone());
        assert_eq!(faults(&t), (0, 3, 1));
        let r = report(&t);
        assert_eq!((r["socket_copy_label"], r["mbuf_copy_label"]), (2, 2));
    }

    #[test]
    fn whole_life_through_the_framework() {
        let test = Arc::new(Test::default());
        let mut reg = Registry::new();
        reg.register(test.clone()).unwrap();
        let p = reg.policies().clone();
        assert!(p.labels_mbufs());

        let cred = p.cred_init(0, vec![0]);
        let mut ifp = ifnet();
        ifp.label = p.ifnet_create(&ifp);
        let mut m = MbufLabel::default();
        p.mbuf_init(&mut m);
        p.mbuf_create_from_ifnet(&ifp, &mut m);
        let mut copy = MbufLabel::default();
        p.mbuf_init(&mut copy);
        p.mbuf_copy(&m, &mut copy);
        let mut answer = MbufLabel::default();
        p.mbuf_init(&mut answer);
        p.mbuf_create_netlayer(&m, &mut answer);
        p.ifnet_check_transmit(&ifp, &answer, |_, _| {}).unwrap();
        let mut so = p.socket_create(&cred, 17);
        p.socket_check_deliver(&so, Some(&ifp), &m).unwrap();
        p.socketpeer_set_from_mbuf(&m, &mut so);
        let mut q = p.ip6q_create(&m);
        assert!(p.ip6q_match(&copy, &q));
        p.ip6q_update(&copy, &mut q);
        p.ip6q_reassemble(&q, &mut answer);

        for label in [&mut m, &mut copy, &mut answer] {
            p.mbuf_destroy(label);
        }
        p.socket_destroy(&mut so);
        p.label_destroy(Kind::Ip6q, &mut q);
        p.label_destroy(Kind::Ifnet, &mut ifp.label);
        let mut cred = cred;
        p.label_destroy(Kind::Cred, &mut cred.label);
        reg.unregister("test").unwrap();

        assert_eq!(test.faults(), 0, "{:?}", test.report());
        for kind in Kind::ALL {
            assert_eq!(test.live(kind), 0, "{kind:?}");
        }
        let r = report(&test);
        assert_eq!(r["mbuf_init_label"], 3);
        assert_eq!(r["ifnet_create_mbuf"], 1);
        assert_eq!(r["netinet_icmp_reply"], 1);
        assert_eq!(r["socket_check_deliver"], 1);
        assert_eq!(r["socketpeer_init_label"], 1);
        assert_eq!(r["ip6q_match"], 1);
        assert_eq!((r["init"], r["destroy"]), (1, 1));
        assert!(
            r.iter()
                .filter(|(k, _)| k.ends_with("_live"))
                .all(|(_, v)| *v == 0)
        );
    }
}
