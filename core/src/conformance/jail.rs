//! Conformance rules: jail.

/// One `#[test]` per rule of this module (see `conformance_tests!`).
#[macro_export]
#[doc(hidden)]
macro_rules! jail_conformance_tests {
    ($kernel:expr, $scratch:expr) => {
        mod jail {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_rules!(jail, $kernel, $scratch, []);
        }
    };
}
