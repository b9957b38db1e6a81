//! The bundle reader on config.json files as containerd 1.6, ctr and nerdctl write them
//! (tests/fixtures/bundle/README.md says how each was reconstructed), every field of the
//! plan asserted; then one test per bad input, each error naming its field.

use zelle_core::kernel::process::{Rlimit, RlimitResource};
use zelle_core::kernel::{MountFlags, Stdio};
use zelle_core::network::{PortProtocol, PublishedPort};
use zelle_core::runtime::*;

const BUNDLE: &str = "/run/containerd/io.containerd.runtime.v2.task/default/web1";
const PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/bundle/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn read(name: &str) -> BundleSpec {
    BundleSpec::parse(&fixture(name), BUNDLE).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn s(v: &str) -> String {
    v.to_string()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn flags(readonly: bool, nosuid: bool, noexec: bool, nodev: bool) -> AccessFlags {
    AccessFlags {
        readonly,
        nosuid,
        noexec,
        nodev,
    }
}

fn mount(
    fstype: &str,
    destination: &str,
    source: &str,
    flags: AccessFlags,
    options: &[(&str, &str)],
    from: &str,
) -> MountPlan {
    MountPlan {
        fstype: s(fstype),
        destination: s(destination),
        source: Some(s(source)),
        flags,
        fs_options: options.iter().map(|(k, v)| (s(k), s(v))).collect(),
        from: s(from),
        given_type: None,
    }
}

fn renamed(mut plan: MountPlan, given: &str) -> MountPlan {
    plan.given_type = Some(s(given));
    plan
}

fn nofile() -> Rlimit {
    Rlimit {
        resource: RlimitResource::Nofile,
        soft: 1024,
        hard: 1024,
    }
}

fn sourced<T>(value: T, from: &str) -> Sourced<T> {
    Sourced {
        value,
        from: s(from),
    }
}

fn warning_fields(plan: &BundleSpec) -> Vec<&str> {
    plan.warnings.iter().map(|w| w.field.as_str()).collect()
}

/// The warnings every containerd 1.6 spec brings: its `linux` section and capabilities.
const CONTAINERD_LINUX_WARNINGS: [&str; 5] = [
    "linux.cgroupsPath",
    "linux.maskedPaths",
    "linux.readonlyPaths",
    "linux.resources.devices",
    "process.capabilities",
];

/// The process containerd's default spec gives (oci/spec.go populateDefaultUnixSpec): root,
/// from /, RLIMIT_NOFILE 1024, no new privileges.
fn containerd_process(args: &[&str], env: &[&str], gids: &[u32], terminal: bool) -> ProcessPlan {
    ProcessPlan {
        args: strings(args),
        env: strings(env),
        cwd: s("/"),
        uid: 0,
        gid: 0,
        additional_gids: gids.to_vec(),
        umask: None,
        terminal,
        console_size: None,
        rlimits: vec![nofile()],
        no_new_privileges: true,
    }
}

/// containerd's `root.path` "rootfs", inside the bundle.
fn bundle_rootfs() -> RootPlan {
    RootPlan {
        path: format!("{BUNDLE}/rootfs"),
        readonly: false,
    }
}

fn freebsd_dev_mounts() -> Vec<MountPlan> {
    vec![
        mount(
            "devfs",
            "/dev",
            "devfs",
            AccessFlags::default(),
            &[("ruleset", "77")],
            "mounts[0]",
        ),
        mount(
            "fdescfs",
            "/dev/fd",
            "fdescfs",
            AccessFlags::default(),
            &[],
            "mounts[1]",
        ),
    ]
}

#[test]
fn ctr_on_containerd_1_6_with_a_freebsd_image() {
    let plan = read("ctr-1.6-freebsd-image.json");
    let expected = BundleSpec {
        oci_version: s("1.0.2-dev"),
        root: bundle_rootfs(),
        hostname: None,
        domainname: None,
        process: containerd_process(&["/bin/sh"], &[PATH, "TERM=xterm"], &[0, 5], true),
        mounts: freebsd_dev_mounts(),
        devfs_ruleset: 77,
        hooks: HooksPlan::default(),
        limits: vec![],
        freebsd: FreeBsd::default(),
        image: sourced(ImageKind::FreeBsd, "default"),
        network: NetworkPlan {
            mode: sourced(NetworkMode::Bridge(s("zelle")), "default"),
            published_ports: vec![],
            published_ports_from: None,
            extra_hosts: vec![],
        },
        annotations: [(s("com.example.team"), s("web"))].into(),
        nerdctl_state_dir: None,
        warnings: plan.warnings.clone(),
    };
    assert_eq!(plan, expected);
    let mut fields = CONTAINERD_LINUX_WARNINGS.to_vec();
    // containerd's ruleset=4 gives way to zelle's ruleset, said so.
    fields.push("mounts[0].options");
    assert_eq!(warning_fields(&plan), fields);
    assert!(
        plan.warnings[0].message.contains("no cgroups"),
        "{}",
        plan.warnings[0]
    );
    assert!(
        plan.warnings[3].message.contains("devfs ruleset"),
        "{}",
        plan.warnings[3]
    );
}

#[test]
fn nerdctl_with_a_linux_image_and_no_network() {
    let plan = read("nerdctl-1.6-linux-image.json");
    let state_dir = "/var/lib/nerdctl/1935db59/containers/default/4c7a1f0e2b9d";
    let expected = BundleSpec {
        oci_version: s("1.0.2-dev"),
        root: bundle_rootfs(),
        hostname: Some(sourced(s("alp"), "annotations[\"nerdctl/hostname\"]")),
        domainname: None,
        process: containerd_process(
            &["sh"],
            &[PATH, "TERM=xterm"],
            &[0, 1, 2, 3, 4, 6, 10, 11, 20, 26, 27],
            true,
        ),
        mounts: freebsd_dev_mounts(),
        devfs_ruleset: 77,
        hooks: HooksPlan::default(),
        limits: vec![],
        freebsd: FreeBsd::default(),
        image: sourced(ImageKind::Linux, "annotations[\"nerdctl/platform\"]"),
        network: NetworkPlan {
            mode: sourced(NetworkMode::None, "annotations[\"nerdctl/networks\"]"),
            published_ports: vec![PublishedPort {
                proto: PortProtocol::Tcp,
                host_port: 8080,
                container_port: 80,
            }],
            published_ports_from: Some(s("annotations[\"nerdctl/ports\"]")),
            extra_hosts: vec![
                ExtraHost {
                    name: s("db"),
                    address: "10.0.0.5".parse().unwrap(),
                },
                ExtraHost {
                    name: s("v6host"),
                    address: "fd00::5".parse().unwrap(),
                },
            ],
        },
        annotations: plan.annotations.clone(),
        nerdctl_state_dir: Some(s(state_dir)),
        warnings: plan.warnings.clone(),
    };
    assert_eq!(plan, expected);
    assert_eq!(plan.annotations.len(), 8);
    assert_eq!(plan.annotations["nerdctl/name"], "alp");
    let mut fields = CONTAINERD_LINUX_WARNINGS.to_vec();
    fields.extend(["mounts[0].options", "annotations[\"nerdctl/ports\"]"]);
    assert_eq!(warning_fields(&plan), fields);
    assert!(
        plan.warnings[6].message.contains("need a bridged network"),
        "{}",
        plan.warnings[6]
    );
}

#[test]
fn containerd_linux_default_mounts_are_mapped_or_dropped() {
    let plan = read("ctr-1.6-linux-defaults.json");
    let tmpfs_opts = [("mode", "755"), ("size", "65536k")];
    let expected_mounts = vec![
        renamed(
            mount(
                "linprocfs",
                "/proc",
                "proc",
                flags(false, true, true, true),
                &[],
                "mounts[0]",
            ),
            "proc",
        ),
        renamed(
            mount(
                "devfs",
                "/dev",
                "tmpfs",
                flags(false, true, false, false),
                &[("ruleset", "77")],
                "mounts[1]",
            ),
            "tmpfs",
        ),
        mount(
            "tmpfs",
            "/dev/shm",
            "shm",
            flags(false, true, true, true),
            &[("mode", "1777"), ("size", "65536k")],
            "mounts[3]",
        ),
        renamed(
            mount(
                "linsysfs",
                "/sys",
                "sysfs",
                flags(true, true, true, true),
                &[],
                "mounts[5]",
            ),
            "sysfs",
        ),
        mount(
            "tmpfs",
            "/run",
            "tmpfs",
            flags(false, true, false, false),
            &tmpfs_opts,
            "mounts[6]",
        ),
        renamed(
            mount(
                "nullfs",
                "/etc/hosts",
                "/etc/hosts",
                flags(true, false, false, false),
                &[],
                "mounts[8]",
            ),
            "bind",
        ),
        renamed(
            mount(
                "nullfs",
                "/etc/resolv.conf",
                "/etc/resolv.conf",
                flags(true, false, false, false),
                &[],
                "mounts[9]",
            ),
            "bind",
        ),
    ];
    let expected = BundleSpec {
        oci_version: s("1.0.2-dev"),
        root: bundle_rootfs(),
        hostname: None,
        domainname: None,
        process: containerd_process(
            &["/bin/sh", "-c", "sleep 1000"],
            &[PATH, "HOSTNAME=buildhost"],
            &[0, 1, 2, 3, 4, 6, 10, 11, 20, 26, 27],
            false,
        ),
        mounts: expected_mounts,
        devfs_ruleset: 77,
        hooks: HooksPlan::default(),
        limits: vec![
            RctlLimit {
                resource: RctlResource::MemoryUse,
                amount: 536_870_912,
                action: RctlAction::Deny,
                from: s("linux.resources.memory.limit"),
            },
            RctlLimit {
                resource: RctlResource::Pcpu,
                amount: 150,
                action: RctlAction::Deny,
                from: s("linux.resources.cpu.quota"),
            },
        ],
        freebsd: FreeBsd::default(),
        image: sourced(ImageKind::Linux, "annotations[\"org.zelle.linux\"]"),
        network: NetworkPlan {
            mode: sourced(NetworkMode::Host, "linux.namespaces"),
            published_ports: vec![],
            published_ports_from: None,
            extra_hosts: vec![],
        },
        annotations: [(s("org.zelle.linux"), s("true"))].into(),
        nerdctl_state_dir: None,
        warnings: plan.warnings.clone(),
    };
    assert_eq!(plan, expected);
    let mut fields = CONTAINERD_LINUX_WARNINGS.to_vec();
    fields.extend([
        "mounts[2]",
        "mounts[4]",
        "mounts[7]",
        "mounts[8].options[0]",
        "mounts[9].options[0]",
    ]);
    assert_eq!(warning_fields(&plan), fields);
    for (i, word) in [(5, "devpts"), (6, "mqueue"), (7, "cgroup")] {
        assert!(
            plan.warnings[i].message.contains(word)
                && plan.warnings[i].message.contains("not mounted"),
            "{}",
            plan.warnings[i]
        );
    }
    assert_eq!(
        plan.mounts[0].flags.kernel_flags(),
        MountFlags(MountFlags::NOSUID.0 | MountFlags::NOEXEC.0)
    );
    assert_eq!(
        plan.mounts[3].flags.kernel_flags(),
        MountFlags(MountFlags::RDONLY.0 | MountFlags::NOSUID.0 | MountFlags::NOEXEC.0)
    );
}

#[test]
fn a_spec_with_a_freebsd_section() {
    let plan = read("runtime-spec-1.3-freebsd.json");
    let rctl = "annotations[\"org.zelle.rctl\"]";
    let limit = |resource, amount| RctlLimit {
        resource,
        amount,
        action: RctlAction::Deny,
        from: s(rctl),
    };
    let hook_path = "/usr/local/libexec/zelle-net";
    let expected = BundleSpec {
        oci_version: s("1.3.0"),
        root: RootPlan {
            path: s("/var/db/zelle/web3/rootfs"),
            readonly: true,
        },
        hostname: Some(sourced(s("slartibartfast"), "hostname")),
        domainname: Some(s("example.org")),
        process: ProcessPlan {
            args: strings(&["/usr/local/bin/httpd", "-D", "FOREGROUND"]),
            env: strings(&[PATH, "QUERY=a=1&b=2", "EMPTY="]),
            cwd: s("/var/www"),
            uid: 1001,
            gid: 1001,
            additional_gids: vec![0, 5],
            umask: Some(0o022),
            terminal: true,
            console_size: Some(ConsoleSize {
                height: 40,
                width: 120,
            }),
            rlimits: vec![
                Rlimit {
                    resource: RlimitResource::Nofile,
                    soft: 1024,
                    hard: 4096,
                },
                Rlimit {
                    resource: RlimitResource::Npts,
                    soft: 16,
                    hard: 16,
                },
                Rlimit {
                    resource: RlimitResource::Vmem,
                    soft: 1 << 30,
                    hard: 1 << 30,
                },
            ],
            no_new_privileges: true,
        },
        mounts: vec![
            mount(
                "devfs",
                "/dev",
                "devfs",
                AccessFlags::default(),
                &[("ruleset", "5")],
                "mounts[0]",
            ),
            mount(
                "fdescfs",
                "/dev/fd",
                "fdescfs",
                AccessFlags::default(),
                &[],
                "mounts[1]",
            ),
            mount(
                "tmpfs",
                "/tmp",
                "tmpfs",
                flags(false, true, false, false),
                &[("size", "64m"), ("mode", "1777")],
                "mounts[2]",
            ),
            mount(
                "nullfs",
                "/var/www/data",
                &format!("{BUNDLE}/data"),
                flags(true, false, true, false),
                &[("noatime", "")],
                "mounts[3]",
            ),
        ],
        devfs_ruleset: 5,
        hooks: HooksPlan {
            create_runtime: vec![HookPlan {
                path: s(hook_path),
                args: strings(&["zelle-net", "up"]),
                env: strings(&["LOG=debug"]),
                timeout: Some(10),
                from: s("hooks.createRuntime[0]"),
            }],
            poststop: vec![HookPlan {
                path: s(hook_path),
                args: strings(&["zelle-net", "down"]),
                env: vec![],
                timeout: None,
                from: s("hooks.poststop[0]"),
            }],
            ..HooksPlan::default()
        },
        limits: vec![
            limit(RctlResource::MemoryUse, 512 << 20),
            limit(RctlResource::MaxProc, 100),
            limit(RctlResource::Pcpu, 50),
            limit(RctlResource::OpenFiles, 1024),
            limit(RctlResource::VMemoryUse, 2 << 30),
        ],
        freebsd: FreeBsd {
            devices: Some(vec![FreeBsdDevice {
                path: s("pf"),
                mode: Some(0o700),
            }]),
            jail: Some(FreeBsdJail {
                host: Some(Sharing::New),
                vnet: Some(Sharing::New),
                sysvmsg: Some(Sharing::New),
                sysvsem: Some(Sharing::Inherit),
                sysvshm: Some(Sharing::Disable),
                enforce_statfs: Some(1),
                vnet_interfaces: Some(strings(&["em1"])),
                allow: Some(FreeBsdJailAllow {
                    set_hostname: Some(false),
                    raw_sockets: Some(true),
                    chflags: Some(true),
                    mount: Some(strings(&["tmpfs", "nullfs"])),
                    quotas: Some(false),
                    socket_af: Some(true),
                    mlock: Some(true),
                    reserved_ports: Some(true),
                    suser: Some(false),
                }),
                ..FreeBsdJail::default()
            }),
        },
        image: sourced(ImageKind::FreeBsd, "default"),
        network: NetworkPlan {
            mode: sourced(
                NetworkMode::Bridge(s("web")),
                "annotations[\"org.zelle.network\"]",
            ),
            published_ports: vec![
                PublishedPort {
                    proto: PortProtocol::Tcp,
                    host_port: 8080,
                    container_port: 80,
                },
                PublishedPort {
                    proto: PortProtocol::Udp,
                    host_port: 5353,
                    container_port: 53,
                },
            ],
            published_ports_from: Some(s("annotations[\"org.zelle.ports\"]")),
            extra_hosts: vec![],
        },
        annotations: plan.annotations.clone(),
        nerdctl_state_dir: None,
        // The config's ruleset=4 gives way to the annotation's 5, said so.
        warnings: vec![Warning {
            field: s("mounts[0].options"),
            message: s("ruleset=4 not used: /dev gets ruleset 5 (zelle's own unless annotations[\"org.zelle.devfs-ruleset\"] names another)"),
        }],
    };
    assert_eq!(plan, expected);
    assert_eq!(plan.annotations.len(), 4);
    let allow = plan
        .freebsd
        .jail
        .as_ref()
        .unwrap()
        .allow
        .as_ref()
        .unwrap()
        .params();
    let allow: Vec<(&str, bool)> = allow.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        allow,
        [
            ("set_hostname", false),
            ("raw_sockets", true),
            ("chflags", true),
            ("quotas", false),
            ("socket_af", true),
            ("mlock", true),
            ("reserved_ports", true),
            ("suser", false),
            ("mount", true),
            ("mount.tmpfs", true),
            ("mount.nullfs", true),
        ]
    );
    let spawn = plan.process.to_process_spec(None, Stdio::default());
    assert_eq!(
        (spawn.args, spawn.groups, spawn.umask, spawn.rlimits.len()),
        (plan.process.args.clone(), vec![0, 5], Some(0o022), 3)
    );
}

/// A valid minimal spec to break one field of at a time.
fn minimal() -> serde_json::Value {
    serde_json::json!({
        "ociVersion": "1.0.2",
        "root": {"path": "rootfs"},
        "process": {"args": ["/bin/sh"], "cwd": "/", "env": ["PATH=/bin"]},
    })
}

fn with(change: impl FnOnce(&mut serde_json::Value)) -> Result<BundleSpec, BundleError> {
    let mut spec = minimal();
    change(&mut spec);
    BundleSpec::from_value(&spec, BUNDLE)
}

#[track_caller]
fn refused(change: impl FnOnce(&mut serde_json::Value), field: &str, words: &str) {
    match with(change) {
        Ok(plan) => panic!("accepted; expected an error naming {field}: {plan:#?}"),
        Err(e) => {
            assert_eq!(e.field(), field, "{e}");
            assert!(e.to_string().starts_with(&format!("{field}: ")), "{e}");
            assert!(e.to_string().contains(words), "{e} (expected {words:?})");
        }
    }
}

#[track_caller]
fn warned(change: impl FnOnce(&mut serde_json::Value), field: &str, words: &str) -> BundleSpec {
    let plan = with(change).unwrap_or_else(|e| panic!("refused: {e}"));
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.field == field && w.message.contains(words)),
        "no warning on {field} saying {words:?}: {:#?}",
        plan.warnings
    );
    plan
}

