//! Build script of zelle-sys: where the FreeBSD ABI comes from (see README.md).
//!
//! * Native FreeBSD build (host == target, target_os = "freebsd"): bindgen runs over the machine's
//!   own /usr/include with `wrapper.h` and the allowlist below; the crate includes that output
//!   (`cfg(zelle_sys_native)`). `ZELLE_SYS_BINDINGS=checked-in` opts out (e.g. no libclang).
//! * Regeneration (feature `regenerate`, `ZELLE_SYS_BINDGEN_INCLUDE` set; used by
//!   `sys/regenerate.sh`): bindgen runs over the FreeBSD headers in those directories (ziglang's
//!   copy) for x86_64-unknown-freebsd and leaves `x86_64_freebsd.rs` in OUT_DIR; the script copies
//!   it to `src/generated/`. The crate itself still compiles the checked-in copy.
//! * Everywhere else: nothing to do; the crate uses the checked-in `src/generated/x86_64_freebsd.rs`.
//!
//! bindgen is a build-dependency only where the host is FreeBSD or with the `regenerate` feature,
//! so `cfg(target_os = "freebsd")` below (a build script is compiled for the host) matches the
//! manifest's `[target.'cfg(target_os = "freebsd")'.build-dependencies]`.

use std::env;

/// `__FreeBSD_version` for the regeneration, as `zig cc -target x86_64-freebsd`
/// defines it (its default minimum release, FreeBSD 14.0). ziglang patches sys/param.h so that the
/// compiler, not the header, defines it; plain clang does not, so the regeneration passes it.
#[cfg(feature = "regenerate")]
const ZIG_FREEBSD_VERSION: &str = "1400500";

fn main() {
    println!("cargo::rustc-check-cfg=cfg(zelle_sys_native)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=wrapper.h");
    println!("cargo::rerun-if-env-changed=ZELLE_SYS_BINDINGS");
    println!("cargo::rerun-if-env-changed=ZELLE_SYS_BINDGEN_INCLUDE");
    println!("cargo::rerun-if-env-changed=ZELLE_SYS_HEADERS");
    // regenerate.sh sets a fresh value so every run really runs bindgen again.
    println!("cargo::rerun-if-env-changed=ZELLE_SYS_REGENERATE_RUN");
    println!("cargo::rerun-if-env-changed=LIBCLANG_PATH");

    let var = |k: &str| env::var(k).unwrap_or_default();
    let native = var("CARGO_CFG_TARGET_OS") == "freebsd"
        && var("HOST") == var("TARGET")
        && var("ZELLE_SYS_BINDINGS") != "checked-in";
    let regenerate_from = env::var_os("ZELLE_SYS_BINDGEN_INCLUDE");

    if let Some(dirs) = regenerate_from {
        regenerate(&dirs);
    } else if native {
        native_bindings();
    }
}

#[cfg(feature = "regenerate")]
fn regenerate(dirs: &std::ffi::OsStr) {
    let out = std::path::PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let headers = env::var("ZELLE_SYS_HEADERS").unwrap_or_else(|_| "(unnamed)".to_owned());
    let clang = bindgen::clang_version().full;
    let mut args = vec![
        "--target=x86_64-unknown-freebsd14.0".to_owned(),
        "-nostdlibinc".to_owned(),
        format!("-D__FreeBSD_version={ZIG_FREEBSD_VERSION}"),
    ];
    for dir in env::split_paths(dirs) {
        args.push("-isystem".to_owned());
        args.push(dir.to_str().expect("include dir is UTF-8").to_owned());
    }
    let bindings = abi::builder()
        .raw_line("// @generated: the FreeBSD amd64 kernel ABI for zelle. DO NOT EDIT.")
        .raw_line("//")
        .raw_line("// Command:  bash sys/regenerate.sh   (CI: bash sys/regenerate.sh --check)")
        .raw_line(format!("// Headers:  {headers}"))
        .raw_line(format!(
            "//           for x86_64-unknown-freebsd14.0, __FreeBSD_version={ZIG_FREEBSD_VERSION}"
        ))
        .raw_line("// Input:    sys/wrapper.h, allowlist in sys/build.rs")
        .raw_line(format!("// libclang: {clang}"))
        .clang_args(args)
        .generate()
        .expect("bindgen over the FreeBSD headers failed");
    bindings
        .write_to_file(out.join("x86_64_freebsd.rs"))
        .expect("write x86_64_freebsd.rs");
}

#[cfg(not(feature = "regenerate"))]
fn regenerate(_: &std::ffi::OsStr) {
    panic!("ZELLE_SYS_BINDGEN_INCLUDE is set but the `regenerate` feature is off: use sys/regenerate.sh");
}

#[cfg(target_os = "freebsd")]
fn native_bindings() {
    let out = std::path::PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let bindings = abi::builder()
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .generate()
        .expect(
            "bindgen over /usr/include failed (needs libclang: pkg install llvm; \
             or set ZELLE_SYS_BINDINGS=checked-in to use the checked-in amd64 binding)",
        );
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("write bindings.rs");
    println!("cargo::rustc-cfg=zelle_sys_native");
}

#[cfg(not(target_os = "freebsd"))]
fn native_bindings() {
    unreachable!("a native FreeBSD build runs on a FreeBSD host");
}

