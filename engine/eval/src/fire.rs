//! When an alert fires, per (alert, series): a rising edge of the condition starts a pending
//! period; it fires once the condition has held for `for` (at once without `for`); after a
//! notification at `t0` nothing is sent before `t0 + cooldown`, and the next notification
//! needs a new rising edge. A null condition counts as not true.

#[derive(Debug, Clone, Default)]
pub struct FireState {
    for_us: i64,
    cooldown_us: i64,
    prev_true: bool,
    pending_since: Option<i64>,
    last_sent: Option<i64>,
}

impl FireState {
    pub fn new(for_ms: Option<u64>, cooldown_ms: u64) -> Self {
        FireState {
            for_us: for_ms.unwrap_or(0) as i64 * 1000,
            cooldown_us: cooldown_ms as i64 * 1000,
            ..Default::default()
        }
    }

    /// The condition at the next record of the series (`None` is null); true when the
    /// alert fires at this record.
    pub fn step(&mut self, ts: i64, cond: Option<bool>) -> bool {
        let now_true = cond == Some(true);
        if !now_true {
            self.pending_since = None;
        } else if !self.prev_true {
            self.pending_since = Some(ts);
        }
        self.prev_true = now_true;
        let Some(since) = self.pending_since else {
            return false;
        };
        if ts - since < self.for_us {
            return false;
        }
        // The pending period is used up whether or not the cooldown lets it through.
        self.pending_since = None;
        if self.last_sent.is_some_and(|t0| ts < t0 + self.cooldown_us) {
            return false;
        }
        self.last_sent = Some(ts);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(for_ms: Option<u64>, cooldown_ms: u64, steps: &[(i64, Option<bool>)]) -> Vec<i64> {
        let mut f = FireState::new(for_ms, cooldown_ms);
        steps
            .iter()
            .filter(|(t, c)| f.step(t * 1000, *c))
            .map(|(t, _)| *t)
            .collect()
    }

    const T: Option<bool> = Some(true);
    const F: Option<bool> = Some(false);

    #[test]
    fn fires_on_rising_edges_only() {
        assert_eq!(
            run(
                None,
                0,
                &[(1, T), (2, T), (3, F), (4, T), (5, None), (6, T)]
            ),
            [1, 4, 6]
        );
    }

    #[test]
    fn for_needs_the_condition_to_hold() {
        assert_eq!(run(Some(10), 0, &[(0, T), (5, T), (10, T), (15, T)]), [10]);
        assert_eq!(
            run(Some(10), 0, &[(0, T), (5, F), (8, T), (12, T), (18, T)]),
            [18]
        );
        assert_eq!(
            run(Some(10), 0, &[(0, T), (5, None), (8, T), (18, T)]),
            [18]
        );
    }

    #[test]
    fn cooldown_suppresses_and_needs_a_new_edge() {
        // edge at 0 fires; edge at 10 inside 30ms cooldown is suppressed; staying true does
        // not fire at 35; a new edge at 40 does.
        assert_eq!(
            run(
                None,
                30,
                &[(0, T), (5, F), (10, T), (35, T), (38, F), (40, T)]
            ),
            [0, 40]
        );
        // exactly at t0 + cooldown is allowed
        assert_eq!(run(None, 30, &[(0, T), (1, F), (30, T)]), [0, 30]);
    }
}
