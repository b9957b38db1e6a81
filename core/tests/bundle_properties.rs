//! Property tests of the bundle reader: environment values keep every `=`, any valid
//! generated spec becomes a plan that says what the spec said, and no input (valid or not)
//! makes the reader panic. `PROPTEST_CASES` sets the number of cases (256 by default).

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use zelle_core::runtime::BundleSpec;

const BUNDLE: &str = "/var/run/containerd/bundle";

fn spec_with(process: Value) -> Value {
    json!({"ociVersion": "1.0.2", "root": {"path": "rootfs"}, "process": process})
}

fn env_entry() -> impl Strategy<Value = String> {
    ("[A-Z_][A-Z0-9_]{0,10}", "[a-z0-9=&:/ ]{0,24}|\\PC{0,8}")
        .prop_map(|(name, value)| format!("{name}={value}"))
}

/// A mount zelle takes as it is: (type, destination, options).
fn mount() -> impl Strategy<Value = (String, String, Vec<String>)> {
    let fstype = prop::sample::select(vec![
        "tmpfs", "nullfs", "devfs", "fdescfs", "bind", "procfs",
    ]);
    let dest =
        prop::collection::vec("[a-z]{1,8}", 1..4).prop_map(|parts| format!("/{}", parts.join("/")));
    let options = prop::sample::subsequence(
        vec![
            "ro", "rw", "nosuid", "noexec", "nodev", "size=1m", "noatime",
        ],
        0..4,
    );
    (fstype, dest, options).prop_map(|(t, d, o)| {
        (
            t.to_string(),
            d,
            o.into_iter().map(str::to_string).collect(),
        )
    })
}

fn rlimits() -> impl Strategy<Value = Vec<(String, u64, u64)>> {
    let names = vec![
        "RLIMIT_NOFILE",
        "RLIMIT_CORE",
        "RLIMIT_AS",
        "RLIMIT_NPROC",
        "RLIMIT_STACK",
        "RLIMIT_NPTS",
    ];
    prop::sample::subsequence(names, 0..4)
        .prop_flat_map(|names| {
            let n = names.len();
            (
                Just(names),
                prop::collection::vec((0u64..1 << 40, 0u64..1 << 20), n),
            )
        })
        .prop_map(|(names, limits)| {
            names
                .into_iter()
                .zip(limits)
                .map(|(name, (soft, extra))| (name.to_string(), soft, soft + extra))
                .collect()
        })
}

fn sharing() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["disable", "new", "inherit"])
}

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "/",
            "rootfs",
            "bind",
            "tmpfs",
            "new",
            "RLIMIT_NOFILE",
            "a=b"
        ])
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "type",
                    "path",
                    "destination",
                    "source",
                    "options",
                    "args",
                    "cwd",
                    "jail",
                    "vnet",
                    "limit",
                    "x"
                ]),
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(
                m.into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect::<Map<_, _>>()
            )),
        ]
    })
}

