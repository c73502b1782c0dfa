//! The README's counter reference is the counters' own documentation: every
//! counter labelgate reports is listed there with the meaning its
//! declaration gives it.

use dataplane::stats::{
    FastFwdValues, FateValues, Icmp6StatValues, In6IfStatValues, Ip6StatValues, PortStatValues,
    RouteCacheValues, UpcallValues,
};

/// The reference tables as they must appear in the README.
fn reference() -> String {
    let groups: [(&str, &[(&str, &str)]); 8] = [
        ("fates", FateValues::FIELDS),
        ("ip6stat", Ip6StatValues::FIELDS),
        ("icmp6stat", Icmp6StatValues::FIELDS),
        ("interfaces.<name>", In6IfStatValues::FIELDS),
        ("interfaces.<name>", PortStatValues::FIELDS),
        ("upcalls", UpcallValues::FIELDS),
        ("rtcache", RouteCacheValues::FIELDS),
        ("fastfwd", FastFwdValues::FIELDS),
    ];
    let mut out = String::from("| group | counter | meaning |\n| --- | --- | --- |\n");
    for (group, fields) in groups {
        for (name, meaning) in fields {
            let name = name
                .strip_prefix("drop_")
                .map_or(name.to_string(), |n| format!("drops.{n}"));
            out.push_str(&format!("| `{group}` | `{name}` | {meaning} |\n"));
        }
    }
    out
}

#[test]
fn readme_lists_every_counter_with_its_meaning() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let want = reference();
    if !readme.contains(&want) {
        let path = std::env::temp_dir().join("labelgate-counter-reference.md");
        std::fs::write(&path, &want).unwrap();
        panic!(
            "README.md's counter reference is out of date; the current table is in {}",
            path.display()
        );
    }
}
