//! The label structure Bell-LaPadula (mls) and Biba share: an effective
//! element and a range, each element a type, a level (mls) or grade (biba)
//! and a compartment set; their text form, dominance, equality and range
//! tests (FreeBSD's `mac_mls.c` and `mac_biba.c` duplicate this code).
//!
//! The two policies also agree on every network entry point but three
//! (the credential of init, the label an interface attaches with, and
//! which way a subject may read), so [`Policy`] is implemented here once,
//! for any type that states those three as [`Rules`].

use std::fmt::{self, Write as _};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{
    Conf, Errno, Flags, Kind, Kinds, MacResult, MbufSlot, Policy, Slot, Socket, flag_text, set_flag,
};
use crate::iface::Ifnet;

/// An element's type (`MAC_MLS_TYPE_*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Type {
    #[default]
    Low,
    High,
    Equal,
    /// A level (mls) or grade (biba) with compartments.
    Level,
}

impl Type {
    /// Its number in an mbuf slot; 0 is left unused so that a zeroed type
    /// field never reads as a label.
    const fn code(self) -> u64 {
        match self {
            Type::Low => 1,
            Type::High => 2,
            Type::Equal => 3,
            Type::Level => 4,
        }
    }

    const fn from_code(code: u64) -> Option<Type> {
        Some(match code {
            1 => Type::Low,
            2 => Type::High,
            3 => Type::Equal,
            4 => Type::Level,
            _ => return None,
        })
    }
}

/// Compartments 1..=256 as a bitmap (bit c-1 for compartment c).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Compartments(pub [u64; 4]);

impl Compartments {
    /// `MAC_MLS_MAX_COMPARTMENTS`.
    pub const MAX: u16 = 256;

    /// The word and bit of compartment `c`, if it is one.
    fn position(c: u16) -> Option<(usize, u32)> {
        let i = c.checked_sub(1).filter(|&i| i < Self::MAX)?;
        Some((usize::from(i / 64), u32::from(i % 64)))
    }

    pub fn contains(&self, c: u16) -> bool {
        Self::position(c).is_some_and(|(w, b)| (self.0[w] >> b) & 1 == 1)
    }

    /// Adds compartment `c`; `EINVAL` outside 1..=256, as the parser
    /// answers for `5:0` and `5:257`.
    pub fn insert(&mut self, c: u16) -> MacResult {
        let (w, b) = Self::position(c).ok_or(Errno::EINVAL)?;
        self.0[w] |= 1 << b;
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.0 == [0; 4]
    }

    /// Whether every compartment of `other` is also in `self`.
    pub fn is_superset(&self, other: &Compartments) -> bool {
        self.0.iter().zip(&other.0).all(|(a, b)| b & !a == 0)
    }

    /// The compartments in ascending order, as FreeBSD prints them.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        (1..=Self::MAX).filter(|&c| self.contains(c))
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Element {
    pub kind: Type,
    pub value: u16,
    pub compartments: Compartments,
}

impl Element {
    pub const LOW: Element = Element::of(Type::Low);
    pub const HIGH: Element = Element::of(Type::High);
    pub const EQUAL: Element = Element::of(Type::Equal);

    /// An element of type `kind` with value 0 and no compartments: the
    /// only valid form of low, high and equal.
    pub const fn of(kind: Type) -> Element {
        Element {
            kind,
            value: 0,
            compartments: Compartments([0; 4]),
        }
    }

