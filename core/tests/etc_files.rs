//! A container's /etc/resolv.conf and /etc/hosts written beneath its root
//! (`zelle_core::runtime::etc_files`), through the typed door and over the ABI door.

use std::fs;
use std::os::unix::fs::symlink;
use zelle_core::kernel::{Errno, Files, Op};
use zelle_core::network::Attachment;
use zelle_core::runtime::etc_files::write_network_files;
use zelle_freebsd::FreeBsd;
use zelle_sim::abi::SimSyscalls;
use zelle_sim::SimKernel;

fn attachment() -> Attachment {
    Attachment {
        host_interface: "zeabc".into(),
        address: "10.77.0.2/16".parse().unwrap(),
        address6: None,
        gateway: "10.77.0.1".parse().unwrap(),
        gateway6: None,
        anchor: None,
        resolv_conf: "nameserver 192.0.2.53\n".into(),
        hosts: "127.0.0.1\tlocalhost\n10.77.0.2\tweb\n".into(),
    }
}

fn on_both(case: impl Fn(&dyn Files)) {
    let typed = SimKernel::seeded(1);
    let door = FreeBsd::new(SimSyscalls::new(SimKernel::seeded(1)));
    case(&typed);
    case(&door);
}

#[test]
fn links_at_the_names_are_replaced_not_followed() {
    on_both(|k| {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        fs::create_dir_all(root.join("etc")).unwrap();
        let outside = dir.path().join("host-resolv.conf");
        fs::write(&outside, "the host's own\n").unwrap();
        symlink(&outside, root.join("etc/resolv.conf")).unwrap();
        symlink("../../host-resolv.conf", root.join("etc/hosts")).unwrap();
        write_network_files(k, root.to_str().unwrap(), &attachment()).unwrap();
        let resolv = fs::read_to_string(root.join("etc/resolv.conf")).unwrap();
        assert_eq!(resolv, "nameserver 192.0.2.53\n");
        let hosts = fs::read_to_string(root.join("etc/hosts")).unwrap();
        assert!(hosts.contains("10.77.0.2\tweb"));
        assert_eq!(fs::read_to_string(&outside).unwrap(), "the host's own\n");
    });
}

#[test]
fn a_missing_etc_is_made_and_an_etc_leading_out_refused() {
    on_both(|k| {
        let dir = tempfile::tempdir().unwrap();
        let bare = dir.path().join("bare");
        fs::create_dir(&bare).unwrap();
        write_network_files(k, bare.to_str().unwrap(), &attachment()).unwrap();
        assert!(bare.join("etc/hosts").is_file());

        let host_etc = dir.path().join("host-etc");
        fs::create_dir(&host_etc).unwrap();
        for (name, target) in [
            ("absolute", host_etc.to_str().unwrap()),
            ("relative", "../host-etc"),
        ] {
            let linked = dir.path().join(name);
            fs::create_dir(&linked).unwrap();
            symlink(target, linked.join("etc")).unwrap();
            let err = write_network_files(k, linked.to_str().unwrap(), &attachment()).unwrap_err();
            assert!(
                err.is(Op::WriteBeneath, Errno::ENOTCAPABLE),
                "{name}: {err}"
            );
        }
        assert_eq!(fs::read_dir(&host_etc).unwrap().count(), 0);
    });
}