#[test]
fn the_minimal_spec_is_accepted_without_warnings() {
    let plan = with(|_| {}).unwrap();
    assert_eq!(plan.warnings, vec![]);
    assert_eq!(plan.root.path, format!("{BUNDLE}/rootfs"));
}

#[test]
fn malformed_json_is_a_syntax_error() {
    let e = BundleSpec::parse("{\"ociVersion\": \"1.0.2\", ", BUNDLE).unwrap_err();
    assert!(matches!(e, BundleError::Syntax(_)), "{e}");
    assert_eq!(e.field(), "config.json");
    assert!(e.to_string().contains("line 1"), "{e}");
    let e = BundleSpec::parse("[1, 2]", BUNDLE).unwrap_err();
    assert!(e.to_string().contains("object"), "{e}");
    let e = BundleSpec::from_slice(b"\xff\xfe", BUNDLE).unwrap_err();
    assert!(matches!(e, BundleError::Syntax(_)), "{e}");
}

#[test]
fn empty_args_are_refused() {
    refused(
        |s| s["process"]["args"] = serde_json::json!([]),
        "process.args",
        "empty",
    );
    refused(
        |s| {
            s["process"]
                .as_object_mut()
                .unwrap()
                .remove("args")
                .map(drop)
                .unwrap()
        },
        "process.args",
        "empty",
    );
}

