//! Which records of a series are evaluated, and in what order: duplicates (same key and
//! `ts` as a record already seen: the first wins) and late records (older than the newest
//! seen, beyond the alert's `lateness`) are counted and left out. With `lateness = L`,
//! records are held until the series' newest `ts` is `L` past them, then released in `ts`
//! order, so reordering within `L` does not change the result.

use std::collections::BTreeMap;

/// What happened to one arriving record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Accepted; it will be (or was) released for evaluation.
    Admitted,
    Duplicate,
    Late,
}

/// Admission state of one series. `T` is whatever the caller needs back on release
/// (the record itself in streaming, a row index in batch). An arriving item is borrowed and
/// copied only when it has to be held for reordering (never without `lateness`).
#[derive(Debug, Clone)]
pub struct Admission<T> {
    lateness_us: i64,
    newest: Option<i64>,
    /// The `ts` of the last record released for evaluation.
    released: Option<i64>,
    held: BTreeMap<i64, T>,
}

impl<T> Admission<T> {
    pub fn new(lateness_ms: u64) -> Self {
        Admission {
            lateness_us: lateness_ms as i64 * 1000,
            newest: None,
            released: None,
            held: BTreeMap::new(),
        }
    }

    /// Offer an arriving record; released records go to `out` in `ts` order.
    pub fn offer(&mut self, ts: i64, item: &T, out: &mut impl FnMut(i64, &T)) -> Verdict
    where
        T: Clone,
    {
        if let Some(r) = self.released {
            if ts == r {
                return Verdict::Duplicate;
            }
            if ts < r {
                return Verdict::Late;
            }
        }
        if self.lateness_us == 0 {
            // No reordering: release at once.
            self.released = Some(ts);
            self.newest = Some(ts);
            out(ts, item);
            return Verdict::Admitted;
        }
        if self.held.contains_key(&ts) {
            return Verdict::Duplicate;
        }
        if self.newest.is_some_and(|n| ts < n - self.lateness_us) {
            return Verdict::Late;
        }
        self.held.insert(ts, item.clone());
        let newest = self.newest.map_or(ts, |n| n.max(ts));
        self.newest = Some(newest);
        let watermark = newest - self.lateness_us;
        while let Some(entry) = self.held.first_entry() {
            if *entry.key() > watermark {
                break;
            }
            let (t, item) = entry.remove_entry();
            self.released = Some(t);
            out(t, &item);
        }
        Verdict::Admitted
    }

    /// Release everything still held (end of input, or shutdown).
    pub fn flush(&mut self, out: &mut impl FnMut(i64, &T)) {
        while let Some((t, item)) = self.held.pop_first() {
            self.released = Some(t);
            out(t, &item);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lateness_ms: u64, ts: &[i64]) -> (Vec<i64>, Vec<Verdict>) {
        let mut a = Admission::new(lateness_ms);
        let mut released = Vec::new();
        let verdicts = ts
            .iter()
            .map(|&t| a.offer(t * 1000, &t, &mut |_, x| released.push(*x)))
            .collect();
        a.flush(&mut |_, x| released.push(*x));
        (released, verdicts)
    }

    #[test]
    fn without_lateness_late_and_duplicate_records_are_dropped() {
        let (released, v) = run(0, &[1, 2, 2, 1, 5]);
        assert_eq!(released, [1, 2, 5]);
        assert_eq!(
            v,
            [
                Verdict::Admitted,
                Verdict::Admitted,
                Verdict::Duplicate,
                Verdict::Late,
                Verdict::Admitted
            ]
        );
    }

    #[test]
    fn lateness_reorders_within_the_bound() {
        let (released, v) = run(3, &[1, 4, 2, 2, 9, 3]);
        // 2 arrives within 3ms of 4: kept; the second 2 is a duplicate; 3 arrives after 9
        // moved the watermark to 6 and 4 was released: late.
        assert_eq!(released, [1, 2, 4, 9]);
        assert_eq!(v[3], Verdict::Duplicate);
        assert_eq!(v[5], Verdict::Late);
    }
}
