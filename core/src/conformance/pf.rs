//! Conformance rules: pf.

/// One `#[test]` per rule of this module (see `conformance_tests!`).
#[macro_export]
#[doc(hidden)]
macro_rules! pf_conformance_tests {
    ($kernel:expr, $scratch:expr) => {
        mod pf {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_rules!(pf, $kernel, $scratch, []);
        }
    };
}