    /// `mls_valid` for one element: only a level may carry a value or
    /// compartments.
    pub fn is_valid(&self) -> bool {
        self.kind == Type::Level || (self.value == 0 && self.compartments.is_empty())
    }
}

/// `mls_dominate_element`: whether `a` is at least as high as `b`. Equal
/// dominates and is dominated by everything; high dominates everything;
/// low only low and equal.
pub fn dom(a: &Element, b: &Element) -> bool {
    match (a.kind, b.kind) {
        (Type::Equal | Type::High, _) => true,
        (_, Type::Equal | Type::Low) => true,
        (Type::Low, _) | (Type::Level, Type::High) => false,
        (Type::Level, Type::Level) => {
            a.value >= b.value && a.compartments.is_superset(&b.compartments)
        }
    }
}

/// `mls_equal_element`: either side equal, or the same type and value.
/// Compartments are not compared, as in FreeBSD: `5:1` equals `5:2` (two
/// such labels do not dominate each other, yet a packet of one is
/// delivered to a socket of the other and their fragments share a queue).
pub fn equal(a: &Element, b: &Element) -> bool {
    a.kind == Type::Equal || b.kind == Type::Equal || (a.kind == b.kind && a.value == b.value)
}

/// Whether `e` lies in the range `(low, high)`: `dom(high, e) && dom(e,
/// low)`.
pub fn in_range(e: &Element, (low, high): &(Element, Element)) -> bool {
    dom(high, e) && dom(e, low)
}

/// A decimal number of ASCII digits only. FreeBSD's `strtol` also takes
/// leading blanks and a sign (`+5`, `-0`); labelgate refuses them, so that
/// every accepted text has one canonical reading.
fn number(s: &str) -> Result<u32, Errno> {
    if s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().map_err(|_| Errno::EINVAL)
    } else {
        Err(Errno::EINVAL)
    }
}

/// `mls_parse_element`: `high|hi`, `low|lo`, `equal|eq`, or
/// `<value>[:<c>[+<c>...]]`. As in FreeBSD, a colon with nothing after it
/// (`5:`) means no compartments.
impl FromStr for Element {
    type Err = Errno;

    fn from_str(s: &str) -> Result<Element, Errno> {
        match s {
            "high" | "hi" => return Ok(Element::HIGH),
            "low" | "lo" => return Ok(Element::LOW),
            "equal" | "eq" => return Ok(Element::EQUAL),
            _ => {}
        }
        let (value, compartments) = s.split_once(':').unwrap_or((s, ""));
        let mut e = Element {
            kind: Type::Level,
            value: u16::try_from(number(value)?).map_err(|_| Errno::EINVAL)?,
            compartments: Compartments::default(),
        };
        if !compartments.is_empty() {
            for c in compartments.split('+') {
                let c = u16::try_from(number(c)?).map_err(|_| Errno::EINVAL)?;
                e.compartments.insert(c)?;
            }
        }
        Ok(e)
    }
}

/// `mls_element_to_string`: the canonical form (`high`, `5:1+3`).
impl fmt::Display for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Type::High => f.write_str("high"),
            Type::Low => f.write_str("low"),
            Type::Equal => f.write_str("equal"),
            Type::Level => {
                write!(f, "{}", self.value)?;
                for (i, c) in self.compartments.iter().enumerate() {
                    write!(f, "{}{c}", if i == 0 { ':' } else { '+' })?;
                }
                Ok(())
            }
        }
    }
}

/// Word 0 of an mbuf slot: bit 0 says a label is there, bits 8..16 hold
/// the type's code, bits 16..32 the value; words 1..5 the compartments.
const PRESENT: u64 = 1;
const TYPE_SHIFT: u32 = 8;
const VALUE_SHIFT: u32 = 16;
const WORD0_BITS: u64 = PRESENT | (0xff << TYPE_SHIFT) | (0xffff << VALUE_SHIFT);

/// An mbuf's label as its slot holds it: `None` is the zeroed slot.
pub fn encode(e: Option<Element>) -> MbufSlot {
    e.map_or_else(MbufSlot::default, |e| {
        let [c0, c1, c2, c3] = e.compartments.0;
        let word0 = PRESENT | (e.kind.code() << TYPE_SHIFT) | (u64::from(e.value) << VALUE_SHIFT);
        MbufSlot([word0, c0, c1, c2, c3])
    })
}

/// The element an mbuf slot holds. Anything [`encode`] does not write
/// (stray bits, an unknown type, low with a value) is `None`: a slot that
/// holds no valid element carries no label, so checks refuse the packet.
pub fn decode(m: &MbufSlot) -> Option<Element> {
    let [word0, c0, c1, c2, c3] = m.0;
    if word0 & PRESENT == 0 || word0 & !WORD0_BITS != 0 {
        return None;
    }
    let e = Element {
        kind: Type::from_code((word0 >> TYPE_SHIFT) & 0xff)?,
        value: u16::try_from(word0 >> VALUE_SHIFT).ok()?,
        compartments: Compartments([c0, c1, c2, c3]),
    };
    e.is_valid().then_some(e)
}

