//! Conformance rules: mount.

/// One `#[test]` per rule of this module (see `conformance_tests!`).
#[macro_export]
#[doc(hidden)]
macro_rules! mount_conformance_tests {
    ($kernel:expr, $scratch:expr) => {
        mod mount {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_rules!(mount, $kernel, $scratch, []);
        }
    };
}
