//! FreeBSD's TrustedBSD MAC framework, as a router meets it.
//!
//! A policy is a type implementing [`Policy`], whose methods are FreeBSD's
//! entry points (`mpo_*`) that make sense for a router; every method has a
//! default with no say, as a policy that leaves an entry point NULL has
//! none. The [`Registry`] loads and unloads policies with FreeBSD's rules
//! (`mac_policy_register`, `mac_policy_unregister`); what it publishes is a
//! [`Policies`]: the loaded set, newest first, with the framework functions
//! (`mac_ifnet_check_transmit`, `mac_socket_create`, ...) that walk it and
//! compose the answers as FreeBSD's `MAC_POLICY_CHECK`, `_GRANT`,
//! `_PERFORM` and `_BOOLEAN` macros do.
//!
//! Labels: each policy that asks for one gets a slot (of [`MAX_SLOTS`]);
//! every hook is handed the policy's own slot of each label it concerns,
//! never another policy's. Mbuf labels are plain words ([`MbufLabel`]), so
//! they can live in an mbuf's private area and be copied without
//! allocating; other labels ([`Label`]) hold typed slots.

pub mod biba;
pub mod ifoff;
pub mod label;
pub mod lattice;
pub mod mls;
pub mod socket;
pub mod stub;
pub mod test;

use std::fmt;
use std::net::SocketAddrV6;
use std::sync::Arc;

use crate::iface::Ifnet;

pub use socket::{Cred, Socket};

/// FreeBSD's `MAC_MAX_SLOTS`.
pub const MAX_SLOTS: usize = 4;

/// Policies loaded at once. FreeBSD has no limit; labelgate keeps a
/// counter of denials per policy and errno in every worker, so it bounds
/// them.
pub const MAX_POLICIES: usize = 8;

/// FreeBSD's `MAC_MAX_LABEL_BUF_LEN`: the longest label text.
pub const MAX_LABEL_BUF_LEN: usize = 8192;

/// The errors MAC entry points return, by FreeBSD's names and numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Errno {
    EPERM,
    ENOENT,
    ESRCH,
    EDEADLK,
    ENOMEM,
    EACCES,
    EBUSY,
    EEXIST,
    EINVAL,
}

impl Errno {
    pub const ALL: [Errno; 9] = [
        Errno::EPERM,
        Errno::ENOENT,
        Errno::ESRCH,
        Errno::EDEADLK,
        Errno::ENOMEM,
        Errno::EACCES,
        Errno::EBUSY,
        Errno::EEXIST,
        Errno::EINVAL,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Errno::EPERM => "EPERM",
            Errno::ENOENT => "ENOENT",
            Errno::ESRCH => "ESRCH",
            Errno::EDEADLK => "EDEADLK",
            Errno::ENOMEM => "ENOMEM",
            Errno::EACCES => "EACCES",
            Errno::EBUSY => "EBUSY",
            Errno::EEXIST => "EEXIST",
            Errno::EINVAL => "EINVAL",
        }
    }

    /// Its place in [`Errno::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// FreeBSD's `<sys/errno.h>` value.
    pub fn number(self) -> i32 {
        match self {
            Errno::EPERM => 1,
            Errno::ENOENT => 2,
            Errno::ESRCH => 3,
            Errno::EDEADLK => 11,
            Errno::ENOMEM => 12,
            Errno::EACCES => 13,
            Errno::EBUSY => 16,
            Errno::EEXIST => 17,
            Errno::EINVAL => 22,
        }
    }

    /// Where `mac_error_select` ranks it; higher wins, `None` for the
    /// errors it does not name.
    fn rank(self) -> Option<u8> {
        Some(match self {
            Errno::EDEADLK => 6,
            Errno::EINVAL => 5,
            Errno::ESRCH => 4,
            Errno::ENOENT => 3,
            Errno::EACCES => 2,
            Errno::EPERM => 1,
            _ => return None,
        })
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::error::Error for Errno {}

/// What an entry point that can refuse returns.
pub type MacResult = Result<(), Errno>;

/// `mac_error_select(error1, error2)`: the error to keep when two policies
/// answer. `EDEADLK > EINVAL > ESRCH > ENOENT > EACCES > EPERM > any other
/// > success`; of two others, `error1` (the policy asked later) wins.
pub fn error_select(error1: MacResult, error2: MacResult) -> MacResult {
    match (error1, error2) {
        (Ok(()), e) | (e, Ok(())) => e,
        (Err(a), Err(b)) => match (a.rank(), b.rank()) {
            (Some(x), Some(y)) => Err(if x >= y { a } else { b }),
            (Some(_), None) => Err(a),
            (None, Some(_)) => Err(b),
            (None, None) => Err(a),
        },
    }
}

/// Load-time flags (`MPC_LOADTIME_FLAG_*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flags(u8);

impl Flags {
    pub const NONE: Flags = Flags(0);
    /// May be unloaded; without it unload is `EBUSY`.
    pub const UNLOADOK: Flags = Flags(1);
    /// Must be loaded before the data plane starts; later is `EBUSY`.
    pub const NOTLATE: Flags = Flags(2);
    /// Wants every packet labelled.
    pub const LABELMBUFS: Flags = Flags(4);

    pub const fn union(self, o: Flags) -> Flags {
        Flags(self.0 | o.0)
    }

    pub const fn contains(self, o: Flags) -> bool {
        self.0 & o.0 == o.0
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, o: Flags) -> Flags {
        self.union(o)
    }
}

/// The kinds of object that carry labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Mbuf,
    Ifnet,
    Socket,
    SocketPeer,
    Cred,
    Ip6q,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Mbuf,
        Kind::Ifnet,
        Kind::Socket,
        Kind::SocketPeer,
        Kind::Cred,
        Kind::Ip6q,
    ];

    /// The prefix of the entry points for this kind (`ifnet_init_label`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Mbuf => "mbuf",
            Kind::Ifnet => "ifnet",
            Kind::Socket => "socket",
            Kind::SocketPeer => "socketpeer",
            Kind::Cred => "cred",
            Kind::Ip6q => "ip6q",
        }
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// A set of [`Kind`]s: FreeBSD's `mac_labeled`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Kinds(u8);

