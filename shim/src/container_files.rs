//! The files zelle writes into a container's root: /etc/resolv.conf and /etc/hosts, with the
//! contents `zelle_core::network` produced for its attachment.

use std::fs;
use std::io::{self, Write};
use std::path::Path;
use zelle_core::network::Attachment;

/// Write the attachment's /etc/resolv.conf and /etc/hosts under `root`.
///
/// The root belongs to the image, so it is not trusted: an `etc` that is a symbolic link (which
/// could point anywhere on the host) is refused, and each file is written beside its place and
/// renamed over it, which replaces a link at that name instead of following it.
pub fn write_network_files(root: &Path, attachment: &Attachment) -> io::Result<()> {
    let etc = root.join("etc");
    match fs::symlink_metadata(&etc) {
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{}: is a symbolic link; not writing through it",
                    etc.display()
                ),
            ))
        }
        Ok(meta) if !meta.is_dir() => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: not a directory", etc.display()),
            ))
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => fs::create_dir(&etc)?,
        Err(e) => return Err(e),
    }
    for (name, text) in [
        ("resolv.conf", &attachment.resolv_conf),
        ("hosts", &attachment.hosts),
    ] {
        // create_new (O_CREAT|O_EXCL) never follows a link the image may have put there.
        let tmp = etc.join(format!(".{name}.zelle"));
        match fs::remove_file(&tmp) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.write_all(text.as_bytes())?;
        fs::rename(&tmp, etc.join(name))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn files_land_in_etc_replacing_links_not_following_them() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        fs::create_dir_all(root.join("etc")).unwrap();
        let outside = dir.path().join("host-resolv.conf");
        fs::write(&outside, "the host's own\n").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("etc/resolv.conf")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("etc/.hosts.zelle")).unwrap();

        write_network_files(&root, &attachment()).unwrap();
        assert_eq!(
            fs::read_to_string(root.join("etc/resolv.conf")).unwrap(),
            "nameserver 192.0.2.53\n"
        );
        assert!(fs::read_to_string(root.join("etc/hosts"))
            .unwrap()
            .contains("10.77.0.2\tweb"));
        assert_eq!(fs::read_to_string(&outside).unwrap(), "the host's own\n");
    }

    #[test]
    fn a_missing_etc_is_made_and_a_linked_etc_refused() {
        let dir = tempfile::tempdir().unwrap();
        let bare = dir.path().join("bare");
        fs::create_dir(&bare).unwrap();
        write_network_files(&bare, &attachment()).unwrap();
        assert!(bare.join("etc/hosts").is_file());

        let linked = dir.path().join("linked");
        fs::create_dir(&linked).unwrap();
        let host_etc = dir.path().join("host-etc");
        fs::create_dir(&host_etc).unwrap();
        std::os::unix::fs::symlink(&host_etc, linked.join("etc")).unwrap();
        let err = write_network_files(&linked, &attachment()).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert_eq!(fs::read_dir(&host_etc).unwrap().count(), 0);
    }
}