proptest! {
    #[test]
    fn env_values_with_equals_signs_survive(env in prop::collection::vec(env_entry(), 0..8)) {
        let spec = spec_with(json!({"args": ["/bin/sh"], "cwd": "/", "env": env}));
        let plan = BundleSpec::from_value(&spec, BUNDLE).unwrap();
        prop_assert_eq!(&plan.process.env, &env);
        for (entry, kept) in env.iter().zip(&plan.process.env) {
            prop_assert_eq!(entry.matches('=').count(), kept.matches('=').count());
        }
    }

    #[test]
    fn any_valid_spec_becomes_a_plan_saying_the_same(
        args in prop::collection::vec("[ -~]{1,12}", 1..5),
        env in prop::collection::vec(env_entry(), 0..4),
        cwd in prop::collection::vec("[a-z]{1,6}", 0..3).prop_map(|p| format!("/{}", p.join("/"))),
        uid in any::<u32>(),
        gid in any::<u32>(),
        terminal in any::<bool>(),
        mounts in prop::collection::vec(mount(), 0..6),
        rlimits in rlimits(),
        hostname in prop::option::of("[a-z][a-z0-9-]{0,30}"),
        jail in prop::option::of((prop::sample::select(vec!["new", "inherit"]), sharing(), sharing(), 0u8..=2)),
        memory in prop::option::of(1u64..4096),
    ) {
        let mut spec = spec_with(json!({
            "args": args, "cwd": cwd, "env": env, "terminal": terminal,
            "user": {"uid": uid, "gid": gid},
            "rlimits": rlimits.iter().map(|(t, soft, hard)| json!({"type": t, "soft": soft, "hard": hard})).collect::<Vec<_>>(),
        }));
        spec["mounts"] = mounts.iter().map(|(t, d, o)| json!({"destination": d, "type": t, "source": "/host/dir", "options": o})).collect();
        if let Some(h) = &hostname {
            spec["hostname"] = json!(h);
        }
        if let Some((vnet, sysvmsg, ip4, level)) = jail {
            spec["freebsd"] = json!({"jail": {"vnet": vnet, "sysvmsg": sysvmsg, "ip4": ip4, "enforceStatfs": level}});
        }
        if let Some(mib) = memory {
            spec["annotations"] = json!({"org.zelle.rctl": format!("memoryuse={mib}m")});
        }

        let plan = BundleSpec::from_value(&spec, BUNDLE).unwrap_or_else(|e| panic!("{e}\n{spec:#}"));
        prop_assert_eq!(&plan.warnings, &vec![]);
        prop_assert_eq!(&plan.process.args, &args);
        prop_assert_eq!(&plan.process.env, &env);
        prop_assert_eq!(&plan.process.cwd, &cwd);
        prop_assert_eq!((plan.process.uid, plan.process.gid, plan.process.terminal), (uid, gid, terminal));
        prop_assert_eq!(plan.hostname.map(|h| h.value), hostname);
        let dests: Vec<&str> = plan.mounts.iter().map(|m| m.destination.as_str()).collect();
        let asked: Vec<&str> = mounts.iter().map(|(_, d, _)| d.as_str()).collect();
        prop_assert_eq!(dests, asked);
        for (plan, (t, _, options)) in plan.mounts.iter().zip(&mounts) {
            let want = if t == "bind" { "nullfs" } else { t.as_str() };
            prop_assert_eq!(plan.fstype.as_str(), want);
            let ro = options.iter().rev().find(|o| *o == "ro" || *o == "rw").is_some_and(|o| o == "ro");
            prop_assert_eq!(plan.flags.readonly, ro);
            prop_assert_eq!(plan.flags.nosuid, options.iter().any(|o| o == "nosuid"));
        }
        let limits: Vec<(u64, u64)> = plan.process.rlimits.iter().map(|r| (r.soft, r.hard)).collect();
        let asked: Vec<(u64, u64)> = rlimits.iter().map(|(_, s, h)| (*s, *h)).collect();
        prop_assert_eq!(limits, asked);
        prop_assert_eq!(plan.limits.first().map(|l| l.amount), memory.map(|m| m << 20));
        prop_assert_eq!(plan.freebsd.jail.and_then(|j| j.enforce_statfs), jail.map(|j| j.3));
    }

    #[test]
    fn no_input_makes_the_reader_panic(
        key in prop::sample::select(vec!["process", "root", "mounts", "hooks", "linux", "freebsd", "annotations", "hostname", "ociVersion", "extra"]),
        value in any_json(),
        bytes in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut spec = spec_with(json!({"args": ["/bin/sh"], "cwd": "/"}));
        spec[key] = value;
        for result in [BundleSpec::from_value(&spec, BUNDLE), BundleSpec::from_slice(&bytes, BUNDLE)] {
            if let Err(e) = result {
                prop_assert!(!e.field().is_empty());
                prop_assert!(e.to_string().starts_with(e.field()), "{}", e);
            }
        }
    }
}