/// A whole label: the effective element and the range, each optional
/// (FreeBSD's `MAC_MLS_FLAG_EFFECTIVE` and `MAC_MLS_FLAG_RANGE`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Lattice {
    pub effective: Option<Element>,
    pub range: Option<(Element, Element)>,
}

/// What a slot that holds no lattice label reads as: neither part, which
/// is "no change" on relabel and refused by every check.
const UNLABELLED: Lattice = Lattice {
    effective: None,
    range: None,
};

impl Lattice {
    /// A label with both parts: `effective(low-high)`.
    pub const fn new(effective: Element, low: Element, high: Element) -> Lattice {
        Lattice {
            effective: Some(effective),
            range: Some((low, high)),
        }
    }

    /// `mls_valid`: every element valid, and the range's high end
    /// dominates its low end.
    pub fn is_valid(&self) -> bool {
        self.effective.is_none_or(|e| e.is_valid())
            && self
                .range
                .is_none_or(|(low, high)| low.is_valid() && high.is_valid() && dom(&high, &low))
    }

    /// `mls_effective_in_range(self, range)`: false if `self` has no
    /// effective element or `range` no range.
    pub fn effective_in_range(&self, range: &Lattice) -> bool {
        match (&self.effective, &range.range) {
            (Some(e), Some(r)) => in_range(e, r),
            _ => false,
        }
    }

    /// `mls_contains_equal`.
    pub fn contains_equal(&self) -> bool {
        let is_equal = |e: &Element| e.kind == Type::Equal;
        self.effective.as_ref().is_some_and(is_equal)
            || self
                .range
                .as_ref()
                .is_some_and(|(low, high)| is_equal(low) || is_equal(high))
    }

    /// `mls_subject_privileged`: the subject's effective is equal, or an
    /// end of its range is, or its range is exactly `(low-high)`; `EPERM`
    /// otherwise, also for a subject missing the part that would make it
    /// privileged.
    pub fn privileged(&self) -> MacResult {
        let effective_equal = self.effective.is_some_and(|e| e.kind == Type::Equal);
        let range_ok = self.range.is_some_and(|(low, high)| {
            low.kind == Type::Equal
                || high.kind == Type::Equal
                || (low.kind == Type::Low && high.kind == Type::High)
        });
        if effective_equal || range_ok {
            Ok(())
        } else {
            Err(Errno::EPERM)
        }
    }

    /// `mls_copy`: the parts `new` carries replace those of `self`.
    fn update(&mut self, new: &Lattice) {
        self.effective = new.effective.or(self.effective);
        self.range = new.range.or(self.range);
    }
}

/// `mls_parse`: `[effective]["(" low "-" high ")"]`, then `mls_valid`.
/// Unlike FreeBSD, the empty text (a label with neither part) is `EINVAL`:
/// not naming the element is how a relabel leaves a policy's part alone.
impl FromStr for Lattice {
    type Err = Errno;

    fn from_str(s: &str) -> Result<Lattice, Errno> {
        let (effective, range) = match s.split_once('(') {
            Some((effective, range)) => (effective, Some(range)),
            None => (s, None),
        };
        let range = match range {
            Some(r) => {
                let (low, r) = r.split_once('-').ok_or(Errno::EINVAL)?;
                let (high, rest) = r.split_once(')').ok_or(Errno::EINVAL)?;
                if !rest.is_empty() {
                    return Err(Errno::EINVAL);
                }
                Some((low.parse()?, high.parse()?))
            }
            None => None,
        };
        let effective = match effective {
            "" => None,
            e => Some(e.parse()?),
        };
        let l = Lattice { effective, range };
        if l == UNLABELLED || !l.is_valid() {
            return Err(Errno::EINVAL);
        }
        Ok(l)
    }
}

