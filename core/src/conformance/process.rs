//! Conformance rules: process.

/// One `#[test]` per rule of this module (see `conformance_tests!`).
#[macro_export]
#[doc(hidden)]
macro_rules! process_conformance_tests {
    ($kernel:expr, $scratch:expr) => {
        mod process {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_rules!(process, $kernel, $scratch, []);
        }
    };
}