impl Kinds {
    pub const NONE: Kinds = Kinds(0);

    pub const fn of(kinds: &[Kind]) -> Kinds {
        let mut bits = 0;
        let mut i = 0;
        while i < kinds.len() {
            bits |= kinds[i].bit();
            i += 1;
        }
        Kinds(bits)
    }

    pub const fn contains(self, k: Kind) -> bool {
        self.0 & k.bit() != 0
    }

    pub const fn with(self, k: Kind) -> Kinds {
        Kinds(self.0 | k.bit())
    }

    pub const fn union(self, o: Kinds) -> Kinds {
        Kinds(self.0 | o.0)
    }
}

/// One policy's part of an mbuf label: five words, any bit pattern valid,
/// so that the label can live in the mbuf's private area and a copy is a
/// plain copy.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct MbufSlot(pub [u64; 5]);

/// A packet's label: a slot per policy that labels packets.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct MbufLabel {
    pub slots: [MbufSlot; MAX_SLOTS],
}

/// One policy's part of any other label.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum Slot {
    /// Nothing set: a new label, or a slot internalize did not name ("no
    /// change" on relabel).
    #[default]
    Empty,
    /// A Bell-LaPadula or Biba label.
    Lattice(lattice::Lattice),
    /// A word of the policy's own (the test policy's magic).
    Word(u64),
}

/// A label of an interface, socket, socket peer, credential or
/// reassembly queue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Label {
    pub slots: [Slot; MAX_SLOTS],
}

/// A policy's answer to "who are you": its name (the element of label
/// text it owns), its load-time flags and the objects it labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conf {
    pub name: &'static str,
    pub flags: Flags,
    /// Objects other than mbufs it labels (mbufs: [`Flags::LABELMBUFS`]).
    /// A policy labelling anything gets a slot.
    pub labels: Kinds,
}

/// A policy: FreeBSD's entry points a router meets. Every method has a
/// default that has no say (permits, changes nothing, claims nothing).
/// Each hook is given the policy's own slot of each label; a policy
/// without a slot gets empty ones.
#[allow(unused_variables)]
pub trait Policy: Send + Sync + fmt::Debug {
    fn conf(&self) -> Conf;

    /// `mpo_init`: registered, before any other entry point.
    fn init(&self) {}
    /// `mpo_destroy`: being unloaded.
    fn destroy(&self) {}

