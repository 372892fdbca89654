//! The streaming alert evaluator: records in, firings out, one alert at a time. State is per
//! series (the alert's `per` key) and bounded by the alert's windows; each record costs O(1)
//! amortised. Used live by the scraper daemon and `stkc run`, and by `stkc backtest`.

use crate::admit::{Admission, Verdict};
use crate::expr::{Compiled, Slots};
use crate::fire::FireState;
use crate::firing::{Firing, value_json};
use crate::record::Record;
use crate::template::Renderer;
use crate::value::{Value, ts_to_rfc3339};
use crate::window::SlotState;
use hashbrown::Equivalent;
use rustc_hash::FxBuildHasher;
use serde::Serialize;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use stk_dsl::ir::{Alert, Schema};

/// A hashable form of a key value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyPart {
    Null,
    Bool(bool),
    Int(i64),
    Float(u64),
    Str(Arc<str>),
    Ts(i64),
}

impl From<&Value> for KeyPart {
    fn from(v: &Value) -> Self {
        match v {
            Value::Null => KeyPart::Null,
            Value::Bool(b) => KeyPart::Bool(*b),
            Value::Int(i) => KeyPart::Int(*i),
            Value::Float(f) => KeyPart::Float(f.to_bits()),
            Value::Str(s) => KeyPart::Str(s.clone()),
            Value::Ts(t) | Value::DurationMs(t) => KeyPart::Ts(*t),
        }
    }
}

/// [`KeyPart`] borrowed from a record's value: what both hash, so that a series is found
/// from the record without building its key (and counting another reference to a string).
#[derive(PartialEq, Hash)]
enum KeyPartRef<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(u64),
    Str(&'a str),
    Ts(i64),
}

impl<'a> From<&'a Value> for KeyPartRef<'a> {
    fn from(v: &'a Value) -> Self {
        match v {
            Value::Null => KeyPartRef::Null,
            Value::Bool(b) => KeyPartRef::Bool(*b),
            Value::Int(i) => KeyPartRef::Int(*i),
            Value::Float(f) => KeyPartRef::Float(f.to_bits()),
            Value::Str(s) => KeyPartRef::Str(s),
            Value::Ts(t) | Value::DurationMs(t) => KeyPartRef::Ts(*t),
        }
    }
}

impl KeyPart {
    fn as_ref(&self) -> KeyPartRef<'_> {
        match self {
            KeyPart::Null => KeyPartRef::Null,
            KeyPart::Bool(b) => KeyPartRef::Bool(*b),
            KeyPart::Int(i) => KeyPartRef::Int(*i),
            KeyPart::Float(f) => KeyPartRef::Float(*f),
            KeyPart::Str(s) => KeyPartRef::Str(s),
            KeyPart::Ts(t) => KeyPartRef::Ts(*t),
        }
    }
}

impl Hash for KeyPart {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.as_ref().hash(h);
    }
}

/// A series' key: its parts' values.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    One(KeyPart),
    Many(Vec<KeyPart>),
}

impl Key {
    fn parts(&self) -> &[KeyPart] {
        match self {
            Key::One(p) => std::slice::from_ref(p),
            Key::Many(ps) => ps,
        }
    }
}

/// Hashed as its parts in order, as [`KeyRef`] is.
impl Hash for Key {
    fn hash<H: Hasher>(&self, h: &mut H) {
        for p in self.parts() {
            p.as_ref().hash(h);
        }
    }
}

/// A record's key, borrowed from it: the lookup of an existing series allocates nothing.
struct KeyRef<'a> {
    fields: &'a [usize],
    record: &'a Record,
}

impl KeyRef<'_> {
    fn part(&self, i: usize) -> KeyPartRef<'_> {
        self.record
            .values
            .get(i)
            .map_or(KeyPartRef::Null, KeyPartRef::from)
    }
}

impl Hash for KeyRef<'_> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        for &i in self.fields {
            self.part(i).hash(h);
        }
    }
}

impl Equivalent<Key> for KeyRef<'_> {
    fn equivalent(&self, key: &Key) -> bool {
        let parts = key.parts();
        matches!(key, Key::One(_)) == (self.fields.len() == 1)
            && parts.len() == self.fields.len()
            && parts
                .iter()
                .zip(self.fields)
                .all(|(p, &i)| p.as_ref() == self.part(i))
    }
}

impl From<&KeyRef<'_>> for Key {
    fn from(k: &KeyRef<'_>) -> Key {
        let part = |i: usize| k.record.values.get(i).map_or(KeyPart::Null, KeyPart::from);
        match k.fields {
            [i] => Key::One(part(*i)),
            many => Key::Many(many.iter().map(|&i| part(i)).collect()),
        }
    }
}

/// Counts of what the evaluator saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AlertStats {
    pub records: u64,
    pub evaluated: u64,
    pub duplicates: u64,
    pub late: u64,
    pub firings: u64,
}

/// The compiled parts of an alert shared by the streaming and the batch evaluators.
#[derive(Debug, Clone)]
pub struct CompiledAlert {
    pub alert: Alert,
    pub cond: Compiled,
    pub value: Option<Compiled>,
    pub slots: Slots,
    pub message: Renderer,
    pub key_fields: Vec<usize>,
    pub ts_field: usize,
}