/// `mls_to_string`: the canonical text [`Lattice::from_str`] reads back.
impl fmt::Display for Lattice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(e) = &self.effective {
            write!(f, "{e}")?;
        }
        if let Some((low, high)) = &self.range {
            write!(f, "({low}-{high})")?;
        }
        Ok(())
    }
}

/// The policy's part of a label; FreeBSD's labels always exist, here a
/// slot may hold none, which reads as [`UNLABELLED`].
fn label(s: &Slot) -> &Lattice {
    match s {
        Slot::Lattice(l) => l,
        _ => &UNLABELLED,
    }
}

/// `mls_copy_effective` into `dst`, its range kept; a source without an
/// effective element leaves `dst` without one too, so that a label never
/// outlives the object it was copied from.
fn set_effective(dst: &mut Slot, effective: Option<Element>) {
    let range = label(dst).range;
    *dst = Slot::Lattice(Lattice { effective, range });
}

/// `mls_copy`: applies a relabel's `new` label to `dst`.
fn relabel(dst: &mut Slot, new: &Slot) {
    let mut l = *label(dst);
    l.update(label(new));
    *dst = Slot::Lattice(l);
}

/// Where Bell-LaPadula and Biba differ; [`Policy`] follows from these.
/// Settings are atomics (or locks) because workers read them while the
/// control plane may change them; no ordering with other memory is needed.
pub trait Rules: Send + Sync + fmt::Debug {
    /// The policy's name, which is also its element of label text.
    const NAME: &'static str;
    /// The settings' names, for the error an unknown key gets.
    const KEYS: &'static str = "enabled";
    /// `mpo_cred_create_init`: the label of the router's own subject.
    const CRED_INIT: Lattice;

    /// `security.mac.<name>.enabled`: off, the check hooks allow
    /// everything; labelling and relabel checks go on.
    fn enabled(&self) -> &AtomicBool;
    /// Settings other than `enabled`; `None` for a key the policy lacks.
    fn set_other(&self, key: &str, value: &str) -> Option<Result<(), String>> {
        let _ = (key, value);
        None
    }
    fn other_settings(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
    /// Whether a subject at `subject` may read (see) an object at
    /// `object`: mls forbids reading up, biba reading down.
    fn reads(subject: &Element, object: &Element) -> bool;
    /// The type of an interface's effective label and of both ends of its
    /// range when it attaches.
    fn ifnet_type(&self, ifp: &Ifnet) -> Type;
}

impl<P: Rules> Policy for P {
    fn conf(&self) -> Conf {
        Conf {
            name: P::NAME,
            flags: Flags::NOTLATE | Flags::LABELMBUFS,
            labels: Kinds::of(&[
                Kind::Ifnet,
                Kind::Socket,
                Kind::SocketPeer,
                Kind::Cred,
                Kind::Ip6q,
            ]),
        }
    }

    fn set(&self, key: &str, value: &str) -> Result<(), String> {
        let set = if key == "enabled" {
            set_flag(P::NAME, self.enabled(), key, value)
        } else {
            self.set_other(key, value).unwrap_or_else(|| {
                Err(format!(
                    "{} has no setting `{key}` (it has {})",
                    P::NAME,
                    P::KEYS
                ))
            })
        };
        super::settings_changed();
        set
    }

    fn settings(&self) -> Vec<(&'static str, String)> {
        let mut settings = vec![("enabled", flag_text(self.enabled()))];
        settings.extend(self.other_settings());
        settings
    }

    /// FreeBSD allocates a zeroed label: neither part.
    fn init_label(&self, _: Kind, l: &mut Slot) {
        *l = Slot::Lattice(UNLABELLED);
    }

    fn destroy_label(&self, _: Kind, l: &mut Slot) {
        *l = Slot::Empty;
    }

    fn externalize(
        &self,
        _: Kind,
        l: &Slot,
        element: &str,
        out: &mut String,
        claimed: &mut u32,
    ) -> MacResult {
        if element != P::NAME {
            return Ok(());
        }
        *claimed += 1;
        write!(out, "{}", label(l)).map_err(|_| Errno::EINVAL)
    }