    /// A setting (FreeBSD's `security.mac.<name>.<key>` sysctls). Unknown
    /// keys and bad values are errors that say what is expected.
    fn set(&self, key: &str, value: &str) -> Result<(), String> {
        Err(format!("{} has no setting `{key}`", self.conf().name))
    }
    /// The settings and their values, for reports.
    fn settings(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
    /// What the policy has to report (the test policy's counters).
    fn report(&self) -> Vec<(String, u64)> {
        Vec::new()
    }

    // Label life cycle.
    fn mbuf_init_label(&self, l: &mut MbufSlot) {}
    fn mbuf_destroy_label(&self, l: &mut MbufSlot) {}
    fn mbuf_copy_label(&self, src: &MbufSlot, dst: &mut MbufSlot) {
        *dst = *src;
    }
    fn init_label(&self, kind: Kind, l: &mut Slot) {}
    fn destroy_label(&self, kind: Kind, l: &mut Slot) {}
    fn copy_label(&self, kind: Kind, src: &Slot, dst: &mut Slot) {
        *dst = src.clone();
    }
    /// Appends this policy's text for `element` if it is the policy's own
    /// (and counts the claim); FreeBSD's `*_externalize_label`.
    fn externalize(
        &self,
        kind: Kind,
        l: &Slot,
        element: &str,
        out: &mut String,
        claimed: &mut u32,
    ) -> MacResult {
        Ok(())
    }
    /// Parses `data` into the slot if `element` is the policy's own.
    fn internalize(
        &self,
        kind: Kind,
        l: &mut Slot,
        element: &str,
        data: &str,
        claimed: &mut u32,
    ) -> MacResult {
        Ok(())
    }

    // Credentials.
    /// The label of the router's own subject (its configuration and
    /// control plane), as `mpo_cred_create_init` gives init its label.
    fn cred_create_init(&self, cred: &mut Slot) {}

    // Interfaces.
    fn ifnet_create(&self, ifp: &Ifnet, l: &mut Slot) {}
    fn ifnet_check_relabel(&self, cred: &Slot, ifp: &Ifnet, old: &Slot, new: &Slot) -> MacResult {
        Ok(())
    }
    fn ifnet_relabel(&self, cred: &Slot, ifp: &Ifnet, l: &mut Slot, new: &Slot) {}
    fn ifnet_check_transmit(&self, ifp: &Ifnet, l: &Slot, m: &MbufSlot) -> MacResult {
        Ok(())
    }

    /// Whether a forwarded packet's fate under this policy is a function
    /// of its two interfaces: its label comes from `mbuf_create_from_ifnet`
    /// alone, and `mbuf_init_label`, `mbuf_create_from_ifnet`,
    /// `ifnet_check_transmit` and `mbuf_destroy_label` touch nothing but
    /// the label, and read nothing else that can change but settings
    /// changed through [`Policy::set`]. The fast path then asks the
    /// transmit check once per (arrival, departure) pair, snapshot and
    /// settings change rather than once per packet (see
    /// [`Policies::forward_verdict`], [`settings_epoch`]). Not FreeBSD's:
    /// its hooks run per packet because nothing promises this.
    fn forwards_by_interface(&self) -> bool {
        false
    }

    // Packets.
    /// `mpo_ifnet_create_mbuf`: a packet received on `ifp`.
    fn mbuf_create_from_ifnet(&self, ifp: &Ifnet, l: &Slot, m: &mut MbufSlot) {}
    /// A packet the router makes in answer to `old` (an ICMPv6 error or
    /// redirect).
    fn mbuf_create_netlayer(&self, old: &MbufSlot, new: &mut MbufSlot) {}
    /// A link-layer packet the router makes on `ifp` (neighbour discovery).
    fn mbuf_create_linklayer(&self, ifp: &Ifnet, l: &Slot, m: &mut MbufSlot) {}

    // Sockets, in the order of mac_socket.c.
    fn socket_create(&self, cred: &Slot, so: &Socket, l: &mut Slot) {}
    fn socket_newconn(&self, old: &Socket, oldl: &Slot, new: &Socket, newl: &mut Slot) {}
    fn socket_create_mbuf(&self, so: &Socket, l: &Slot, m: &mut MbufSlot) {}
    fn socketpeer_set_from_mbuf(&self, m: &MbufSlot, so: &Socket, peer: &mut Slot) {}
    fn socketpeer_set_from_socket(&self, old: &Socket, oldl: &Slot, new: &Socket, peer: &mut Slot) {
    }
    fn socket_relabel(&self, cred: &Slot, so: &Socket, l: &mut Slot, new: &Slot) {}
    fn socket_check_accept(&self, cred: &Slot, so: &Socket, l: &Slot) -> MacResult {
        Ok(())
    }
    fn socket_check_bind(
        &self,
        cred: &Cred,
        credl: &Slot,
        so: &Socket,
        l: &Slot,
        addr: &SocketAddrV6,
    ) -> MacResult {
        Ok(())
    }
    fn socket_check_connect(
        &self,
        cred: &Slot,
        so: &Socket,
        l: &Slot,
        addr: &SocketAddrV6,
    ) -> MacResult {
        Ok(())
    }
    fn socket_check_create(&self, cred: &Slot, proto: u8) -> MacResult {
        Ok(())
    }
    /// `rcvif`: the interface the packet arrived on, if it arrived.
    fn socket_check_deliver(
        &self,
        so: &Socket,
        l: &Slot,
        rcvif: Option<&Ifnet>,
        m: &MbufSlot,
    ) -> MacResult {
        Ok(())
    }
    fn socket_check_listen(&self, cred: &Slot, so: &Socket, l: &Slot) -> MacResult {
        Ok(())
    }
    fn socket_check_poll(&self, cred: &Slot, so: &Socket, l: &Slot) -> MacResult {
        Ok(())
    }
    fn socket_check_receive(&self, cred: &Slot, so: &Socket, l: &Slot) -> MacResult {
        Ok(())
    }
    fn socket_check_relabel(&self, cred: &Slot, so: &Socket, old: &Slot, new: &Slot) -> MacResult {
        Ok(())
    }
    fn socket_check_send(&self, cred: &Slot, so: &Socket, l: &Slot) -> MacResult {
        Ok(())
    }
    fn socket_check_stat(&self, cred: &Slot, so: &Socket, l: &Slot) -> MacResult {
        Ok(())
    }
    fn socket_check_visible(&self, cred: &Slot, so: &Socket, l: &Slot) -> MacResult {
        Ok(())
    }

    /// `mpo_priv_grant`: may the subject use `privilege` (a `PRIV_*`
    /// number) that it would otherwise lack? `None`: no say, as a NULL
    /// entry point; GRANT counts only the policies that answer.
    fn priv_grant(&self, cred: &Slot, privilege: u32) -> Option<MacResult> {
        None
    }

    // Fragment reassembly queues.
    fn ip6q_create(&self, m: &MbufSlot, q: &mut Slot) {}
    /// Whether fragment `m` belongs to queue `q`; a policy that has no say
    /// answers true (the caller ANDs the answers).
    fn ip6q_match(&self, m: &MbufSlot, q: &Slot) -> bool {
        true
    }
    fn ip6q_update(&self, m: &MbufSlot, q: &mut Slot) {}
    fn ip6q_reassemble(&self, q: &Slot, m: &mut MbufSlot) {}
}

/// A loaded policy, its slot, and its id (below [`MAX_POLICIES`], kept
/// for as long as it is loaded: its denial counters' index).
#[derive(Debug, Clone)]
struct Loaded {
    policy: Arc<dyn Policy>,
    conf: Conf,
    slot: Option<usize>,
    id: usize,
}

/// The loaded policies, newest first: what a snapshot carries and the
/// data plane asks. Cheap to clone (the policies are shared).
#[derive(Debug, Clone, Default)]
pub struct Policies {
    list: Vec<Loaded>,
    labeled: Kinds,
    /// Every loaded policy [`forwards_by_interface`](Policy::forwards_by_interface).
    by_interface: bool,
    /// One past the highest slot a loaded policy owns.
    mbuf_slots: usize,
}

/// The empty slots a policy without one is handed.
static EMPTY: Slot = Slot::Empty;
const EMPTY_MBUF: MbufSlot = MbufSlot([0; 5]);

impl Loaded {
    #[inline]
    fn slot<'a>(&self, l: &'a Label) -> &'a Slot {
        self.slot.map_or(&EMPTY, |s| &l.slots[s])
    }

    #[inline]
    fn mslot<'a>(&self, m: &'a MbufLabel) -> &'a MbufSlot {
        self.slot.map_or(&EMPTY_MBUF, |s| &m.slots[s])
    }

    /// Runs `f` on the policy's own slot of `l`, or on a scratch slot.
    #[inline]
    fn with_slot<R>(&self, l: &mut Label, f: impl FnOnce(&mut Slot) -> R) -> R {
        match self.slot {
            Some(s) => f(&mut l.slots[s]),
            None => f(&mut Slot::Empty),
        }
    }

    #[inline]
    fn with_mslot<R>(&self, m: &mut MbufLabel, f: impl FnOnce(&mut MbufSlot) -> R) -> R {
        match self.slot {
            Some(s) => f(&mut m.slots[s]),
            None => f(&mut MbufSlot::default()),
        }
    }
}

