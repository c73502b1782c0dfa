//! The MAC side of a configuration: the policies it loads and sets, the
//! credential it acts with, and the labels it gives interfaces.

use dataplane::iface::Ifnet;
use dataplane::mac::{Cred, Errno, Kind, Label, Policies};

/// The subject the configuration and the control plane act as: root,
/// labelled as FreeBSD labels init (`mpo_cred_create_init`), which every
/// shipped policy treats as privileged.
pub fn config_cred(p: &Policies) -> Cred {
    p.cred_init(0, vec![0])
}

/// An interface's label: what the policies give it when it attaches
/// (`ifnet_create`), then, if the configuration names one, that label,
/// checked and applied as `ifconfig maclabel` has it
/// (`mac_ifnet_ioctl_set`).
pub fn interface_label(
    p: &Policies,
    cred: &Cred,
    ifp: &Ifnet,
    text: Option<&str>,
) -> Result<Label, String> {
    let mut label = p.ifnet_create(ifp);
    let Some(text) = text else {
        return Ok(label);
    };
    let applied = if p.labeled().contains(Kind::Ifnet) {
        p.internalize(Kind::Ifnet, text).and_then(|mut new| {
            let r = p.ifnet_set_label(cred, ifp, &mut label, &new);
            p.label_destroy(Kind::Ifnet, &mut new);
            r
        })
    } else {
        Err(Errno::EINVAL)
    };
    match applied {
        Ok(()) => Ok(label),
        Err(e) => {
            p.label_destroy(Kind::Ifnet, &mut label);
            Err(refusal(p, ifp, text, e))
        }
    }
}

/// Why a label was refused, in words.
fn refusal(p: &Policies, ifp: &Ifnet, text: &str, e: Errno) -> String {
    let why = if !p.labeled().contains(Kind::Ifnet) {
        "no loaded policy labels interfaces (`mac load mls` or `mac load biba` first)"
    } else if text.len() >= dataplane::mac::MAX_LABEL_BUF_LEN {
        "label text is at most 8191 bytes"
    } else {
        match e {
            Errno::EINVAL => {
                "every element must name a loaded policy and be valid for it; an mls or biba interface label needs an effective label and a range whose high end dominates its low end, e.g. mls/low(low-high)"
            }
            Errno::EPERM => "the configuration's credential may not set it",
            _ => "a policy refuses it",
        }
    };
    const SHOWN: usize = 64;
    let shown = match text.char_indices().nth(SHOWN) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_string(),
    };
    format!("label `{shown}` for {}: {e}: {why}", ifp.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dataplane::iface::IfFlags;
    use dataplane::mac::{Registry, policy_named};

    fn loaded(names: &[&str]) -> Registry {
        let mut r = Registry::new();
        for n in names {
            r.register(policy_named(n).unwrap()).unwrap();
        }
        r
    }

    fn port(i: u16) -> Ifnet {
        Ifnet::new(
            i,
            format!("port{i}"),
            Default::default(),
            1500,
            IfFlags::default(),
        )
    }

    #[test]
    fn interfaces_take_defaults_then_what_the_configuration_says() {
        let r = loaded(&["mls", "biba"]);
        let p = r.policies();
        let cred = config_cred(p);
        let ifp = port(1);
        let l = interface_label(p, &cred, &ifp, None).unwrap();
        assert_eq!(
            p.label_text(Kind::Ifnet, &l),
            "mls/low(low-low),biba/equal(equal-equal)"
        );
        let l = interface_label(p, &cred, &ifp, Some("mls/low(low-high)")).unwrap();
        assert_eq!(
            p.label_text(Kind::Ifnet, &l),
            "mls/low(low-high),biba/equal(equal-equal)",
            "an element not named keeps its value"
        );
        let e = interface_label(p, &cred, &ifp, Some("mls/low")).unwrap_err();
        assert!(e.contains("EINVAL"), "{e}");
        let e = interface_label(p, &cred, &ifp, Some("lomac/low")).unwrap_err();
        assert!(e.contains("EINVAL"), "{e}");
    }

    #[test]
    fn a_label_without_a_labelling_policy_is_refused() {
        let r = loaded(&["ifoff"]);
        let p = r.policies();
        let e =
            interface_label(p, &config_cred(p), &port(0), Some("mls/low(low-high)")).unwrap_err();
        assert!(e.contains("no loaded policy labels interfaces"), "{e}");
    }
}
