//! The files zelle writes into a container's root for its network: /etc/resolv.conf and
//! /etc/hosts, with the contents `core::network` produced for its attachment.
//!
//! They go through the kernel contract's [`Files`], beneath the root: a link the image put at
//! either name is replaced, never written through, and an `etc` that is an absolute link (to
//! the host's /etc, say) or leads out of the root is refused by the lookup (ENOTCAPABLE).

use crate::kernel::{Errno, FileType, Files, KernelError};
use crate::network::Attachment;

/// Write the attachment's /etc/resolv.conf and /etc/hosts beneath `root`, making /etc when the
/// image has none.
pub fn write_network_files<K: Files + ?Sized>(
    kernel: &K,
    root: &str,
    attachment: &Attachment,
) -> Result<(), KernelError> {
    match kernel.stat_beneath(root, "etc") {
        Err(e) if e.code() == Some(Errno::ENOENT) => {
            kernel.create_beneath(root, "etc", FileType::Directory, 0o755)?
        }
        Err(e) => return Err(e),
        // A link leads on beneath the root (the writes below resolve it), or is refused there.
        Ok(_) => {}
    }
    kernel.write_beneath(
        root,
        "etc/resolv.conf",
        attachment.resolv_conf.as_bytes(),
        0o644,
    )?;
    kernel.write_beneath(root, "etc/hosts", attachment.hosts.as_bytes(), 0o644)
}