impl Policies {
    /// `mac_policy_count`.
    #[inline]
    pub fn count(&self) -> usize {
        self.list.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// `mac_labeled`: the kinds some loaded policy labels.
    pub fn labeled(&self) -> Kinds {
        self.labeled
    }

    /// Whether packets carry labels (some policy has LABELMBUFS).
    #[inline]
    pub fn labels_mbufs(&self) -> bool {
        self.labeled.contains(Kind::Mbuf)
    }

    /// Whether a forwarded packet's fate is a function of its interfaces
    /// under every loaded policy.
    #[inline]
    pub fn forwards_by_interface(&self) -> bool {
        self.by_interface
    }

    /// What happens to a packet received on `rcvif` and forwarded out
    /// `outif`, worked out once for all such packets: the label it gets
    /// and whether the transmit check lets it leave. `None` unless every
    /// policy [`forwards_by_interface`](Policy::forwards_by_interface).
    /// The label is made as a received packet's is, and each packet is
    /// given a copy (a plain copy: mbuf slots are plain words); since
    /// destroying it would touch nothing but the label, no copy is
    /// destroyed. A refusal is not counted here: the packets it concerns
    /// go the full way, where each is refused and counted.
    pub fn forward_verdict(&self, rcvif: &Ifnet, outif: &Ifnet) -> Option<(MbufLabel, bool)> {
        if !self.by_interface {
            return None;
        }
        let mut m = MbufLabel::default();
        if self.labels_mbufs() {
            self.mbuf_init(&mut m);
            self.mbuf_create_from_ifnet(rcvif, &mut m);
        }
        let permitted = self.ifnet_check_transmit(outif, &m, |_, _| ()).is_ok();
        Some((m, permitted))
    }

    /// Gives `dst` the slots of `src` a loaded policy owns, as plain
    /// words: how each packet gets its copy of a
    /// [`forward_verdict`](Self::forward_verdict) label. One slot (one
    /// labelling policy) or all four: slots nobody owns are copied
    /// harmlessly, and two fixed lengths stay a few moves, where a copy of
    /// each length from one to four was merged by the compiler into a
    /// `memcpy` call a packet (callgrind: 20 instructions a packet with
    /// `mls`).
    #[inline]
    pub fn mbuf_copy_slots(&self, src: &MbufLabel, dst: &mut MbufLabel) {
        let (s, d) = (&src.slots, &mut dst.slots);
        match self.mbuf_slots {
            0 => {}
            1 => d[0] = s[0],
            _ => *d = *s,
        }
    }

    /// The loaded policies, newest first, with their slots.
    pub fn iter(&self) -> impl Iterator<Item = (&dyn Policy, Option<usize>)> {
        self.list.iter().map(|l| (&*l.policy, l.slot))
    }

    /// The name of the policy with each id, for reading denial counters.
    pub fn names_by_id(&self) -> [Option<&'static str>; MAX_POLICIES] {
        let mut out = [None; MAX_POLICIES];
        for l in &self.list {
            out[l.id] = Some(l.conf.name);
        }
        out
    }

    pub fn get(&self, name: &str) -> Option<&dyn Policy> {
        self.list
            .iter()
            .find(|l| l.conf.name == name)
            .map(|l| &*l.policy)
    }

    /// `MAC_POLICY_CHECK`: every policy is asked, the answers folded with
    /// [`error_select`].
    #[inline]
    fn check(&self, mut f: impl FnMut(&Loaded) -> MacResult) -> MacResult {
        let mut error = Ok(());
        for l in &self.list {
            error = error_select(f(l), error);
        }
        error
    }

    /// `MAC_POLICY_GRANT`: refused (`EPERM`) unless some policy that has
    /// a say grants.
    fn grant(&self, mut f: impl FnMut(&Loaded) -> Option<MacResult>) -> MacResult {
        let mut error = Err(Errno::EPERM);
        for l in &self.list {
            if f(l) == Some(Ok(())) {
                error = Ok(());
            }
        }
        error
    }

    /// `mac_priv_grant`: whether a policy lets `cred` use `privilege`.
    pub fn priv_grant(&self, cred: &Cred, privilege: u32) -> MacResult {
        self.grant(|l| l.policy.priv_grant(l.slot(&cred.label), privilege))
    }

    /// `MAC_POLICY_BOOLEAN(..., &&)`: `seed` ANDed with every answer.
    #[inline]
    fn boolean(&self, seed: bool, mut f: impl FnMut(&Loaded) -> bool) -> bool {
        let mut result = seed;
        for l in &self.list {
            result = f(l) && result;
        }
        result
    }

    // Label life cycle.

    /// A packet's label comes into being (`mac_mbuf_init`): each loaded
    /// policy's slot is cleared, then initialised by it. Other slots are
    /// nobody's and are left as the buffer's last use left them.
    #[inline]
    pub fn mbuf_init(&self, m: &mut MbufLabel) {
        for l in &self.list {
            l.with_mslot(m, |s| {
                *s = MbufSlot::default();
                l.policy.mbuf_init_label(s)
            });
        }
    }

    #[inline]
    pub fn mbuf_destroy(&self, m: &mut MbufLabel) {
        for l in &self.list {
            l.with_mslot(m, |s| l.policy.mbuf_destroy_label(s));
        }
    }

    pub fn mbuf_copy(&self, src: &MbufLabel, dst: &mut MbufLabel) {
        for l in &self.list {
            let from = *l.mslot(src);
            l.with_mslot(dst, |s| l.policy.mbuf_copy_label(&from, s));
        }
    }

    /// A new label of `kind`, initialised by every policy.
    pub fn label_init(&self, kind: Kind) -> Label {
        let mut label = Label::default();
        for l in &self.list {
            l.with_slot(&mut label, |s| l.policy.init_label(kind, s));
        }
        label
    }

    pub fn label_destroy(&self, kind: Kind, label: &mut Label) {
        for l in &self.list {
            l.with_slot(label, |s| l.policy.destroy_label(kind, s));
        }
    }

    pub fn label_copy(&self, kind: Kind, src: &Label, dst: &mut Label) {
        for l in &self.list {
            let from = l.slot(src).clone();
            l.with_slot(dst, |s| l.policy.copy_label(kind, &from, s));
        }
    }

    // Credentials.

    /// The router's own subject: a credential labelled as init's.
    pub fn cred_init(&self, uid: u32, groups: Vec<u32>) -> Cred {
        let mut label = self.label_init(Kind::Cred);
        for l in &self.list {
            l.with_slot(&mut label, |s| l.policy.cred_create_init(s));
        }
        Cred { uid, groups, label }
    }

    // Interfaces.

    /// An interface's label when it attaches (`mac_ifnet_init` +
    /// `mac_ifnet_create`).
    pub fn ifnet_create(&self, ifp: &Ifnet) -> Label {
        let mut label = self.label_init(Kind::Ifnet);
        for l in &self.list {
            l.with_slot(&mut label, |s| l.policy.ifnet_create(ifp, s));
        }
        label
    }

    /// `mac_ifnet_ioctl_set` past its privilege check: `new` (internalized
    /// ifnet label text) is checked by every policy, then applied to the
    /// interface's `label`.
    pub fn ifnet_set_label(
        &self,
        cred: &Cred,
        ifp: &Ifnet,
        label: &mut Label,
        new: &Label,
    ) -> MacResult {
        self.check(|l| {
            l.policy
                .ifnet_check_relabel(l.slot(&cred.label), ifp, l.slot(label), l.slot(new))
        })?;
        for l in &self.list {
            let (c, n) = (l.slot(&cred.label), l.slot(new));
            l.with_slot(label, |s| l.policy.ifnet_relabel(c, ifp, s, n));
        }
        Ok(())
    }

    /// `mac_ifnet_check_transmit` (`looutput` and `ether_output` make it):
    /// may packet `m` leave through `ifp`?
    /// `denied` hears each policy's refusal (its id and errno), for the
    /// counters; the composed answer is returned.
    #[inline]
    pub fn ifnet_check_transmit(
        &self,
        ifp: &Ifnet,
        m: &MbufLabel,
        mut denied: impl FnMut(usize, Errno),
    ) -> MacResult {
        self.check(|l| {
            let r = l
                .policy
                .ifnet_check_transmit(ifp, l.slot(&ifp.label), l.mslot(m));
            if let Err(e) = r {
                denied(l.id, e);
            }
            r
        })
    }

    // Packets.

    /// `mac_ifnet_create_mbuf`: the label of a packet received on `ifp`.
    #[inline]
    pub fn mbuf_create_from_ifnet(&self, ifp: &Ifnet, m: &mut MbufLabel) {
        for l in &self.list {
            let il = l.slot(&ifp.label);
            l.with_mslot(m, |s| l.policy.mbuf_create_from_ifnet(ifp, il, s));
        }
    }

    /// `mac_netinet6_*` for a packet made in answer to `old`.
    pub fn mbuf_create_netlayer(&self, old: &MbufLabel, new: &mut MbufLabel) {
        for l in &self.list {
            let from = *l.mslot(old);
            l.with_mslot(new, |s| l.policy.mbuf_create_netlayer(&from, s));
        }
    }

    /// `mac_netinet6_nd6_send`: a link-layer packet made on `ifp`.
    pub fn mbuf_create_linklayer(&self, ifp: &Ifnet, m: &mut MbufLabel) {
        for l in &self.list {
            let il = l.slot(&ifp.label);
            l.with_mslot(m, |s| l.policy.mbuf_create_linklayer(ifp, il, s));
        }
    }

    // Fragment reassembly queues (`mac_ip6q_*`).

    pub fn ip6q_create(&self, m: &MbufLabel) -> Label {
        let mut q = self.label_init(Kind::Ip6q);
        for l in &self.list {
            let ms = *l.mslot(m);
            l.with_slot(&mut q, |s| l.policy.ip6q_create(&ms, s));
        }
        q
    }

    pub fn ip6q_match(&self, m: &MbufLabel, q: &Label) -> bool {
        self.boolean(true, |l| l.policy.ip6q_match(l.mslot(m), l.slot(q)))
    }

    pub fn ip6q_update(&self, m: &MbufLabel, q: &mut Label) {
        for l in &self.list {
            let ms = *l.mslot(m);
            l.with_slot(q, |s| l.policy.ip6q_update(&ms, s));
        }
    }

    pub fn ip6q_reassemble(&self, q: &Label, m: &mut MbufLabel) {
        for l in &self.list {
            let qs = l.slot(q);
            l.with_mslot(m, |s| l.policy.ip6q_reassemble(qs, s));
        }
    }
}

/// Loads and unloads policies as `mac_policy_register` and
/// `mac_policy_unregister` do, and publishes the loaded set. A clone
/// shares the policies (their settings and counters) with the original.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    policies: Policies,
    /// Slots in use by a loaded policy.
    used: [bool; MAX_SLOTS],
    /// Slots of unloaded policies that packets may still carry.
    retired: [bool; MAX_SLOTS],
    /// The data plane has started: NOTLATE policies can no longer load.
    late: bool,
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    /// What is loaded now.
    pub fn policies(&self) -> &Policies {
        &self.policies
    }