#[test]
fn unknown_mount_type_is_refused() {
    refused(
        |s| s["mounts"] = serde_json::json!([{"destination": "/a", "type": "tmpfs"}, {"destination": "/merged", "type": "overlay", "source": "overlay"}]),
        "mounts[1].type",
        "\"overlay\"",
    );
    refused(
        |s| s["mounts"] = serde_json::json!([{"destination": "/a", "source": "/x"}]),
        "mounts[0].type",
        "bind",
    );
}

#[test]
fn relative_mount_destination_is_refused() {
    refused(
        |s| s["mounts"] = serde_json::json!([{"destination": "/tmp", "type": "tmpfs"}, {"destination": "/run", "type": "tmpfs"}, {"destination": "../etc", "type": "nullfs", "source": "/etc"}]),
        "mounts[2].destination",
        "\"../etc\" is not absolute",
    );
    refused(
        |s| s["mounts"] = serde_json::json!([{"destination": "/./", "type": "tmpfs"}]),
        "mounts[0].destination",
        "root",
    );
    refused(
        |s| s["mounts"] = serde_json::json!([{"destination": "/a/../../etc", "type": "tmpfs"}]),
        "mounts[0].destination",
        "\"..\" component",
    );
}

#[test]
fn a_bind_mount_needs_a_source_and_tidies_its_paths() {
    refused(
        |s| {
            s["mounts"] =
                serde_json::json!([{"destination": "/data", "type": "none", "options": ["rbind"]}])
        },
        "mounts[0].source",
        "host path",
    );
    let plan = with(|s| s["mounts"] = serde_json::json!([{"destination": "/a/./b//c/", "type": "none", "source": "./vol/../data", "options": ["bind", "nosuid"]}])).unwrap();
    assert_eq!(plan.mounts[0].destination, "/a/b/c");
    assert_eq!(
        plan.mounts[0].source.as_deref(),
        Some(format!("{BUNDLE}/vol/../data").as_str())
    );
    assert_eq!(
        (
            plan.mounts[0].fstype.as_str(),
            plan.mounts[0].given_type.as_deref()
        ),
        ("nullfs", Some("none"))
    );
}

