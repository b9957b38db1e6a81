//! Shared test support: a scratch directory for conformance rules.
#![allow(dead_code)]

use std::path::PathBuf;
use zelle_core::conformance::Scratch;

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
}