    /// The data plane is running; from now on loads are late.
    pub fn set_late(&mut self) {
        self.late = true;
    }

    /// `mac_policy_register`: `EEXIST` for a name already loaded, `EBUSY`
    /// for a NOTLATE policy once the data plane runs, `ENOMEM` when it
    /// wants a slot and none is free (the lowest free one is taken) or
    /// [`MAX_POLICIES`] are loaded. The new policy is asked first from now
    /// on.
    pub fn register(&mut self, policy: Arc<dyn Policy>) -> MacResult {
        let conf = policy.conf();
        // mac_policy_modevent refuses a late NOTLATE policy before
        // mac_policy_register looks at the name.
        if self.late && conf.flags.contains(Flags::NOTLATE) {
            return Err(Errno::EBUSY);
        }
        if self.policies.get(conf.name).is_some() {
            return Err(Errno::EEXIST);
        }
        let id = (0..MAX_POLICIES)
            .find(|&i| self.policies.list.iter().all(|l| l.id != i))
            .ok_or(Errno::ENOMEM)?;
        let wants_slot = conf.labels != Kinds::NONE || conf.flags.contains(Flags::LABELMBUFS);
        let slot = if wants_slot {
            let s = (0..MAX_SLOTS)
                .find(|&s| !self.used[s] && !self.retired[s])
                .ok_or(Errno::ENOMEM)?;
            self.used[s] = true;
            Some(s)
        } else {
            None
        };
        policy.init();
        self.policies.list.insert(
            0,
            Loaded {
                policy,
                conf,
                slot,
                id,
            },
        );
        self.recompute();
        Ok(())
    }