impl CompiledAlert {
    pub fn new(alert: &Alert, schema: &Schema) -> Self {
        let mut slots = Slots::default();
        let cond = Compiled::with_slots(&alert.when, schema, &mut slots);
        let value = alert
            .value
            .as_ref()
            .map(|v| Compiled::with_slots(v, schema, &mut slots));
        let message = Renderer::new(&alert.message, schema, &mut slots);
        let index = |name: &str| {
            schema
                .fields
                .iter()
                .position(|f| f.name == name)
                .unwrap_or(0)
        };
        CompiledAlert {
            alert: alert.clone(),
            cond,
            value,
            slots,
            message,
            key_fields: alert.per.iter().map(|p| index(p)).collect(),
            ts_field: index(&schema.event_time),
        }
    }

    /// The firing for `record`, whose slot values are `slot_values`.
    pub fn firing(&self, record: &Record, slot_values: &[Value], ts: i64) -> Firing {
        let key = self
            .alert
            .per
            .iter()
            .zip(&self.key_fields)
            .map(|(name, i)| (name.clone(), value_json(&record.values[*i])))
            .collect::<BTreeMap<_, _>>();
        Firing {
            alert: self.alert.name.clone(),
            key,
            ts: ts_to_rfc3339(ts),
            value: self.value.as_ref().map_or(serde_json::Value::Null, |v| {
                value_json(&v.eval(record, slot_values))
            }),
            message: self.message.render(record, slot_values),
            severity: self.alert.severity,
            ts_us: ts,
        }
    }

    pub fn new_slot_states(&self) -> Vec<SlotState> {
        self.slots.specs.iter().map(SlotState::new).collect()
    }
}

struct Series {
    admit: Admission<Record>,
    state: SeriesState,
}

/// The window and firing state of one series: what an admitted record updates.
struct SeriesState {
    slots: Vec<SlotState>,
    fire: FireState,
}

/// Per-evaluator scratch shared by every series: the slot values of the current record,
/// and the counters.
struct Work {
    slot_values: Vec<Value>,
    stats: AlertStats,
}

impl SeriesState {
    /// Evaluate the alert at one admitted record (in ts order) of this series.
    fn evaluate(
        &mut self,
        c: &CompiledAlert,
        work: &mut Work,
        ts: i64,
        r: &Record,
        out: &mut Vec<Firing>,
    ) {
        work.stats.evaluated += 1;
        for (i, state) in self.slots.iter_mut().enumerate() {
            let x = c.slots.args[i].eval(r, &[]);
            work.slot_values[i] = state.push(ts, &x);
        }
        let cond = c.cond.eval(r, &work.slot_values).as_bool();
        if self.fire.step(ts, cond) {
            work.stats.firings += 1;
            out.push(c.firing(r, &work.slot_values, ts));
        }
    }
}

pub struct AlertEvaluator {
    compiled: CompiledAlert,
    series: hashbrown::HashMap<Key, Series, FxBuildHasher>,
    work: Work,
}

impl AlertEvaluator {
    pub fn new(alert: &Alert, schema: &Schema) -> Self {
        let compiled = CompiledAlert::new(alert, schema);
        let n = compiled.slots.specs.len();
        AlertEvaluator {
            compiled,
            series: Default::default(),
            work: Work {
                slot_values: vec![Value::Null; n],
                stats: AlertStats::default(),
            },
        }
    }

    pub fn alert(&self) -> &Alert {
        &self.compiled.alert
    }

    pub fn stats(&self) -> AlertStats {
        self.work.stats
    }

    /// Number of series with state (bounded by the key cardinality).
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// Feed one record (in arrival order); firings it causes are appended to `out`.
    pub fn push(&mut self, record: &Record, out: &mut Vec<Firing>) {
        self.work.stats.records += 1;
        let Value::Ts(ts) = record.values[self.compiled.ts_field] else {
            // Validation guarantees a timestamp; a record without one cannot be placed.
            self.work.stats.late += 1;
            return;
        };
        let key = KeyRef {
            fields: &self.compiled.key_fields,
            record,
        };
        let compiled = &self.compiled;
        let series = self.series.entry_ref(&key).or_insert_with(|| Series {
            admit: Admission::new(compiled.alert.lateness_ms),
            state: SeriesState {
                slots: compiled.new_slot_states(),
                fire: FireState::new(compiled.alert.for_ms, compiled.alert.cooldown_ms),
            },
        });
        let work = &mut self.work;
        let verdict = series.admit.offer(ts, record, &mut |t, r| {
            series.state.evaluate(compiled, work, t, r, out)
        });
        match verdict {
            Verdict::Admitted => {}
            Verdict::Duplicate => self.work.stats.duplicates += 1,
            Verdict::Late => self.work.stats.late += 1,
        }
    }

    /// Release every record held for reordering (end of input or shutdown).
    pub fn flush(&mut self, out: &mut Vec<Firing>) {
        let compiled = &self.compiled;
        let work = &mut self.work;
        for series in self.series.values_mut() {
            let (admit, state) = (&mut series.admit, &mut series.state);
            admit.flush(&mut |t, r| state.evaluate(compiled, work, t, r, out));
        }
    }
}
