//! Binds DPDK as the distribution installed it.
//!
//! pkg-config says where DPDK is, which libraries to link and which flags it
//! was built with; bindgen turns `src/dpdk/wrapper.h` into Rust and, with
//! `wrap_static_fns`, writes C wrappers for DPDK's static-inline fast-path
//! functions, which `cc` compiles with the same flags. Nothing about DPDK is
//! hard-coded here, so the build follows whatever 22.11 release is installed.

use std::env;
use std::path::PathBuf;
use std::process::exit;

const PACKAGES: &str = "pkg-config libdpdk-dev libclang-dev";

/// Stops the build with one message that says what to install.
fn missing(what: &str, detail: &str) -> ! {
    eprintln!(
        "\nlabelgate: {what} not found ({detail}).\n\
         Install the Debian packages: sudo apt-get install {PACKAGES}\n"
    );
    println!("cargo::error={what} not found: install the Debian packages {PACKAGES}");
    exit(1);
}

fn main() {
    println!("cargo::rerun-if-changed=src/dpdk/wrapper.h");
    println!("cargo::rerun-if-env-changed=PKG_CONFIG_PATH");

    let dpdk = match pkg_config::Config::new()
        .atleast_version("22.11")
        .probe("libdpdk")
    {
        Ok(lib) => lib,
        Err(e) => missing("DPDK 22.11 (pkg-config libdpdk)", &e.to_string()),
    };

    // DPDK's pkg-config cflags carry the include paths, the forced
    // `-include rte_config.h` and the -march the distribution built with;
    // bindings and wrappers must see exactly what the libraries saw.
    let cflags = cflags_of("libdpdk");

    if let Err(e) = std::panic::catch_unwind(bindgen::clang_version) {
        let detail = e
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_else(|| "bindgen could not load libclang".into());
        missing("libclang", &detail);
    }

    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let wrappers = out.join("dpdk_wrappers");

    let bindings = bindgen::Builder::default()
        .header("src/dpdk/wrapper.h")
        .clang_args(&cflags)
        .allowlist_function("rte_eal_.*|rte_eth_.*|rte_pktmbuf_.*|rte_mbuf_.*|rte_mempool_.*")
        .allowlist_function("rte_lcore_.*|rte_get_.*|rte_socket_id|rte_socket_count|rte_socket_id_by_idx|rte_strerror|rte_version")
        .allowlist_function("rte_log_set_global_level|rte_malloc_get_socket_stats|lg_.*")
        .allowlist_function("rte_lpm6_.*|rte_fib6_.*")
        .allowlist_var("RTE_MAX_LCORE|RTE_MAX_ETHPORTS|RTE_PKTMBUF_HEADROOM|RTE_MBUF_DEFAULT_.*")
        .allowlist_var("RTE_ETH_.*|RTE_LOG_.*|RTE_MBUF_F_.*|RTE_MEMPOOL_F_.*|SOCKET_ID_ANY")
        .wrap_static_fns(true)
        .wrap_static_fns_path(&wrappers)
        .clang_macro_fallback()
        .allowlist_type("rte_pktmbuf_pool_private")
        .derive_default(true)
        .layout_tests(false)
        .generate_comments(false)
        .rust_edition(bindgen::RustEdition::Edition2024)
        .prepend_enum_name(false)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .generate()
        .unwrap_or_else(|e| missing("a usable DPDK header set", &e.to_string()));
    bindings
        .write_to_file(out.join("dpdk.rs"))
        .expect("OUT_DIR is writable");

    let mut cc = cc::Build::new();
    cc.file(wrappers.with_extension("c"))
        .include(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .warnings(false);
    for flag in &cflags {
        cc.flag(flag);
    }
    cc.compile("labelgate_dpdk_wrappers");
    // cc's archive is emitted after pkg-config's libraries, but rustc places
    // static archives before dynamic ones on the link line, so the wrappers
    // still resolve against DPDK's shared objects.
    let _ = dpdk;
}

/// The compiler flags of a pkg-config package, split as the shell would.
fn cflags_of(package: &str) -> Vec<String> {
    let output = std::process::Command::new(env::var("PKG_CONFIG").unwrap_or("pkg-config".into()))
        .args(["--cflags", package])
        .output()
        .unwrap_or_else(|e| missing("pkg-config", &e.to_string()));
    if !output.status.success() {
        missing(
            "DPDK 22.11 (pkg-config libdpdk)",
            String::from_utf8_lossy(&output.stderr).trim(),
        );
    }
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}