    /// `mac_policy_unregister`: `ENOENT` if not loaded, `EBUSY` without
    /// UNLOADOK. Its slot is retired, not freed: packets labelled under it
    /// may still be in flight; [`Registry::reclaim`] frees retired slots.
    pub fn unregister(&mut self, name: &str) -> MacResult {
        let at = self
            .policies
            .list
            .iter()
            .position(|l| l.conf.name == name)
            .ok_or(Errno::ENOENT)?;
        if !self.policies.list[at].conf.flags.contains(Flags::UNLOADOK) {
            return Err(Errno::EBUSY);
        }
        let gone = self.policies.list.remove(at);
        if let Some(s) = gone.slot {
            self.used[s] = false;
            self.retired[s] = true;
        }
        gone.policy.destroy();
        self.recompute();
        Ok(())
    }

    /// Frees the slots of unloaded policies: to be called once no packet
    /// or label made while they were loaded is left (every worker has
    /// passed a burst since, and no hold queue holds such a packet).
    pub fn reclaim(&mut self) {
        self.retired = [false; MAX_SLOTS];
    }

    /// The slot a loaded policy has.
    pub fn slot_of(&self, name: &str) -> Option<Option<usize>> {
        self.policies
            .list
            .iter()
            .find(|l| l.conf.name == name)
            .map(|l| l.slot)
    }

    fn recompute(&mut self) {
        self.policies.mbuf_slots = self
            .policies
            .list
            .iter()
            .filter_map(|l| l.slot)
            .max()
            .map_or(0, |s| s + 1);
        self.policies.by_interface = self
            .policies
            .list
            .iter()
            .all(|l| l.policy.forwards_by_interface());
        self.policies.labeled = self.policies.list.iter().fold(Kinds::NONE, |k, l| {
            let k = k.union(l.conf.labels);
            if l.conf.flags.contains(Flags::LABELMBUFS) {
                k.with(Kind::Mbuf)
            } else {
                k
            }
        });
    }
}

/// Bumped by every change to a policy's settings. The engine keeps a
/// verdict it worked out from them ([`Policies::forward_verdict`]) only
/// while this and the snapshot stay the same, so a setting changed
/// between two bursts applies from the next one.
static SETTINGS_EPOCH: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The number of settings changes so far ([`SETTINGS_EPOCH`]).
#[inline]
pub fn settings_epoch() -> u64 {
    SETTINGS_EPOCH.load(std::sync::atomic::Ordering::Acquire)
}

/// Says that a policy's settings may have changed: every policy's `set`
/// calls this after it has tried (a failed one too, which costs only a
/// verdict asked again).
pub fn settings_changed() {
    SETTINGS_EPOCH.fetch_add(1, std::sync::atomic::Ordering::Release);
}

