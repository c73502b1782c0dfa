//! Label text: FreeBSD's `MAC_POLICY_EXTERNALIZE` and
//! `MAC_POLICY_INTERNALIZE`, which hand each element of
//! `mls/low,biba/high` to the policy that owns it.

use super::{Errno, Kind, Label, MAX_LABEL_BUF_LEN, MacResult, Policies};

/// The buffer a label's text travels in (`struct mac`'s `m_buflen`) must
/// hold at least a character and its NUL, and at most
/// [`MAX_LABEL_BUF_LEN`] bytes.
pub fn check_buflen(buflen: usize) -> MacResult {
    if (2..=MAX_LABEL_BUF_LEN).contains(&buflen) {
        Ok(())
    } else {
        Err(Errno::EINVAL)
    }
}

/// Label text as it would arrive from user space: in a buffer of its
/// length and a NUL.
pub fn check_text(text: &str) -> MacResult {
    check_buflen(text.len() + 1)
}

impl Policies {
    /// `MAC_POLICY_EXTERNALIZE`: the text of `label` for the elements of
    /// `elements` (`"mls,?biba"`), in a buffer of `buflen` bytes. An
    /// element no policy claims is `EINVAL`, unless marked optional with
    /// `?`, when it is left out; so is one two policies claim, an empty
    /// element name, and text that does not fit the buffer with its NUL.
    pub fn externalize(
        &self,
        kind: Kind,
        label: &Label,
        elements: &str,
        buflen: usize,
    ) -> Result<String, Errno> {
        check_buflen(buflen)?;
        if elements.len() >= buflen {
            return Err(Errno::EINVAL);
        }
        let mut out = String::new();
        let mut first = true;
        for element in elements.split(',') {
            let (name, optional) = match element.strip_prefix('?') {
                Some(n) => (n, true),
                None => (element, false),
            };
            let saved = out.len();
            if !first {
                out.push(',');
            }
            out.push_str(name);
            out.push('/');
            let mut claimed = 0;
            self.check(|l| {
                l.policy
                    .externalize(kind, l.slot(label), name, &mut out, &mut claimed)
            })?;
            if claimed == 0 && optional {
                out.truncate(saved);
            } else if claimed != 1 {
                return Err(Errno::EINVAL);
            } else {
                first = false;
            }
            if out.len() >= buflen {
                return Err(Errno::EINVAL);
            }
        }
        Ok(out)
    }

    /// `MAC_POLICY_INTERNALIZE` into a new label of `kind`: every element
    /// `name/data` must be claimed by exactly one policy; a repeated
    /// element's last value wins; slots no element names stay empty ("no
    /// change" on relabel). The first error ends it and the temporary
    /// label is destroyed.
    pub fn internalize(&self, kind: Kind, text: &str) -> Result<Label, Errno> {
        check_text(text)?;
        let mut label = self.label_init(kind);
        match self.internalize_into(kind, &mut label, text) {
            Ok(()) => Ok(label),
            Err(e) => {
                self.label_destroy(kind, &mut label);
                Err(e)
            }
        }
    }

    fn internalize_into(&self, kind: Kind, label: &mut Label, text: &str) -> MacResult {
        for element in text.split(',') {
            let (name, data) = element.split_once('/').ok_or(Errno::EINVAL)?;
            let mut claimed = 0;
            let mut error = Ok(());
            for l in &self.list {
                let r = l.with_slot(label, |s| {
                    l.policy.internalize(kind, s, name, data, &mut claimed)
                });
                error = super::error_select(r, error);
            }
            error?;
            if claimed != 1 {
                return Err(Errno::EINVAL);
            }
        }
        Ok(())
    }

