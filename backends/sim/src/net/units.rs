//! A cloner's allocated units, kept as runs like the kernel's unr(9) allocator
//! (`sys/kern/subr_unit.c`), so finding the lowest free unit stays cheap however many
//! interfaces a cloner has made.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitSet {
    /// First unit of each run of allocated units → its last unit.
    runs: BTreeMap<u32, u32>,
}

impl UnitSet {
    pub fn contains(&self, unit: u32) -> bool {
        self.runs
            .range(..=unit)
            .next_back()
            .is_some_and(|(_, &last)| unit <= last)
    }

    /// `alloc_unr`: the lowest unit not allocated.
    pub fn lowest_free(&self) -> u32 {
        match self.runs.first_key_value() {
            Some((&0, &last)) => last.saturating_add(1),
            _ => 0,
        }
    }

    pub fn insert(&mut self, unit: u32) {
        if self.contains(unit) {
            return;
        }
        let before = self
            .runs
            .range(..unit)
            .next_back()
            .filter(|(_, &last)| last.checked_add(1) == Some(unit))
            .map(|(&first, _)| first);
        let after = unit
            .checked_add(1)
            .and_then(|next| self.runs.get(&next).map(|&last| (next, last)));
        let first = before.unwrap_or(unit);
        let last = match after {
            Some((next, last)) => {
                self.runs.remove(&next);
                last
            }
            None => unit,
        };
        self.runs.insert(first, last);
    }

    pub fn remove(&mut self, unit: u32) {
        let Some((&first, &last)) = self.runs.range(..=unit).next_back() else {
            return;
        };
        if unit > last {
            return;
        }
        self.runs.remove(&first);
        if first < unit {
            self.runs.insert(first, unit - 1);
        }
        if unit < last {
            self.runs.insert(unit + 1, last);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Every allocated unit, in order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.runs.iter().flat_map(|(&first, &last)| first..=last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_merge_split_and_find_the_lowest_gap() {
        let mut units = UnitSet::default();
        assert_eq!(units.lowest_free(), 0);
        for unit in [0, 1, 3, 2] {
            units.insert(unit);
        }
        assert_eq!(units.runs.len(), 1);
        assert_eq!(units.lowest_free(), 4);
        units.remove(1);
        assert_eq!(units.lowest_free(), 1);
        assert!(units.contains(0) && !units.contains(1) && units.contains(2));
        assert_eq!(units.iter().collect::<Vec<_>>(), [0, 2, 3]);
        units.remove(0);
        assert_eq!(units.lowest_free(), 0);
        units.remove(2);
        units.remove(3);
        assert!(units.is_empty());
    }
}