    fn internalize(
        &self,
        _: Kind,
        l: &mut Slot,
        element: &str,
        data: &str,
        claimed: &mut u32,
    ) -> MacResult {
        if element != P::NAME {
            return Ok(());
        }
        *claimed += 1;
        *l = Slot::Lattice(data.parse()?);
        Ok(())
    }

    fn cred_create_init(&self, cred: &mut Slot) {
        *cred = Slot::Lattice(P::CRED_INIT);
    }

    fn ifnet_create(&self, ifp: &Ifnet, l: &mut Slot) {
        let e = Element::of(self.ifnet_type(ifp));
        *l = Slot::Lattice(Lattice::new(e, e, e));
    }

    /// A new label naming this policy must set both parts and be valid
    /// (`EINVAL`, before anything else, as FreeBSD's flag check comes
    /// first); one not naming it changes nothing here, yet relabelling an
    /// interface still takes privilege (`EPERM`), as in FreeBSD.
    fn ifnet_check_relabel(&self, cred: &Slot, _: &Ifnet, _: &Slot, new: &Slot) -> MacResult {
        let new = label(new);
        let complete = new.effective.is_some() && new.range.is_some() && new.is_valid();
        if *new != UNLABELLED && !complete {
            return Err(Errno::EINVAL);
        }
        label(cred).privileged()
    }

    fn ifnet_relabel(&self, _: &Slot, _: &Ifnet, l: &mut Slot, new: &Slot) {
        relabel(l, new);
    }

    /// A received packet's label is its interface's effective label, and
    /// the hooks keep no state of their own.
    fn forwards_by_interface(&self) -> bool {
        true
    }

    /// A packet whose slot holds no label is not in any range: `EACCES`.
    fn ifnet_check_transmit(&self, _: &Ifnet, l: &Slot, m: &MbufSlot) -> MacResult {
        if !self.enabled().load(Ordering::Relaxed) {
            return Ok(());
        }
        match (decode(m), &label(l).range) {
            (Some(e), Some(r)) if in_range(&e, r) => Ok(()),
            _ => Err(Errno::EACCES),
        }
    }

    fn mbuf_create_from_ifnet(&self, _: &Ifnet, l: &Slot, m: &mut MbufSlot) {
        *m = encode(label(l).effective);
    }

    fn mbuf_create_netlayer(&self, old: &MbufSlot, new: &mut MbufSlot) {
        *new = encode(decode(old));
    }

    /// Neighbour discovery must reach every neighbour whatever its label.
    fn mbuf_create_linklayer(&self, _: &Ifnet, _: &Slot, m: &mut MbufSlot) {
        *m = encode(Some(Element::EQUAL));
    }

    fn socket_create(&self, cred: &Slot, _: &Socket, l: &mut Slot) {
        set_effective(l, label(cred).effective);
    }

    fn socket_newconn(&self, _: &Socket, oldl: &Slot, _: &Socket, newl: &mut Slot) {
        set_effective(newl, label(oldl).effective);
    }

    fn socket_create_mbuf(&self, _: &Socket, l: &Slot, m: &mut MbufSlot) {
        *m = encode(label(l).effective);
    }

    fn socketpeer_set_from_mbuf(&self, m: &MbufSlot, _: &Socket, peer: &mut Slot) {
        set_effective(peer, decode(m));
    }

    fn socketpeer_set_from_socket(&self, _: &Socket, oldl: &Slot, _: &Socket, peer: &mut Slot) {
        set_effective(peer, label(oldl).effective);
    }

    fn socket_relabel(&self, _: &Slot, _: &Socket, l: &mut Slot, new: &Slot) {
        relabel(l, new);
    }

    fn socket_check_deliver(
        &self,
        _: &Socket,
        l: &Slot,
        _: Option<&Ifnet>,
        m: &MbufSlot,
    ) -> MacResult {
        if !self.enabled().load(Ordering::Relaxed) {
            return Ok(());
        }
        match (decode(m), &label(l).effective) {
            (Some(p), Some(s)) if equal(&p, s) => Ok(()),
            _ => Err(Errno::EACCES),
        }
    }

