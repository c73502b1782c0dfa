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