#[test]
fn idmapped_mounts_are_refused() {
    refused(
        |s| s["mounts"] = serde_json::json!([{"destination": "/d", "type": "nullfs", "source": "/d", "options": ["idmap"]}]),
        "mounts[0].options[0]",
        "ID-mapped",
    );
    refused(
        |s| s["mounts"] = serde_json::json!([{"destination": "/d", "type": "nullfs", "source": "/d", "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}]),
        "mounts[0].uidMappings",
        "ID-mapped",
    );
}

#[test]
fn bad_rlimits_are_refused() {
    let rl = |v: serde_json::Value| move |s: &mut serde_json::Value| s["process"]["rlimits"] = v;
    refused(
        rl(
            serde_json::json!([{"type": "RLIMIT_NOFILE", "hard": 10, "soft": 10}, {"type": "RLIMIT_BOGUS", "hard": 1, "soft": 1}]),
        ),
        "process.rlimits[1].type",
        "not an RLIMIT_",
    );
    refused(
        rl(serde_json::json!([{"type": "RLIMIT_RTPRIO", "hard": 1, "soft": 1}])),
        "process.rlimits[0].type",
        "Linux limit",
    );
    refused(
        rl(serde_json::json!([{"type": "RLIMIT_CORE", "hard": 1, "soft": 2}])),
        "process.rlimits[0].soft",
        "above the hard limit",
    );
    refused(
        rl(
            serde_json::json!([{"type": "RLIMIT_AS", "hard": 1, "soft": 1}, {"type": "RLIMIT_VMEM", "hard": 1, "soft": 1}]),
        ),
        "process.rlimits[1].type",
        "already set by process.rlimits[0]",
    );
    refused(
        rl(serde_json::json!([{"type": "RLIMIT_CORE", "hard": 1}])),
        "process.rlimits[0]",
        "soft",
    );
}

#[test]
fn bad_process_fields_are_refused() {
    refused(
        |s| s["process"]["cwd"] = "work".into(),
        "process.cwd",
        "not absolute",
    );
    refused(
        |s| {
            s["process"]
                .as_object_mut()
                .unwrap()
                .remove("cwd")
                .map(drop)
                .unwrap()
        },
        "process.cwd",
        "missing",
    );
    refused(
        |s| s["process"]["env"] = serde_json::json!(["PATH=/bin", "JUSTANAME"]),
        "process.env[1]",
        "NAME=value",
    );
    refused(
        |s| s["process"]["env"] = serde_json::json!(["=value"]),
        "process.env[0]",
        "NAME=value",
    );
    refused(
        |s| s["process"]["user"] = serde_json::json!({"uid": 0, "gid": 0, "umask": 4096}),
        "process.user.umask",
        "0777",
    );
    refused(
        |s| s["process"]["user"] = serde_json::json!({"uid": "root"}),
        "process.user.uid",
        "invalid type",
    );
    refused(
        |s| s["process"]["consoleSize"] = serde_json::json!({"height": 70000, "width": 80}),
        "process.consoleSize.height",
        "65535",
    );
    refused(
        |s| {
            s.as_object_mut()
                .unwrap()
                .remove("process")
                .map(drop)
                .unwrap()
        },
        "process",
        "missing",
    );
}

#[test]
fn bad_root_version_and_names_are_refused() {
    refused(
        |s| s["root"] = serde_json::json!({"path": ""}),
        "root.path",
        "empty",
    );
    refused(
        |s| s.as_object_mut().unwrap().remove("root").map(drop).unwrap(),
        "root",
        "REQUIRED",
    );
    refused(|s| s["ociVersion"] = "2.0.0".into(), "ociVersion", "1.x");
    refused(
        |s| s["hostname"] = "x".repeat(256).into(),
        "hostname",
        "at most 255 bytes",
    );
    refused(
        |s| s["vm"] = serde_json::json!({"hypervisor": {"path": "/bin/qemu"}}),
        "vm",
        "virtual machines",
    );
    let e = BundleSpec::from_value(&minimal(), "relative/bundle").unwrap_err();
    assert_eq!(e.field(), "bundle", "{e}");
}

#[test]
fn bad_hooks_are_refused() {
    refused(
        |s| {
            s["hooks"] =
                serde_json::json!({"poststop": [{"path": "/bin/true"}, {"path": "rel/hook"}]})
        },
        "hooks.poststop[1].path",
        "not absolute",
    );
    refused(
        |s| {
            s["hooks"] = serde_json::json!({"createRuntime": [{"path": "/bin/true", "timeout": 0}]})
        },
        "hooks.createRuntime[0].timeout",
        "more than zero",
    );
    refused(
        |s| {
            s["hooks"] =
                serde_json::json!({"startContainer": [{"path": "/bin/true", "env": ["X"]}]})
        },
        "hooks.startContainer[0].env[0]",
        "NAME=value",
    );
    let plan = with(|s| s["hooks"] = serde_json::json!({"prestart": [{"path": "/p"}], "createContainer": [{"path": "/c"}], "poststart": [{"path": "/s", "args": ["s", "-v"]}]})).unwrap();
    assert_eq!(plan.hooks.prestart[0].path, "/p");
    assert_eq!(
        plan.hooks.create_container[0].from,
        "hooks.createContainer[0]"
    );
    assert_eq!(plan.hooks.poststart[0].args, strings(&["s", "-v"]));
}

#[test]
fn bad_freebsd_sections_are_refused() {
    refused(
        |s| s["freebsd"] = serde_json::json!({"jail": {"vnet": "disable"}}),
        "freebsd.jail.vnet",
        "disable",
    );
    refused(
        |s| s["freebsd"] = serde_json::json!({"jail": {"host": "disable"}}),
        "freebsd.jail.host",
        "disable",
    );
    refused(
        |s| s["freebsd"] = serde_json::json!({"jail": {"enforceStatfs": 3}}),
        "freebsd.jail.enforceStatfs",
        "0, 1 or 2",
    );
    refused(
        |s| s["freebsd"] = serde_json::json!({"jail": {"ip4": "sometimes"}}),
        "freebsd.jail.ip4",
        "unknown variant",
    );
    refused(
        |s| s["freebsd"] = serde_json::json!({"jail": {"ip4Addr": ["10.0.0.300"]}}),
        "freebsd.jail.ip4Addr[0]",
        "invalid IP",
    );
    refused(
        |s| s["freebsd"] = serde_json::json!({"devices": [{"path": "/dev/pf"}]}),
        "freebsd.devices[0].path",
        "relative to /dev",
    );
    refused(
        |s| s["freebsd"] = serde_json::json!({"devices": [{"path": "pf", "mode": 4095}]}),
        "freebsd.devices[0].mode",
        "511",
    );
    refused(
        |s| s["freebsd"] = serde_json::json!({"jail": {"allow": {"mount": ["tmp fs"]}}}),
        "freebsd.jail.allow.mount",
        "file system type",
    );
}

#[test]
fn bad_annotations_are_refused() {
    let note = |k: &str, v: &str| {
        let (k, v) = (k.to_string(), v.to_string());
        move |s: &mut serde_json::Value| s["annotations"] = serde_json::json!({ k: v })
    };
    refused(
        note("org.zelle.ports", "8080"),
        "annotations[\"org.zelle.ports\"]",
        "host-port:container-port",
    );
    refused(
        note("org.zelle.ports", "0:80"),
        "annotations[\"org.zelle.ports\"]",
        "host port",
    );
    refused(
        note("org.zelle.ports", "80:80/sctp"),
        "annotations[\"org.zelle.ports\"]",
        "protocol",
    );
    refused(
        note("org.zelle.devfs-ruleset", "70000"),
        "annotations[\"org.zelle.devfs-ruleset\"]",
        "0–65535",
    );
    refused(
        note("org.zelle.rctl", "memoryuse=lots"),
        "annotations[\"org.zelle.rctl\"]",
        "not an amount",
    );
    refused(
        note("org.zelle.rctl", "brains=1"),
        "annotations[\"org.zelle.rctl\"]",
        "not an rctl resource",
    );
    refused(
        note("org.zelle.rctl", "wallclock=10"),
        "annotations[\"org.zelle.rctl\"]",
        "neither denied nor throttled",
    );
    refused(
        note("org.zelle.rctl", "maxproc=1,maxproc=2"),
        "annotations[\"org.zelle.rctl\"]",
        "twice",
    );
    refused(
        note("org.zelle.linux", "yes"),
        "annotations[\"org.zelle.linux\"]",
        "true or false",
    );
    refused(
        note("org.zelle.network", "container:web1"),
        "annotations[\"org.zelle.network\"]",
        "not supported",
    );
    refused(
        note("nerdctl/hostname", &"h".repeat(300)),
        "annotations[\"nerdctl/hostname\"]",
        "at most 255 bytes",
    );
    refused(
        note("nerdctl/networks", "[\"a\",\"b\"]"),
        "annotations[\"nerdctl/networks\"]",
        "exactly one",
    );
    refused(
        note("nerdctl/networks", "bridge"),
        "annotations[\"nerdctl/networks\"]",
        "JSON",
    );
    refused(
        note("nerdctl/extraHosts", "[\"db\"]"),
        "annotations[\"nerdctl/extraHosts\"]",
        "name:address",
    );
    refused(
        note(
            "nerdctl/ports",
            "[{\"HostPort\":80,\"ContainerPort\":80,\"HostIP\":\"127.0.0.1\"}]",
        ),
        "annotations[\"nerdctl/ports\"]",
        "HostIP",
    );
}

#[test]
fn the_network_follows_annotations_then_the_jail_section_then_namespaces() {
    let mode = |change: fn(&mut serde_json::Value)| {
        let plan = with(change).unwrap();
        (plan.network.mode.value, plan.network.mode.from)
    };
    assert_eq!(
        mode(|s| s["annotations"] = serde_json::json!({"nerdctl/networks": "[\"host\"]"})),
        (NetworkMode::Host, s("annotations[\"nerdctl/networks\"]"))
    );
    assert_eq!(
        mode(|s| s["annotations"] = serde_json::json!({"nerdctl/networks": "[\"bridge\"]"})),
        (
            NetworkMode::Bridge(s("zelle")),
            s("annotations[\"nerdctl/networks\"]")
        )
    );
    assert_eq!(
        mode(|s| s["annotations"] =
            serde_json::json!({"nerdctl/networks": "[\"none\"]", "org.zelle.network": "web"})),
        (
            NetworkMode::Bridge(s("web")),
            s("annotations[\"org.zelle.network\"]")
        )
    );
    assert_eq!(
        mode(|s| s["freebsd"] = serde_json::json!({"jail": {"ip4": "inherit"}})),
        (NetworkMode::Jail, s("freebsd.jail"))
    );
    assert_eq!(
        mode(|s| s["linux"] =
            serde_json::json!({"namespaces": [{"type": "pid"}, {"type": "network"}]}))
        .0,
        NetworkMode::Bridge(s("zelle"))
    );
    refused(
        |s| {
            s["annotations"] = serde_json::json!({"org.zelle.network": "host"});
            s["freebsd"] = serde_json::json!({"jail": {"vnet": "new"}});
        },
        "freebsd.jail.vnet",
        "conflicts with annotations[\"org.zelle.network\"]",
    );
    refused(
        |s| {
            s["annotations"] = serde_json::json!({"nerdctl/networks": "[\"none\"]"});
            s["freebsd"] = serde_json::json!({"jail": {"ip4": "inherit"}});
        },
        "freebsd.jail.ip4",
        "conflicts",
    );
}

#[test]
fn linux_settings_zelle_cannot_honour_are_warned_about() {
    warned(
        |s| s["linux"] = serde_json::json!({"seccomp": {"defaultAction": "SCMP_ACT_ERRNO"}}),
        "linux.seccomp",
        "seccomp",
    );
    warned(
        |s| s["linux"] = serde_json::json!({"sysctl": {"net.ipv4.ip_forward": "1"}}),
        "linux.sysctl",
        "not applied",
    );
    warned(
        |s| s["linux"] = serde_json::json!({"rootfsPropagation": "rshared"}),
        "linux.rootfsPropagation",
        "propagation",
    );
    warned(
        |s| s["linux"] = serde_json::json!({"namespaces": [{"type": "network"}]}),
        "linux.namespaces",
        "no pid namespace",
    );
    warned(
        |s| s["linux"] = serde_json::json!({"namespaces": [{"type": "cgroup"}]}),
        "linux.namespaces[0]",
        "cgroup",
    );
    warned(
        |s| s["linux"] = serde_json::json!({"someFutureThing": true}),
        "linux.someFutureThing",
        "not a field zelle knows",
    );
    warned(
        |s| {
            s["linux"] = serde_json::json!({"resources": {"memory": {"limit": 1024, "swap": 2048}}})
        },
        "linux.resources.memory.swap",
        "swap",
    );
    warned(
        |s| s["linux"] = serde_json::json!({"resources": {"cpu": {"shares": 1024}}}),
        "linux.resources.cpu.shares",
        "shares",
    );
    warned(
        |s| s["linux"] = serde_json::json!({"resources": {"blockIO": {"weight": 10}}}),
        "linux.resources.blockIO",
        "cgroup",
    );
    warned(
        |s| s["linux"] = serde_json::json!({"resources": {"memory": {"limit": 1, "bogus": 1}}}),
        "linux.resources.memory.bogus",
        "not a field",
    );
    warned(
        |s| s["process"]["apparmorProfile"] = "docker-default".into(),
        "process.apparmorProfile",
        "AppArmor",
    );
    warned(
        |s| s["process"]["selinuxLabel"] = "system_u:system_r:container_t".into(),
        "process.selinuxLabel",
        "SELinux",
    );
    warned(
        |s| s["process"]["oomScoreAdj"] = 100.into(),
        "process.oomScoreAdj",
        "OOM",
    );
    warned(
        |s| s["process"]["consoleSize"] = serde_json::json!({"height": 1, "width": 1}),
        "process.consoleSize",
        "terminal",
    );
    warned(
        |s| s["process"]["user"] = serde_json::json!({"uid": 0, "gid": 0, "shell": "/bin/sh"}),
        "process.user.shell",
        "not a field",
    );
    warned(
        |s| s["windows"] = serde_json::json!({"layerFolders": []}),
        "windows",
        "Windows",
    );
    warned(
        |s| s["futureTopLevel"] = serde_json::json!({"x": 1}),
        "futureTopLevel",
        "runtime-spec 1.3",
    );
    warned(
        |s| s["root"]["uuid"] = "x".into(),
        "root.uuid",
        "not a field",
    );
    warned(
        |s| s["mounts"] = serde_json::json!([{"destination": "/t", "type": "tmpfs", "options": ["relatime", "shared"]}]),
        "mounts[0].options[0]",
        "no FreeBSD counterpart",
    );
    warned(
        |s| s["mounts"] = serde_json::json!([{"destination": "/t", "type": "tmpfs", "options": ["relatime", "shared"]}]),
        "mounts[0].options[1]",
        "propagation",
    );
    warned(
        |s| s["freebsd"] = serde_json::json!({"jail": {"osrelease": "13.2"}}),
        "freebsd.jail.osrelease",
        "not a field",
    );
    warned(
        |s| s["annotations"] = serde_json::json!({"org.zelle.netwrok": "web"}),
        "annotations[\"org.zelle.netwrok\"]",
        "not an annotation",
    );
    warned(
        |s| {
            s["hostname"] = "web".into();
            s["freebsd"] = serde_json::json!({"jail": {"host": "inherit"}});
        },
        "hostname",
        "inherit",
    );
    // A FreeBSD image drops Linux's /dev/shm and sysfs; proc becomes procfs.
    let plan = warned(
        |s| s["mounts"] = serde_json::json!([{"destination": "/proc", "type": "proc"}, {"destination": "/dev/shm", "type": "tmpfs"}, {"destination": "/sys", "type": "sysfs"}]),
        "mounts[1]",
        "shm_open",
    );
    assert_eq!(plan.mounts.len(), 1);
    assert_eq!(
        (
            plan.mounts[0].fstype.as_str(),
            plan.mounts[0].given_type.as_deref()
        ),
        ("procfs", Some("proc"))
    );
    assert!(plan
        .warnings
        .iter()
        .any(|w| w.field == "mounts[2]" && w.message.contains("no sysfs")));
}

#[test]
fn user_namespaces_and_namespace_paths_are_refused() {
    refused(
        |s| s["linux"] = serde_json::json!({"namespaces": [{"type": "user"}]}),
        "linux.namespaces[0].type",
        "user namespaces",
    );
    refused(
        |s| s["linux"] = serde_json::json!({"uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]}),
        "linux.uidMappings",
        "user namespaces",
    );
    refused(
        |s| {
            s["linux"] =
                serde_json::json!({"namespaces": [{"type": "network", "path": "/proc/42/ns/net"}]})
        },
        "linux.namespaces[0].path",
        "cannot join",
    );
    refused(
        |s| s["linux"] = serde_json::json!({"resources": {"cpu": {"quota": 50000, "period": 0}}}),
        "linux.resources.cpu.period",
        "period",
    );
}

#[test]
fn rctl_annotation_overrides_linux_resources_and_says_so() {
    let plan = warned(
        |s| {
            s["linux"] = serde_json::json!({"resources": {"memory": {"limit": 1048576}, "pids": {"limit": 64}, "cpu": {"quota": 25000}}});
            s["annotations"] = serde_json::json!({"org.zelle.rctl": "memoryuse=2g, readbps=10M"});
        },
        "linux.resources.memory.limit",
        "replaced by 2147483648",
    );
    let limits: Vec<(RctlResource, u64, RctlAction, &str)> = plan
        .limits
        .iter()
        .map(|l| (l.resource, l.amount, l.action, l.from.as_str()))
        .collect();
    assert_eq!(
        limits,
        [
            (
                RctlResource::MemoryUse,
                2 << 30,
                RctlAction::Deny,
                "annotations[\"org.zelle.rctl\"]"
            ),
            (
                RctlResource::MaxProc,
                64,
                RctlAction::Deny,
                "linux.resources.pids.limit"
            ),
            (
                RctlResource::Pcpu,
                25,
                RctlAction::Deny,
                "linux.resources.cpu.quota"
            ),
            (
                RctlResource::ReadBps,
                10 << 20,
                RctlAction::Throttle,
                "annotations[\"org.zelle.rctl\"]"
            ),
        ]
    );
    let unlimited = with(|s| s["linux"] = serde_json::json!({"resources": {"memory": {"limit": -1}, "pids": {"limit": 0}, "cpu": {"quota": -1, "period": 100000}}})).unwrap();
    assert_eq!(unlimited.limits, vec![]);
}

#[test]
fn nerdctl_network_config_json_gives_port_mappings() {
    let ports = annotations::nerdctl_network_config_ports(r#"{"portMappings":[{"HostPort":8080,"ContainerPort":80,"Protocol":"tcp","HostIP":""},{"hostPort":53,"containerPort":53,"protocol":"udp"}]}"#).unwrap();
    assert_eq!(
        ports,
        [
            PublishedPort {
                proto: PortProtocol::Tcp,
                host_port: 8080,
                container_port: 80
            },
            PublishedPort {
                proto: PortProtocol::Udp,
                host_port: 53,
                container_port: 53
            },
        ]
    );
    assert_eq!(annotations::nerdctl_network_config_ports("{}").unwrap(), []);
    let e = annotations::nerdctl_network_config_ports(
        r#"{"portMappings":[{"HostPort":0,"ContainerPort":80}]}"#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("HostPort"), "{e}");
}