    /// In FreeBSD's order: a socket label has no range (`EINVAL`); the old
    /// label must be within the subject's range, and so must the new one,
    /// and a new equal needs privilege (`EPERM`).
    fn socket_check_relabel(&self, cred: &Slot, _: &Socket, old: &Slot, new: &Slot) -> MacResult {
        let (subject, new) = (label(cred), label(new));
        if new.range.is_some() || !new.is_valid() {
            return Err(Errno::EINVAL);
        }
        if !label(old).effective_in_range(subject) {
            return Err(Errno::EPERM);
        }
        if new.effective.is_some() {
            if !new.effective_in_range(subject) {
                return Err(Errno::EPERM);
            }
            if new.contains_equal() {
                subject.privileged()?;
            }
        }
        Ok(())
    }

    fn socket_check_visible(&self, cred: &Slot, _: &Socket, l: &Slot) -> MacResult {
        if !self.enabled().load(Ordering::Relaxed) {
            return Ok(());
        }
        match (&label(cred).effective, &label(l).effective) {
            (Some(s), Some(o)) if P::reads(s, o) => Ok(()),
            _ => Err(Errno::ENOENT),
        }
    }

    fn ip6q_create(&self, m: &MbufSlot, q: &mut Slot) {
        set_effective(q, decode(m));
    }

    /// Fragments of one label share a queue; unlabelled ones (which
    /// transmit refuses anyway) share one of their own.
    fn ip6q_match(&self, m: &MbufSlot, q: &Slot) -> bool {
        match (&label(q).effective, decode(m)) {
            (Some(a), Some(b)) => equal(a, &b),
            (a, b) => a.is_none() && b.is_none(),
        }
    }

