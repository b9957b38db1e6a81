//! Address allocation within one network's subnet.
//!
//! Addresses are known by their host part (the offset from the network address). Fresh
//! addresses are handed out in order from a cursor; released ones wait in a set and are reused
//! only once the fresh ones run out, so a container's old address is not given to the next one
//! straight away (peers' ARP caches and pf states still point at it). Each allocation and
//! release costs O(log n) in the number of released addresses, never a scan.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The host parts a network can hand out: `1..=last`, except the gateway's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HostRange {
    /// The highest usable host part (the broadcast address is `last + 1`).
    pub last: u32,
    pub gateway: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ipam {
    /// Every host part below this has been handed out at least once.
    next: u32,
    /// Host parts below `next` that are free again.
    released: BTreeSet<u32>,
}

impl Default for Ipam {
    fn default() -> Self {
        Ipam {
            next: 1,
            released: BTreeSet::new(),
        }
    }
}

impl Ipam {
    /// The host part `allocate` would hand out, without taking it.
    pub(crate) fn peek(&self, range: HostRange) -> Option<u32> {
        let fresh = if self.next == range.gateway {
            self.next.checked_add(1)?
        } else {
            self.next
        };
        if fresh <= range.last {
            Some(fresh)
        } else {
            self.released.first().copied()
        }
    }

    /// Take the next free host part.
    pub(crate) fn allocate(&mut self, range: HostRange) -> Option<u32> {
        let offset = self.peek(range)?;
        if offset >= self.next {
            self.next = offset + 1;
        } else {
            self.released.remove(&offset);
        }
        Some(offset)
    }

    /// Give back a host part; releasing one that is not allocated changes nothing.
    pub(crate) fn release(&mut self, offset: u32, range: HostRange) {
        if self.is_allocated(offset, range) {
            self.released.insert(offset);
        }
    }

    /// Take back an allocation that is being abandoned (an attach that failed). When nothing
    /// was allocated since, the allocator returns to exactly its state before (`next_before`
    /// is `next()` from then); otherwise the host part is released as usual.
    pub(crate) fn unallocate(&mut self, offset: u32, next_before: u32, range: HostRange) {
        if offset >= next_before && self.next == offset + 1 {
            self.next = next_before;
        } else {
            self.release(offset, range);
        }
    }

    /// Where fresh allocation stands (for `unallocate`).
    pub(crate) fn next(&self) -> u32 {
        self.next
    }

    pub(crate) fn is_allocated(&self, offset: u32, range: HostRange) -> bool {
        offset >= 1
            && offset < self.next
            && offset <= range.last
            && offset != range.gateway
            && !self.released.contains(&offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RANGE: HostRange = HostRange {
        last: 6,
        gateway: 1,
    };

    #[test]
    fn hands_out_fresh_addresses_first_skipping_the_gateway() {
        let mut ipam = Ipam::default();
        let got: Vec<_> = std::iter::from_fn(|| ipam.allocate(RANGE)).collect();
        assert_eq!(got, [2, 3, 4, 5, 6]);
        assert_eq!(ipam.allocate(RANGE), None);
    }

    #[test]
    fn released_addresses_wait_until_fresh_ones_run_out() {
        let mut ipam = Ipam::default();
        assert_eq!(ipam.allocate(RANGE), Some(2));
        assert_eq!(ipam.allocate(RANGE), Some(3));
        ipam.release(2, RANGE);
        assert!(!ipam.is_allocated(2, RANGE));
        assert_eq!(ipam.allocate(RANGE), Some(4));
        assert_eq!(ipam.allocate(RANGE), Some(5));
        assert_eq!(ipam.allocate(RANGE), Some(6));
        assert_eq!(ipam.allocate(RANGE), Some(2));
        assert_eq!(ipam.allocate(RANGE), None);
    }

    #[test]
    fn a_gateway_in_the_middle_is_skipped() {
        let range = HostRange {
            last: 4,
            gateway: 3,
        };
        let mut ipam = Ipam::default();
        let got: Vec<_> = std::iter::from_fn(|| ipam.allocate(range)).collect();
        assert_eq!(got, [1, 2, 4]);
    }

    #[test]
    fn an_abandoned_allocation_leaves_no_trace() {
        let range = HostRange {
            last: 6,
            gateway: 2,
        };
        let mut ipam = Ipam::default();
        ipam.allocate(range);
        let before = ipam.clone();
        let offset = ipam.allocate(range).unwrap();
        assert_eq!(offset, 3, "the gateway is skipped");
        ipam.unallocate(offset, before.next(), range);
        assert_eq!(ipam, before);

        // From the released set: it goes back there.
        ipam.release(1, range);
        let before = ipam.clone();
        let offset = ipam.allocate(range).unwrap();
        ipam.unallocate(offset, before.next(), range);
        assert_eq!(ipam, before);

        // Another allocation came in between: a plain release.
        let first = ipam.allocate(range).unwrap();
        let next_before = ipam.next();
        let mine = ipam.allocate(range).unwrap();
        ipam.allocate(range).unwrap();
        ipam.unallocate(mine, next_before, range);
        assert!(!ipam.is_allocated(mine, range) && ipam.is_allocated(first, range));
    }

    #[test]
    fn releasing_what_is_not_allocated_changes_nothing() {
        let mut ipam = Ipam::default();
        let before = ipam.clone();
        ipam.release(3, RANGE);
        ipam.release(1, RANGE);
        ipam.release(0, RANGE);
        assert_eq!(ipam, before);
    }
}
