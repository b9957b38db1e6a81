//! Mount points resolved beneath a container's root (`zelle_core::runtime::mountpoint`), on the
//! simulated machine through its typed door and through the real backend over the ABI door.
//! Each case runs on both; a refused destination must leave the root exactly as it was.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use zelle_core::kernel::Files;
use zelle_core::runtime::mountpoint::{prepare_mountpoint, Mountpoint, MountpointError};
use zelle_freebsd::FreeBsd;
use zelle_sim::abi::SimSyscalls;
use zelle_sim::SimKernel;

/// Run `case` on each arm with a fresh root holding `etc/`, `run/` and `var/run -> ../run`.
fn on_both(case: impl Fn(&dyn Files, &str)) {
    let typed = SimKernel::seeded(1);
    let door = FreeBsd::new(SimSyscalls::new(SimKernel::seeded(1)));
    for kernel in [&typed as &dyn Files, &door as &dyn Files] {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("rootfs");
        fs::create_dir_all(root.join("etc")).unwrap();
        fs::create_dir_all(root.join("run")).unwrap();
        fs::create_dir_all(root.join("var")).unwrap();
        symlink("../run", root.join("var/run")).unwrap();
        fs::write(dir.path().join("outside"), b"host").unwrap();
        case(kernel, root.to_str().unwrap());
    }
}

/// Every path below `root`, with a marker for links, in order.
fn listing(root: &str) -> Vec<String> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
        let mut entries: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap()).collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let name = path
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let kind = entry.file_type().unwrap();
            if kind.is_symlink() {
                out.push(format!(
                    "{name} -> {}",
                    fs::read_link(&path).unwrap().display()
                ));
            } else if kind.is_dir() {
                out.push(format!("{name}/"));
                walk(&path, base, out);
            } else {
                out.push(name);
            }
        }
    }
    let mut out = Vec::new();
    walk(Path::new(root), Path::new(root), &mut out);
    out
}

#[test]
fn missing_directories_are_made_on_the_way() {
    on_both(|k, root| {
        let at = prepare_mountpoint(k, root, "/dev/shm", Mountpoint::Directory).unwrap();
        assert_eq!(at, format!("{root}/dev/shm"));
        assert!(Path::new(&at).is_dir());
        // Present already: nothing to do, the same answer.
        let again = prepare_mountpoint(k, root, "/dev/shm/", Mountpoint::Directory).unwrap();
        assert_eq!(again, at);
    });
}

#[test]
fn a_file_mount_point_is_an_empty_file() {
    on_both(|k, root| {
        let at = prepare_mountpoint(k, root, "/etc/resolv.conf", Mountpoint::File).unwrap();
        assert_eq!(at, format!("{root}/etc/resolv.conf"));
        assert_eq!(fs::read(&at).unwrap(), b"");
        let deep = prepare_mountpoint(k, root, "/config/app/app.toml", Mountpoint::File).unwrap();
        assert!(Path::new(&deep).is_file());
        assert!(Path::new(&format!("{root}/config/app")).is_dir());
    });
}

#[test]
fn links_inside_the_root_are_resolved_into_the_answer() {
    on_both(|k, root| {
        let at = prepare_mountpoint(k, root, "/var/run/secrets", Mountpoint::Directory).unwrap();
        assert_eq!(at, format!("{root}/run/secrets"));
        assert!(Path::new(&at).is_dir());
        let dotted = prepare_mountpoint(k, root, "/etc/./../run/x/..", Mountpoint::Directory);
        assert_eq!(dotted.unwrap(), format!("{root}/run"));
    });
}

#[test]
fn dot_dot_out_of_the_root_is_refused_and_leaves_nothing() {
    on_both(|k, root| {
        let before = listing(root);
        for destination in [
            "/../outside",
            "/etc/../../outside",
            "/new/deeper/../../../x",
        ] {
            let err = prepare_mountpoint(k, root, destination, Mountpoint::Directory).unwrap_err();
            assert!(
                matches!(err, MountpointError::DotDotEscape { .. }),
                "{destination}: {err}"
            );
            assert!(err.to_string().contains(destination), "{err}");
        }
        assert_eq!(listing(root), before);
    });
}

#[test]
fn an_absolute_link_on_the_way_is_refused_and_leaves_nothing() {
    on_both(|k, root| {
        symlink("/", Path::new(root).join("host")).unwrap();
        symlink("/etc", Path::new(root).join("etc/abs")).unwrap();
        let before = listing(root);
        let err = prepare_mountpoint(k, root, "/host/tmp/x", Mountpoint::Directory).unwrap_err();
        assert_eq!(
            err,
            MountpointError::AbsoluteLink {
                destination: "/host/tmp/x".into(),
                at: "/host".into(),
                target: "/".into(),
            }
        );
        let err = prepare_mountpoint(k, root, "/etc/abs/passwd", Mountpoint::File).unwrap_err();
        assert!(matches!(err, MountpointError::AbsoluteLink { .. }), "{err}");
        assert_eq!(listing(root), before);
    });
}

#[test]
fn a_chain_of_relative_links_climbing_out_is_refused() {
    on_both(|k, root| {
        // up -> etc/..  (the root itself); out -> up/..  (above it).
        symlink("etc/..", Path::new(root).join("up")).unwrap();
        symlink("up/..", Path::new(root).join("out")).unwrap();
        let before = listing(root);
        let err = prepare_mountpoint(k, root, "/out/outside", Mountpoint::File).unwrap_err();
        assert!(matches!(err, MountpointError::DotDotEscape { .. }), "{err}");
        assert_eq!(listing(root), before);
        // The harmless one stays inside.
        let at = prepare_mountpoint(k, root, "/up/etc", Mountpoint::Directory).unwrap();
        assert_eq!(at, format!("{root}/etc"));
    });
}

#[test]
fn a_link_loop_is_refused() {
    on_both(|k, root| {
        symlink("b", Path::new(root).join("a")).unwrap();
        symlink("a", Path::new(root).join("b")).unwrap();
        let err = prepare_mountpoint(k, root, "/a/x", Mountpoint::Directory).unwrap_err();
        assert!(matches!(err, MountpointError::TooManyLinks { .. }), "{err}");
    });
}

#[test]
fn the_wrong_kind_of_file_is_refused() {
    on_both(|k, root| {
        fs::write(Path::new(root).join("etc/hostname"), b"web\n").unwrap();
        let before = listing(root);
        let err = prepare_mountpoint(k, root, "/etc/hostname/x", Mountpoint::Directory);
        assert_eq!(
            err.unwrap_err(),
            MountpointError::NotADirectory {
                destination: "/etc/hostname/x".into(),
                at: "/etc/hostname".into(),
            }
        );
        let err = prepare_mountpoint(k, root, "/etc", Mountpoint::File).unwrap_err();
        assert!(matches!(err, MountpointError::NotAFile { .. }), "{err}");
        let err = prepare_mountpoint(k, root, "etc", Mountpoint::Directory).unwrap_err();
        assert!(matches!(err, MountpointError::NotAbsolute { .. }), "{err}");
        assert_eq!(listing(root), before);
    });
}