    fn ip6q_reassemble(&self, q: &Slot, m: &mut MbufSlot) {
        *m = encode(label(q).effective);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::iface::IfFlags;

    pub(crate) fn ifnet(name: &str, loopback: bool) -> Ifnet {
        let flags = IfFlags {
            loopback,
            ..IfFlags::default()
        };
        Ifnet::new(0, name.into(), Default::default(), 1500, flags)
    }

    /// A slot holding the label `text` (which must parse).
    pub(crate) fn slot(text: &str) -> Slot {
        Slot::Lattice(text.parse().unwrap())
    }

    fn el(text: &str) -> Element {
        text.parse().unwrap()
    }

    fn canonical(text: &str) -> String {
        text.parse::<Lattice>().unwrap().to_string()
    }

    #[test]
    fn man_page_examples_round_trip() {
        for text in [
            "10:2+3+6",
            "low",
            "10:2+3+6(5:2+3-20:2+3+4+5+6)",
            "high(low-high)",
            "equal(equal-equal)",
            "(low-high)",
            "65535:1+256",
            "0",
        ] {
            assert_eq!(canonical(text), text);
        }
    }

    #[test]
    fn printing_is_canonical() {
        for (text, want) in [
            ("hi", "high"),
            ("lo", "low"),
            ("eq", "equal"),
            ("5:3+1+1", "5:1+3"),
            ("05", "5"),
            ("5:", "5"),
            ("5:07+0003", "5:3+7"),
            ("eq(lo-hi)", "equal(low-high)"),
            ("(05:2-hi)", "(5:2-high)"),
        ] {
            assert_eq!(canonical(text), want, "{text}");
        }
    }

    #[test]
    fn bad_text_is_einval() {
        for text in [
            "",
            "65536",
            "-1",
            "+5",
            " 5",
            "5:0",
            "5:257",
            "5:+1",
            "5:1+",
            "5:1++2",
            "5:1:2",
            "(high-low)",
            "(5-3)",
            "(5:1-5:2)",
            "(low-high",
            "low(low-high)x",
            "low:1",
            "low()",
            "(-high)",
            "(low-)",
            "(low-high-x)",
            "low((low-high)",
            "99999999999",
            "5:99999999999",
            "medium",
        ] {
            assert_eq!(text.parse::<Lattice>(), Err(Errno::EINVAL), "{text:?}");
        }
    }

    #[test]
    fn parsed_parts() {
        let l: Lattice = "10:2+3+6(5:2+3-20:2+3+4+5+6)".parse().unwrap();
        let e = l.effective.unwrap();
        assert_eq!((e.kind, e.value), (Type::Level, 10));
        assert_eq!(e.compartments.iter().collect::<Vec<_>>(), [2, 3, 6]);
        let (low, high) = l.range.unwrap();
        assert_eq!(low.compartments.iter().collect::<Vec<_>>(), [2, 3]);
        assert_eq!(high.value, 20);
        assert_eq!("low".parse::<Lattice>().unwrap().range, None);
        assert_eq!("(low-high)".parse::<Lattice>().unwrap().effective, None);
    }

    #[test]
    fn compartments_bounds() {
        let mut c = Compartments::default();
        assert_eq!(c.insert(0), Err(Errno::EINVAL));
        assert_eq!(c.insert(257), Err(Errno::EINVAL));
        for x in [1, 64, 65, 256] {
            c.insert(x).unwrap();
            assert!(c.contains(x));
        }
        assert!(!c.contains(0) && !c.contains(2) && !c.contains(257));
        assert_eq!(c.iter().collect::<Vec<_>>(), [1, 64, 65, 256]);
        assert!(c.is_superset(&Compartments::default()));
        assert!(!Compartments::default().is_superset(&c));
    }

    /// Checks `f(a, b)` for every pair of low, high, equal and a level
    /// against `want[a][b]`.
    fn type_table(name: &str, f: fn(&Element, &Element) -> bool, want: [[bool; 4]; 4]) {
        let names = ["low", "high", "equal", "5"];
        for (a, row) in names.iter().zip(want) {
            for (b, want) in names.iter().zip(row) {
                assert_eq!(f(&el(a), &el(b)), want, "{name}({a}, {b})");
            }
        }
    }

    #[test]
    fn dominance_table() {
        type_table(
            "dom",
            dom,
            [
                [true, false, true, false],
                [true, true, true, true],
                [true, true, true, true],
                [true, false, true, true],
            ],
        );
    }

    #[test]
    fn dominance_of_levels() {
        for (a, b, want) in [
            ("5", "3", true),
            ("3", "5", false),
            ("5", "5", true),
            ("5:1+2", "5:1", true),
            ("5:1", "5:1+2", false),
            ("7:1", "5:1+2", false),
            ("7:1+2+3", "5:1+2", true),
            ("5:1", "5:2", false),
            ("5:2", "5:1", false),
            ("0", "low", true),
            ("65535:1+256", "high", false),
        ] {
            assert_eq!(dom(&el(a), &el(b)), want, "dom({a}, {b})");
        }
    }

    #[test]
    fn equality_table() {
        type_table(
            "equal",
            equal,
            [
                [true, false, true, false],
                [false, true, true, false],
                [true, true, true, true],
                [false, false, true, true],
            ],
        );
        // FreeBSD compares no compartments.
        assert!(equal(&el("5:1"), &el("5:2")));
        assert!(!equal(&el("5"), &el("6")));
    }

    #[test]
    fn ranges() {
        let range = |t: &str| t.parse::<Lattice>().unwrap().range.unwrap();
        for (e, r, want) in [
            ("low", "(low-low)", true),
            ("5", "(low-low)", false),
            ("high", "(low-low)", false),
            ("equal", "(low-low)", true),
            ("5", "(low-high)", true),
            ("5", "(3-7)", true),
            ("8", "(3-7)", false),
            ("2", "(3-7)", false),
            ("5:1", "(3-7:1+2)", true),
            ("5:3", "(3-7:1+2)", false),
            ("low", "(equal-equal)", true),
            ("5:9", "(equal-equal)", true),
        ] {
            assert_eq!(in_range(&el(e), &range(r)), want, "{e} in {r}");
        }
        let full: Lattice = "low(low-high)".parse().unwrap();
        let effective_only: Lattice = "5".parse().unwrap();
        assert!(effective_only.effective_in_range(&full));
        assert!(!full.effective_in_range(&effective_only));
        assert!(!UNLABELLED.effective_in_range(&full));
    }

    #[test]
    fn validity() {
        let bad_low = Element {
            value: 3,
            ..Element::LOW
        };
        let mut bad_eq = Element::EQUAL;
        bad_eq.compartments.insert(1).unwrap();
        for l in [
            Lattice::new(bad_low, Element::LOW, Element::HIGH),
            Lattice::new(Element::LOW, bad_eq, Element::HIGH),
            Lattice::new(Element::LOW, Element::HIGH, Element::LOW),
        ] {
            assert!(!l.is_valid(), "{l:?}");
        }
        assert!(Lattice::new(Element::LOW, Element::LOW, Element::HIGH).is_valid());
        assert!(UNLABELLED.is_valid());
    }

    #[test]
    fn privilege() {
        for (text, want) in [
            ("low(low-high)", Ok(())),
            ("equal(low-low)", Ok(())),
            ("5(equal-high)", Ok(())),
            ("5(low-equal)", Ok(())),
            ("high(high-high)", Err(Errno::EPERM)),
            ("low(low-low)", Err(Errno::EPERM)),
            ("5(low-10)", Err(Errno::EPERM)),
            ("5(3-high)", Err(Errno::EPERM)),
            ("equal", Ok(())),
            ("(low-high)", Ok(())),
            ("high", Err(Errno::EPERM)),
        ] {
            assert_eq!(
                text.parse::<Lattice>().unwrap().privileged(),
                want,
                "{text}"
            );
        }
        assert_eq!(UNLABELLED.privileged(), Err(Errno::EPERM));
    }

    #[test]
    fn contains_equal() {
        for (text, want) in [
            ("equal", true),
            ("(equal-high)", true),
            ("low(low-equal)", true),
            ("low(low-high)", false),
            ("5", false),
        ] {
            assert_eq!(
                text.parse::<Lattice>().unwrap().contains_equal(),
                want,
                "{text}"
            );
        }
    }

    #[test]
    fn mbuf_slot_round_trip() {
        assert_eq!(encode(None), MbufSlot::default());
        assert_eq!(decode(&MbufSlot::default()), None);
        for text in [
            "low",
            "high",
            "equal",
            "0",
            "65535",
            "5:1+3",
            "7:1+64+65+128+256",
        ] {
            let e = el(text);
            let m = encode(Some(e));
            assert_ne!(m, MbufSlot::default());
            assert_eq!(decode(&m), Some(e), "{text}");
        }
    }

    #[test]
    fn garbage_mbuf_slots_decode_without_panic() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut some = 0;
        for i in 0..20_000 {
            let mut words = [next(), next(), next(), next(), next()];
            // Every other slot gets a plausible word 0 (present, a type
            // code from 0 to 5, no stray bits), so that decoding gets past
            // the header and meets bad types and bad low/high/equal too.
            if i % 2 == 0 {
                let code = (words[0] >> 32) % 6;
                let value = words[0] & (0xffff << VALUE_SHIFT);
                words[0] = value | (code << TYPE_SHIFT) | PRESENT;
            }
            let m = MbufSlot(words);
            if let Some(e) = decode(&m) {
                some += 1;
                assert!(e.is_valid());
                assert_eq!(decode(&encode(Some(e))), Some(e));
            }
        }
        assert!(some > 0, "no random slot decoded to an element");
        for word0 in [
            PRESENT,
            PRESENT | 5 << TYPE_SHIFT,
            PRESENT | Type::Low.code() << TYPE_SHIFT | 1 << VALUE_SHIFT,
            PRESENT | Type::Level.code() << TYPE_SHIFT | 1 << 40,
            Type::Level.code() << TYPE_SHIFT,
            u64::MAX,
        ] {
            assert_eq!(decode(&MbufSlot([word0, 0, 0, 0, 0])), None, "{word0:#x}");
        }
        let high_with_compartment =
            MbufSlot([PRESENT | Type::High.code() << TYPE_SHIFT, 1, 0, 0, 0]);
        assert_eq!(decode(&high_with_compartment), None);
    }
}
