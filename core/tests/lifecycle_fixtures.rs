//! Specs as containerd 1.6 and nerdctl write them (and one with a runtime-spec 1.3 `freebsd`
//! section) made into containers on the simulated machine: the jail parameters, mounts and
//! rctl rules they produce, read back from the machine's dump.

mod runtime_support;

use runtime_support::*;
use serde_json::{json, Value};
use zelle_core::network::{NetworkConfig, DEFAULT_SUBNET};
use zelle_core::runtime::CreateRequest;
use zelle_sim::process::{Program, Script};
use zelle_sim::SimConfig;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/bundle/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The lines of the dump's section `title` (`# jls …`, `# mount`, `# rctl -a`), with the
/// temporary directory written as `$T`.
fn section(host: &Host, title: &str) -> Vec<String> {
    let dump = host.dump();
    let tmp = path_text(host.path());
    dump.split("\n\n")
        .find(|s| s.starts_with(title))
        .unwrap_or_else(|| panic!("no {title} in\n{dump}"))
        .lines()
        .skip(1)
        .map(|line| line.replace(&tmp, "$T"))
        .collect()
}

fn host() -> Host {
    let host = Host::with_config(SimConfig {
        seed: 1,
        racct_enable: true,
        ..SimConfig::default()
    });
    for network in [
        NetworkConfig::new("zelle", DEFAULT_SUBNET),
        NetworkConfig::new("web", "10.88.0.0/16".parse().unwrap()),
    ] {
        host.runtime.networks().create(&network).unwrap();
    }
    host
}

/// `fixture` as `id`'s bundle, its root set to the test's.
fn request(host: &Host, id: &str, fixture: Value) -> CreateRequest {
    let request = host.bundle(id, fixture);
    std::fs::create_dir_all(format!("{}/data", request.bundle)).unwrap();
    request
}

#[test]
fn a_freebsd_image_as_ctr_1_6_writes_it() {
    let host = host();
    host.runtime
        .create(&request(
            &host,
            "ctr",
            fixture("ctr-1.6-freebsd-image.json"),
        ))
        .unwrap();
    let jails = section(&host, "# jls");
    assert_eq!(
        jails[1..],
        ["1 0 ctr ctr new true false $T/ctr/rootfs - 0 0 2 77 disable disable disable"]
    );
    assert_eq!(
        section(&host, "# mount"),
        [
            "$T/ctr-snapshot on $T/ctr/rootfs (nullfs, local)",
            "procfs on $T/ctr/rootfs/proc (procfs, local, noexec, nosuid)",
            "devfs on $T/ctr/rootfs/dev (devfs)",
            "fdescfs on $T/ctr/rootfs/dev/fd (fdescfs)",
        ]
    );
    // The default network: an epair end on its bridge.
    let ifconfig = host.dump();
    assert!(ifconfig.contains("groups: bridge"), "{ifconfig}");
    host.runtime.delete("ctr").unwrap();
    assert_eq!(host.problems(), Vec::<String>::new());
}

#[test]
fn a_linux_image_as_nerdctl_writes_it() {
    let host = host();
    let nerdctl = fixture("nerdctl-1.6-linux-image.json");
    let err = host
        .runtime
        .create(&request(&host, "alp", nerdctl.clone()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("kldload linux64"), "{err}");
    assert!(err.contains("annotations[\"nerdctl/platform\"]"), "{err}");

    host.sim()
        .with_machine(|m| m.load_module("linux64"))
        .unwrap();
    let created = host
        .runtime
        .create(&request(&host, "alp2", nerdctl))
        .unwrap();
    assert!(!created.warnings.is_empty());
    assert_eq!(
        section(&host, "# jls")[1..],
        ["1 0 alp2 alp new true false $T/alp2/rootfs - 0 0 2 77 disable disable disable new Linux 4.4.0"]
    );
    assert_eq!(
        section(&host, "# mount"),
        [
            "$T/alp2-snapshot on $T/alp2/rootfs (nullfs, local)",
            "linprocfs on $T/alp2/rootfs/proc (linprocfs, local, noexec, nosuid)",
            "linsysfs on $T/alp2/rootfs/sys (linsysfs, local, noexec, nosuid)",
            "devfs on $T/alp2/rootfs/dev (devfs)",
            "tmpfs on $T/alp2/rootfs/dev/shm (tmpfs, local, nosuid)",
            "fdescfs on $T/alp2/rootfs/dev/fd (fdescfs)",
        ]
    );
    host.runtime.delete("alp2").unwrap();
    assert_eq!(host.problems(), Vec::<String>::new());
}

#[test]
fn a_spec_with_a_freebsd_section() {
    let host = host();
    let mut spec = fixture("runtime-spec-1.3-freebsd.json");
    let first = request(&host, "web3", spec.clone());
    std::fs::write(
        format!("{}/usr/local/bin/httpd", first.rootfs[0].source),
        b"",
    )
    .unwrap();
    let err = host.runtime.create(&first).unwrap_err().to_string();
    assert!(err.contains("freebsd.jail.vnetInterfaces"), "{err}");
    spec["freebsd"]["jail"]
        .as_object_mut()
        .unwrap()
        .remove("vnetInterfaces");
    spec["freebsd"].as_object_mut().unwrap().remove("devices");
    spec["root"]["readonly"] = json!(true);
    // The spec's createRuntime and poststop hook.
    host.sim()
        .with_machine(|m| {
            m.procs.programs.insert(
                "/usr/local/libexec/zelle-net".into(),
                Program::Script(Script::exits(0)),
            )
        })
        .unwrap();
    let web3 = request(&host, "web3", spec);
    std::fs::write(
        format!("{}/usr/local/bin/httpd", web3.rootfs[0].source),
        b"",
    )
    .unwrap();
    host.runtime.create(&web3).unwrap();

    assert_eq!(
        section(&host, "# jls")[1..],
        ["1 0 web3 slartibartfast new true false $T/web3/rootfs - 0 0 1 5 new inherit disable"]
    );
    assert_eq!(
        section(&host, "# mount"),
        [
            "$T/web3-snapshot on $T/web3/rootfs (nullfs, local, read-only)",
            "procfs on $T/web3/rootfs/proc (procfs, local, noexec, nosuid)",
            "devfs on $T/web3/rootfs/dev (devfs)",
            "fdescfs on $T/web3/rootfs/dev/fd (fdescfs)",
            "tmpfs on $T/web3/rootfs/tmp (tmpfs, local, nosuid)",
            "$T/web3/data on $T/web3/rootfs/var/www/data (nullfs, local, noexec, read-only)",
        ]
    );
    let rctl = section(&host, "# rctl -a");
    for rule in [
        "jail:web3:memoryuse:deny=536870912",
        "jail:web3:maxproc:deny=100",
        "jail:web3:pcpu:deny=50",
        "jail:web3:openfiles:deny=1024",
        "jail:web3:vmemoryuse:deny=2147483648",
    ] {
        assert!(rctl.iter().any(|l| l == rule), "{rule} not in {rctl:?}");
    }
    let pf = section(&host, "# pfctl");
    assert!(
        pf.iter()
            .any(|l| l.contains("port = 8080") || l.contains("port 8080")),
        "{pf:?}"
    );
    host.runtime.delete("web3").unwrap();
    assert_eq!(host.problems(), Vec::<String>::new());
    assert!(section(&host, "# rctl -a").is_empty());
}
