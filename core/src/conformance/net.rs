//! Conformance rules: net.

/// One `#[test]` per rule of this module (see `conformance_tests!`).
#[macro_export]
#[doc(hidden)]
macro_rules! net_conformance_tests {
    ($kernel:expr, $scratch:expr) => {
        mod net {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_rules!(net, $kernel, $scratch, []);
        }
    };
}
