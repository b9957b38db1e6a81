//! A container's jail as `zelle_core::runtime::jail` asks for it, created on the simulated
//! machine through its typed door and through the real backend over the ABI door.

use zelle_core::kernel::{JailFlags, JailKey, Jails};
use zelle_core::runtime::jail::{jail_name, jail_params, JailNetwork};
use zelle_freebsd::FreeBsd;
use zelle_sim::abi::SimSyscalls;
use zelle_sim::SimKernel;

#[test]
fn the_kernel_takes_zelles_jail_as_asked_on_both_arms() {
    let typed = SimKernel::seeded(1);
    let door = FreeBsd::new(SimSyscalls::new(SimKernel::seeded(1)));
    for kernel in [&typed as &dyn Jails, &door as &dyn Jails] {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_str().unwrap();
        let name = jail_name("web").unwrap();
        let params = jail_params(&name, root, "web", JailNetwork::Own, 4);
        let jid = kernel.jail_set(&params, JailFlags::CREATE).unwrap();
        let info = kernel
            .jail_get(&JailKey::Name(name.clone()), JailFlags::default())
            .unwrap();
        assert_eq!(info.jid, jid);
        assert_eq!(info.name, "web");
        assert_eq!(info.hostname, "web");
        assert!(info.persist && info.vnet);
        assert_eq!(info.enforce_statfs, 2);
        assert_eq!(info.children_max, 0);
        assert_eq!(info.devfs_ruleset, 4);
        assert!(!info
            .allow
            .iter()
            .any(|a| a == "raw_sockets" || a == "mount"));
        assert!(
            info.allow.iter().any(|a| a == "set_hostname"),
            "{:?}",
            info.allow
        );
        kernel.jail_remove(jid).unwrap();
    }
}
