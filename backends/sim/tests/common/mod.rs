//! Shared test support: a scratch directory for conformance rules.
#![allow(dead_code)]

use std::io::Read;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;
use zelle_core::conformance::Scratch;
use zelle_core::kernel::{JailFlags, JailParams, Jails, Jid, WindowSize};
use zelle_sim::SimKernel;

pub struct TempScratch {
    dir: tempfile::TempDir,
}

impl TempScratch {
    pub fn new() -> Self {
        TempScratch {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Scratch for TempScratch {
    fn dir(&self, name: &str) -> String {
        let path = self.path(name);
        std::fs::create_dir_all(&path).expect("scratch directory");
        path.to_string_lossy().into_owned()
    }

    fn file(&self, name: &str) -> String {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("scratch directory");
        }
        std::fs::write(&path, b"").expect("scratch file");
        path.to_string_lossy().into_owned()
    }

    fn missing(&self, name: &str) -> String {
        self.path(name).to_string_lossy().into_owned()
    }

    fn symlink(&self, target: &str, name: &str) -> String {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("scratch directory");
        }
        std::os::unix::fs::symlink(target, &path).expect("scratch link");
        path.to_string_lossy().into_owned()
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).expect("scratch file")
    }

    fn writer(&self, name: &str) -> OwnedFd {
        let path = self.file(name);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .expect("scratch file for writing");
        OwnedFd::from(file)
    }

    fn read_terminal(&self, master: OwnedFd) -> Vec<u8> {
        let mut master = std::fs::File::from(master);
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match master.read(&mut buf) {
                Ok(0) => return out,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // Linux: EIO once no slave descriptor is open.
                Err(e) if e.raw_os_error() == Some(libc::EIO) => return out,
                Err(e) => panic!("reading the pty master: {e}"),
            }
        }
    }

    fn terminal_size(&self, master: BorrowedFd<'_>) -> WindowSize {
        let mut ws = libc::winsize {
            ws_row: 0,
            ws_col: 0,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCGWINSZ writes one winsize into `ws`.
        let rc = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
        assert_eq!(rc, 0, "TIOCGWINSZ: {}", std::io::Error::last_os_error());
        WindowSize {
            rows: ws.ws_row,
            cols: ws.ws_col,
        }
    }
}

/// A persistent jail named `name`, with every other parameter at the kernel's default.
pub fn persistent(name: &str) -> JailParams {
    JailParams {
        name: Some(name.into()),
        persist: Some(true),
        ..JailParams::default()
    }
}

/// jail_set with JAIL_CREATE, which must succeed.
pub fn create(k: &SimKernel, params: &JailParams) -> Jid {
    k.jail_set(params, JailFlags::CREATE).expect("create")
}
