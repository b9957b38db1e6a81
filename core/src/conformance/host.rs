//! Conformance rules: host.

/// One `#[test]` per rule of this module (see `conformance_tests!`).
#[macro_export]
#[doc(hidden)]
macro_rules! host_conformance_tests {
    ($kernel:expr, $scratch:expr) => {
        mod host {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_rules!(host, $kernel, $scratch, []);
        }
    };
}