/// The one bindgen configuration: input header, allowlist and output style.
#[cfg(any(feature = "regenerate", target_os = "freebsd"))]
mod abi {
    /// Structs the backends and the simulator exchange with the kernel (and what they contain,
    /// which bindgen pulls in by itself).
    const TYPES: &[&str] = &[
        // interfaces
        "ifreq",
        "ifaliasreq",
        "ifdrv",
        "in_aliasreq",
        "in6_aliasreq",
        "in6_addrlifetime",
        "in6_ifreq",
        // if_bridge
        "ifbreq",
        "ifbifconf",
        // routing socket
        "rt_msghdr",
        "rt_metrics",
        // addresses
        "sockaddr",
        "sockaddr_in",
        "sockaddr_in6",
        "sockaddr_dl",
        // pf ioctls
        "pfioc_rule",
        "pfioc_trans",
        "pfioc_trans_e",
        "pfioc_pooladdr",
        "pfioc_ruleset",
        "pf_rule",
        "pf_addr",
        "pf_addr_wrap",
        "pf_rule_addr",
        "pf_pool",
        "pf_pooladdr",
        // jail_set(2), nmount(2)
        "iovec",
        // procctl(2): P_PID, ...
        "idtype_t",
        // sysctl kern.proc (sys/user.h)
        "kinfo_proc",
        // pty window size (sys/ttycom.h)
        "winsize",
        // devfs rule ioctls (fs/devfs/devfs.h)
        "devfs_rule",
        "devfs_rid",
        "devfs_rnum",
        "devfs_rsnum",
    ];

    /// Constants (object-like macros and enum values).
    const VARS: &[&str] = &[
        "JAIL_.*",
        "MNT_.*",
        // openat(2) and friends: O_RESOLVE_BENEATH, AT_RESOLVE_BENEATH, file types
        "O_.*",
        "AT_.*",
        "S_IF.*",
        "IFF_.*",
        "RTM_.*",
        "RTA_.*",
        "RTF_.*",
        "RTV_.*",
        "RTAX_.*",
        "PF_.*",
        "AF_.*",
        "PROC_REAP_.*",
        "PROC_TRACE_CTL.*",
        "PROC_NO_NEW_PRIVS_.*",
        // sysctl kern.proc: the MIB and the record size (sys/sysctl.h, sys/user.h)
        "CTL_KERN",
        "KERN_PROC",
        "KERN_PROC_PROC",
        "KINFO_PROC_SIZE",
        // p_stat / ki_stat (sys/proc.h)
        "SIDL",
        "SRUN",
        "SSLEEP",
        "SSTOP",
        "SZOMB",
        "SWAIT",
        "SLOCK",
        "IN6_IFF_.*",
        "ND6_INFINITE_LIFETIME",
        "BRDG.*",
        "IFBIF_.*",
        "IFNAMSIZ",
        "IF_NAMESIZE",
        "MAXHOSTNAMELEN",
        "MAXPATHLEN",
        "PATH_MAX",
        "E[A-Z0-9]+",
        "SIG[A-Z0-9]+",
        "IOC_.*",
        "IOCPARM_.*",
        "ZELLE_IOCTL_.*",
        // fs/devfs/devfs.h
        "DEVFS_MAGIC",
        "DEVFS_MAXPTRNLEN",
        "DRC_.*",
        "DRA_.*",
        "DRB_.*",
    ];

    /// Kernel structs that `kinfo_proc` only points at (ki_paddr, ki_fd, ...): opaque blobs, so
    /// that bindgen does not pull in the kernel's whole process and VM structs behind them.
    const OPAQUE: &[&str] = &[
        "pargs", "proc", "proc_", "user", "vnode", "filedesc", "vmspace", "pcb", "thread",
        "pwddesc",
    ];

    /// Matched by the patterns above but not wanted (ETHER* and EOF look like errno names).
    const NOT_VARS: &[&str] = &["ETHER.*", "EOF"];

    pub fn builder() -> bindgen::Builder {
        let mut b = bindgen::Builder::default()
            .header("wrapper.h")
            .rust_target(bindgen::RustTarget::stable(85, 0).expect("rust 1.85"))
            .rust_edition(bindgen::RustEdition::Edition2021)
            .formatter(bindgen::Formatter::Prettyplease)
            .ctypes_prefix("::core::ffi")
            .use_core()
            // Every byte of every struct is a field: as_bytes() never reads padding.
            .explicit_padding(true)
            // No constructors besides zelle_sys::zeroed(); layout tests live in tests/layout.rs
            // so the checked-in binding compiles on every host.
            .derive_default(false)
            .layout_tests(false)
            .generate_comments(false)
            .sort_semantically(true)
            // Enum constants keep their C names (P_PID, PF_PASS, ...).
            .prepend_enum_name(false)
            .parse_callbacks(Box::new(Names))
            .allowlist_recursively(true);
        for t in TYPES {
            b = b.allowlist_type(format!("^{t}$"));
        }
        for v in VARS {
            b = b.allowlist_var(format!("^{v}$"));
        }
        for t in OPAQUE {
            b = b.opaque_type(format!("^{t}$"));
        }
        for v in NOT_VARS {
            b = b.blocklist_item(format!("^{v}$"));
        }
        b
    }

    /// C names for nested struct declarations (C puts them in file scope; bindgen prefixes them
    /// with the outer struct's name).
    #[derive(Debug)]
    struct Names;

    impl bindgen::callbacks::ParseCallbacks for Names {
        fn item_name(&self, item: bindgen::callbacks::ItemInfo) -> Option<String> {
            match item.name {
                "pfioc_trans_pfioc_trans_e" => Some("pfioc_trans_e".to_owned()),
                _ => None,
            }
        }
    }
}
