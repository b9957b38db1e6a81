//! One conformance suite of kernel semantics, run against every backend: the simulated
//! machine everywhere, the real backend over the simulator's ABI door, and the real kernel on
//! FreeBSD (vm-tests).
//!
//! Each rule is a function generic over [`Kernel`]; a backend's test crate instantiates all of
//! them with [`conformance_tests!`](crate::conformance_tests), one `#[test]` per rule. A rule
//! that needs directories (jail paths, mount points) asks the [`Scratch`] the harness gives it;
//! this module does no I/O of its own.
//!
//! Rules that need control the contract does not offer (loading carp, kernel profiles) are
//! tested in the simulator's own tests instead.

#[allow(unused_imports)]
use crate::kernel::Kernel;

pub mod devfs;
pub mod files;
pub mod host;
pub mod jail;
pub mod mount;
// The jail parameters and mount types the runtime sets (one block for easy merges).
pub mod jail_params;
pub mod mount_types;
pub mod net;
pub mod pf;
pub mod process;
pub mod rctl;

/// Assert that `result` failed with exactly `errno`; `what` names the call in the message.
pub(crate) fn expect_errno<T: std::fmt::Debug>(
    result: crate::kernel::KResult<T>,
    errno: crate::kernel::Errno,
    what: &str,
) {
    match result {
        Ok(value) => panic!("{what}: succeeded with {value:?}, expected {errno}"),
        Err(e) => assert_eq!(e.code(), Some(errno), "{what}: {e}"),
    }
}

/// A persistent jail named `name` (no path, no vnet), made for a rule.
pub(crate) fn jail<K: crate::kernel::Kernel>(k: &K, name: &str) -> crate::kernel::Jid {
    let params = crate::kernel::JailParams {
        name: Some(name.into()),
        persist: Some(true),
        ..Default::default()
    };
    k.jail_set(&params, crate::kernel::JailFlags::CREATE)
        .unwrap_or_else(|e| panic!("create {name}: {e}"))
}

/// Directories and files a rule may use, made by the harness inside a private temporary
/// directory that it removes afterwards.
pub trait Scratch {
    /// Create (if needed) the directory `name` below the scratch root; returns its path.
    fn dir(&self, name: &str) -> String;
    /// Create the regular file `name` below the scratch root; returns its path.
    fn file(&self, name: &str) -> String;
    /// A path below the scratch root that does not exist.
    fn missing(&self, name: &str) -> String;
    /// Create the symbolic link `name` below the scratch root pointing at `target` (taken as
    /// it is: relative or absolute); returns its path.
    fn symlink(&self, target: &str, name: &str) -> String;
    /// The contents of the file `name` below the scratch root (panics when there is none).
    fn read(&self, name: &str) -> Vec<u8>;
    /// A descriptor open for writing on the file `name` below the scratch root, created empty:
    /// what a rule hands a process as its stdout.
    fn writer(&self, name: &str) -> std::os::fd::OwnedFd;
    /// Everything a pty master gives until the other side is closed (end of file, or EIO as
    /// Linux answers then).
    fn read_terminal(&self, master: std::os::fd::OwnedFd) -> Vec<u8>;
    /// TIOCGWINSZ on a pty master.
    fn terminal_size(&self, master: std::os::fd::BorrowedFd<'_>) -> crate::kernel::WindowSize;
}

/// Instantiate the whole suite: `conformance_tests!(make_kernel, make_scratch);` where both are
/// expressions callable with no arguments, returning a fresh kernel and a fresh scratch.
#[macro_export]
macro_rules! conformance_tests {
    ($kernel:expr, $scratch:expr) => {
        $crate::net_conformance_tests!($kernel, $scratch);
        $crate::jail_conformance_tests!($kernel, $scratch);
        $crate::pf_conformance_tests!($kernel, $scratch);
        $crate::mount_conformance_tests!($kernel, $scratch);
        $crate::files_conformance_tests!($kernel, $scratch);
        $crate::process_conformance_tests!($kernel, $scratch);
        $crate::host_conformance_tests!($kernel, $scratch);
        $crate::rctl_any_kernel_conformance_tests!($kernel, $scratch);
        $crate::jail_params_conformance_tests!($kernel, $scratch);
        $crate::mount_types_conformance_tests!($kernel, $scratch);
    };
}

/// Expands to one `#[test]` per named rule of `$module`, each with a fresh kernel and scratch.
#[macro_export]
#[doc(hidden)]
macro_rules! conformance_rules {
    ($module:ident, $kernel:expr, $scratch:expr, [$($rule:ident),* $(,)?]) => {
        $(
            #[test]
            fn $rule() {
                let kernel = ($kernel)();
                let scratch = ($scratch)();
                $crate::conformance::$module::$rule(&kernel, &scratch);
            }
        )*
    };
}