    /// The canonical text of `label` with every element some policy
    /// claims for `kind`, as the summary and the counters show it.
    pub fn label_text(&self, kind: Kind, label: &Label) -> String {
        let elements: Vec<String> = self
            .list
            .iter()
            .rev()
            .map(|l| format!("?{}", l.conf.name))
            .collect();
        self.externalize(kind, label, &elements.join(","), MAX_LABEL_BUF_LEN)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iface::{IfFlags, Ifnet};
    use crate::mac::{Registry, policy_named};

    fn loaded(names: &[&str]) -> Registry {
        let mut r = Registry::new();
        for n in names {
            r.register(policy_named(n).unwrap()).unwrap();
        }
        r
    }

    fn ifnet_label(p: &Policies) -> Label {
        p.ifnet_create(&Ifnet::new(
            0,
            "port0".into(),
            Default::default(),
            1500,
            IfFlags::default(),
        ))
    }

    #[test]
    fn externalize_takes_element_lists_with_optional_elements() {
        let r = loaded(&["mls", "biba"]);
        let p = r.policies();
        let l = ifnet_label(p);
        let ext = |e: &str| p.externalize(Kind::Ifnet, &l, e, MAX_LABEL_BUF_LEN);
        assert_eq!(
            ext("mls,biba").unwrap(),
            "mls/low(low-low),biba/equal(equal-equal)"
        );
        assert_eq!(
            ext("biba,mls").unwrap(),
            "biba/equal(equal-equal),mls/low(low-low)"
        );
        assert_eq!(ext("?lomac,mls").unwrap(), "mls/low(low-low)");
        assert_eq!(
            ext("mls,?lomac").unwrap(),
            "mls/low(low-low)",
            "no stray comma"
        );
        assert_eq!(ext("?lomac").unwrap(), "");
        assert_eq!(ext("lomac"), Err(Errno::EINVAL), "an element nobody claims");
        assert_eq!(ext("mls,,biba"), Err(Errno::EINVAL), "an empty element");
        assert_eq!(ext(""), Err(Errno::EINVAL));
        assert_eq!(
            p.externalize(Kind::Ifnet, &l, "mls", 10),
            Err(Errno::EINVAL),
            "text that does not fit the buffer"
        );
        assert_eq!(
            p.externalize(Kind::Ifnet, &l, "mls", 17).unwrap(),
            "mls/low(low-low)"
        );
        assert_eq!(
            p.externalize(Kind::Ifnet, &l, "mls", 16),
            Err(Errno::EINVAL),
            "no room for the NUL"
        );
        assert_eq!(p.externalize(Kind::Ifnet, &l, "mls", 1), Err(Errno::EINVAL));
        assert_eq!(
            p.externalize(Kind::Ifnet, &l, "mls", MAX_LABEL_BUF_LEN + 1),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn an_element_two_policies_claim_is_refused() {
        #[derive(Debug)]
        struct Impostor;
        impl crate::mac::Policy for Impostor {
            fn conf(&self) -> crate::mac::Conf {
                crate::mac::Conf {
                    name: "impostor",
                    flags: crate::mac::Flags::UNLOADOK,
                    labels: crate::mac::Kinds::NONE,
                }
            }
            fn externalize(
                &self,
                _: Kind,
                _: &crate::mac::Slot,
                element: &str,
                _: &mut String,
                claimed: &mut u32,
            ) -> MacResult {
                if element == "mls" {
                    *claimed += 1;
                }
                Ok(())
            }
        }
        let mut r = loaded(&["mls"]);
        r.register(std::sync::Arc::new(Impostor)).unwrap();
        let l = ifnet_label(r.policies());
        assert_eq!(
            r.policies().externalize(Kind::Ifnet, &l, "mls", 100),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn internalize_refuses_what_freebsd_refuses() {
        let r = loaded(&["mls", "biba"]);
        let p = r.policies();
        let text = |l: &Label| p.label_text(Kind::Ifnet, l);
        let l = p
            .internalize(Kind::Ifnet, "mls/low(low-high),biba/high(high-high)")
            .unwrap();
        assert_eq!(text(&l), "mls/low(low-high),biba/high(high-high)");
        let l = p
            .internalize(Kind::Ifnet, "mls/low(low-high),mls/5(low-high)")
            .unwrap();
        assert_eq!(
            p.externalize(Kind::Ifnet, &l, "mls", 100).unwrap(),
            "mls/5(low-high)",
            "a repeated element: the last wins"
        );
        let l = p.internalize(Kind::Ifnet, "biba/low(low-low)").unwrap();
        assert_eq!(
            l.slots[0],
            crate::mac::Slot::Lattice(Default::default()),
            "a policy not named keeps a label with neither part: no change on relabel"
        );
        for bad in [
            "",
            "x",
            "mls",
            "mls/",
            "lomac/low",
            "?mls/low",
            "mls/low,",
            "mls/low,,biba/high",
            "mls/65536",
            "mls/(high-low)",
            "mls/low(low-high)x",
        ] {
            assert_eq!(
                p.internalize(Kind::Ifnet, bad),
                Err(Errno::EINVAL),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn label_buffers_are_two_to_8192_bytes() {
        assert_eq!(check_buflen(0), Err(Errno::EINVAL));
        assert_eq!(check_buflen(1), Err(Errno::EINVAL));
        assert_eq!(check_buflen(2), Ok(()));
        assert_eq!(check_buflen(MAX_LABEL_BUF_LEN), Ok(()));
        assert_eq!(check_buflen(MAX_LABEL_BUF_LEN + 1), Err(Errno::EINVAL));
        assert_eq!(check_text(&"m".repeat(MAX_LABEL_BUF_LEN - 1)), Ok(()));
        assert_eq!(
            check_text(&"m".repeat(MAX_LABEL_BUF_LEN)),
            Err(Errno::EINVAL)
        );
        let r = loaded(&["mls"]);
        let long = format!("mls/low(low-high){}", ",mls/low(low-high)".repeat(500));
        assert!(long.len() > MAX_LABEL_BUF_LEN);
        assert_eq!(
            r.policies().internalize(Kind::Ifnet, &long),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn internalize_without_policies_claims_nothing() {
        let r = Registry::new();
        assert_eq!(
            r.policies().internalize(Kind::Ifnet, "mls/low"),
            Err(Errno::EINVAL)
        );
    }
}