/// The `security.mac.<policy>.<key>` switches: `0` or `1`.
pub fn set_flag(
    policy: &str,
    flag: &std::sync::atomic::AtomicBool,
    key: &str,
    value: &str,
) -> Result<(), String> {
    let on = match value {
        "0" => false,
        "1" => true,
        _ => return Err(format!("{policy}: `{key}` is 0 or 1, not `{value}`")),
    };
    flag.store(on, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

/// A switch as [`Policy::settings`] reports it.
pub fn flag_text(flag: &std::sync::atomic::AtomicBool) -> String {
    u8::from(flag.load(std::sync::atomic::Ordering::Relaxed)).to_string()
}

/// A policy by the name `mac load` gives it.
pub fn policy_named(name: &str) -> Option<Arc<dyn Policy>> {
    Some(match name {
        "mls" => Arc::new(mls::Mls::default()),
        "biba" => Arc::new(biba::Biba::default()),
        "ifoff" => Arc::new(ifoff::Ifoff::default()),
        "test" => Arc::new(test::Test::default()),
        "stub" => Arc::new(stub::Stub),
        _ => return None,
    })
}

/// The names [`policy_named`] knows.
pub const POLICY_NAMES: [&str; 5] = ["mls", "biba", "ifoff", "test", "stub"];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iface::IfFlags;

    /// A policy that answers every check with `answer` and claims the
    /// label element `claims`.
    #[derive(Debug)]
    struct Fixed {
        name: &'static str,
        flags: Flags,
        labels: Kinds,
        answer: MacResult,
        claims: &'static str,
    }

    impl Fixed {
        fn new(name: &'static str) -> Fixed {
            Fixed {
                name,
                flags: Flags::UNLOADOK,
                labels: Kinds::NONE,
                answer: Ok(()),
                claims: "",
            }
        }
    }

    impl Policy for Fixed {
        fn conf(&self) -> Conf {
            Conf {
                name: self.name,
                flags: self.flags,
                labels: self.labels,
            }
        }
        fn ifnet_check_transmit(&self, _: &Ifnet, _: &Slot, _: &MbufSlot) -> MacResult {
            self.answer
        }
        fn socket_check_create(&self, _: &Slot, _: u8) -> MacResult {
            self.answer
        }
        fn externalize(
            &self,
            _: Kind,
            _: &Slot,
            element: &str,
            out: &mut String,
            claimed: &mut u32,
        ) -> MacResult {
            if element == self.claims {
                *claimed += 1;
                out.push_str(self.name);
            }
            Ok(())
        }
    }

    fn port() -> Ifnet {
        Ifnet::new(
            0,
            "port0".into(),
            Default::default(),
            1500,
            IfFlags::default(),
        )
    }

    fn with(policies: Vec<Fixed>) -> Registry {
        let mut r = Registry::new();
        for p in policies {
            r.register(Arc::new(p)).unwrap();
        }
        r
    }

    fn answering(name: &'static str, answer: MacResult) -> Fixed {
        Fixed {
            answer,
            ..Fixed::new(name)
        }
    }

    #[test]
    fn error_select_keeps_freebsds_precedence() {
        use Errno::*;
        let order = [EDEADLK, EINVAL, ESRCH, ENOENT, EACCES, EPERM];
        for (i, &a) in order.iter().enumerate() {
            for &b in &order[i + 1..] {
                assert_eq!(error_select(Err(a), Err(b)), Err(a), "{a} over {b}");
                assert_eq!(error_select(Err(b), Err(a)), Err(a), "{a} over {b}");
            }
            assert_eq!(error_select(Err(a), Err(EBUSY)), Err(a));
            assert_eq!(error_select(Err(EBUSY), Err(a)), Err(a));
            assert_eq!(error_select(Err(a), Ok(())), Err(a));
            assert_eq!(error_select(Ok(()), Err(a)), Err(a));
        }
        assert_eq!(
            error_select(Err(EBUSY), Err(EEXIST)),
            Err(EBUSY),
            "of two others, the first"
        );
        assert_eq!(error_select(Err(ENOMEM), Ok(())), Err(ENOMEM));
        assert_eq!(error_select(Ok(()), Ok(())), Ok(()));
    }

    #[test]
    fn check_asks_every_policy_and_folds_the_answers() {
        use Errno::*;
        let r = with(vec![
            answering("a", Err(EPERM)),
            answering("b", Ok(())),
            answering("c", Err(EACCES)),
            answering("d", Err(EBUSY)),
        ]);
        let mut asked = vec![];
        let got = r
            .policies()
            .ifnet_check_transmit(&port(), &MbufLabel::default(), |id, e| {
                asked.push((r.policies().names_by_id()[id].unwrap(), e))
            });
        assert_eq!(got, Err(EACCES));
        assert_eq!(
            asked,
            vec![("d", EBUSY), ("c", EACCES), ("a", EPERM)],
            "all are asked, newest first"
        );
        assert_eq!(
            Registry::new()
                .policies()
                .socket_check_create(&Cred::default(), 17),
            Ok(())
        );
    }

    #[test]
    fn grant_needs_a_yes_from_a_policy_that_has_a_say() {
        #[derive(Debug)]
        struct Granting(MacResult);
        impl Policy for Granting {
            fn conf(&self) -> Conf {
                Conf {
                    name: "granting",
                    flags: Flags::UNLOADOK,
                    labels: Kinds::NONE,
                }
            }
            fn priv_grant(&self, _: &Slot, _: u32) -> Option<MacResult> {
                Some(self.0)
            }
        }
        let cred = Cred::default();
        let grant = |r: &Registry| r.policies().priv_grant(&cred, 0);
        assert_eq!(grant(&Registry::new()), Err(Errno::EPERM));
        let mut r = Registry::new();
        r.register(policy_named("mls").unwrap()).unwrap();
        assert_eq!(
            grant(&r),
            Err(Errno::EPERM),
            "a policy with no say grants nothing"
        );
        r.register(Arc::new(Granting(Err(Errno::EACCES)))).unwrap();
        assert_eq!(grant(&r), Err(Errno::EPERM));
        let mut r = Registry::new();
        r.register(policy_named("mls").unwrap()).unwrap();
        r.register(Arc::new(Granting(Ok(())))).unwrap();
        assert_eq!(grant(&r), Ok(()));
    }

    #[test]
    fn registration_follows_mac_policy_register() {
        let mut r = Registry::new();
        r.register(Arc::new(Fixed::new("a"))).unwrap();
        assert_eq!(r.register(Arc::new(Fixed::new("a"))), Err(Errno::EEXIST));
        let late = Fixed {
            flags: Flags::NOTLATE,
            ..Fixed::new("late")
        };
        r.set_late();
        assert_eq!(r.register(Arc::new(late)), Err(Errno::EBUSY));
        r.register(policy_named("test").unwrap()).unwrap();
        assert_eq!(
            r.register(policy_named("mls").unwrap()),
            Err(Errno::EBUSY),
            "mls is NOTLATE"
        );
        let stuck = Fixed {
            flags: Flags::NONE,
            ..Fixed::new("stuck")
        };
        r.register(Arc::new(stuck)).unwrap();
        assert_eq!(r.unregister("stuck"), Err(Errno::EBUSY));
        assert_eq!(r.unregister("nonesuch"), Err(Errno::ENOENT));
        assert_eq!(r.policies().count(), 3);
        r.unregister("a").unwrap();
        assert_eq!(r.policies().count(), 2);
        assert!(r.policies().get("a").is_none());
    }

    #[test]
    fn slots_are_four_lowest_first_and_reused_only_when_reclaimed() {
        let labelling = |name| Fixed {
            labels: Kinds::of(&[Kind::Ifnet]),
            ..Fixed::new(name)
        };
        let mut r = Registry::new();
        for n in ["a", "b", "c", "d"] {
            r.register(Arc::new(labelling(n))).unwrap();
        }
        assert_eq!(r.slot_of("a"), Some(Some(0)));
        assert_eq!(r.slot_of("d"), Some(Some(3)));
        assert_eq!(r.register(Arc::new(labelling("e"))), Err(Errno::ENOMEM));
        r.register(Arc::new(Fixed::new("no-slot"))).unwrap();
        assert_eq!(
            r.slot_of("no-slot"),
            Some(None),
            "a policy without labels takes none"
        );
        r.unregister("b").unwrap();
        assert_eq!(
            r.register(Arc::new(labelling("e"))),
            Err(Errno::ENOMEM),
            "packets may still carry b's slot"
        );
        r.reclaim();
        r.register(Arc::new(labelling("e"))).unwrap();
        assert_eq!(r.slot_of("e"), Some(Some(1)));
    }

    #[test]
    fn at_most_max_policies_load() {
        let mut r = Registry::new();
        const NAMES: [&str; MAX_POLICIES] = ["0", "1", "2", "3", "4", "5", "6", "7"];
        for n in NAMES {
            r.register(Arc::new(Fixed::new(n))).unwrap();
        }
        assert_eq!(r.register(Arc::new(Fixed::new("8"))), Err(Errno::ENOMEM));
        r.unregister("3").unwrap();
        r.register(Arc::new(Fixed::new("8"))).unwrap();
        assert_eq!(
            r.policies().names_by_id()[3],
            Some("8"),
            "the free id is reused"
        );
    }

    #[test]
    fn labelled_kinds_follow_what_is_loaded() {
        let mut r = Registry::new();
        assert!(r.policies().is_empty() && !r.policies().labels_mbufs());
        r.register(policy_named("ifoff").unwrap()).unwrap();
        assert_eq!(r.policies().labeled(), Kinds::NONE);
        r.register(policy_named("test").unwrap()).unwrap();
        assert!(r.policies().labels_mbufs());
        assert!(r.policies().labeled().contains(Kind::Socket));
        r.unregister("test").unwrap();
        assert!(!r.policies().labels_mbufs());
        assert_eq!(r.policies().count(), 1);
    }

    #[test]
    fn every_named_policy_loads() {
        let mut r = Registry::new();
        for n in POLICY_NAMES {
            r.register(policy_named(n).unwrap()).unwrap();
            assert_eq!(r.policies().get(n).unwrap().conf().name, n);
        }
        assert!(policy_named("lomac").is_none());
    }

    #[test]
    fn fragment_queues_match_by_boolean_and() {
        let mut r = Registry::new();
        r.register(policy_named("mls").unwrap()).unwrap();
        let p = r.policies();
        let mut ifp = port();
        let mut a = MbufLabel::default();
        let mut b = MbufLabel::default();
        ifp.label = p.internalize(Kind::Ifnet, "mls/5(low-high)").unwrap();
        p.mbuf_create_from_ifnet(&ifp, &mut a);
        ifp.label = p.internalize(Kind::Ifnet, "mls/7(low-high)").unwrap();
        p.mbuf_create_from_ifnet(&ifp, &mut b);
        let q = p.ip6q_create(&a);
        assert!(p.ip6q_match(&a, &q));
        assert!(
            !p.ip6q_match(&b, &q),
            "a fragment of another level opens its own queue"
        );
        let mut whole = MbufLabel::default();
        p.ip6q_reassemble(&q, &mut whole);
        assert_eq!(whole, a, "the datagram takes the queue's label");
        assert!(
            Registry::new().policies().ip6q_match(&b, &q),
            "no policy has a say"
        );
    }
}
