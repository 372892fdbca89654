//! The pipeline schema as Arrow, and records to and from record batches.

use crate::Result;
use arrow::array::{
    Array, ArrayRef, BooleanArray, BooleanBuilder, Float64Array, Float64Builder, Int64Array,
    Int64Builder, StringArray, StringBuilder, TimestampMicrosecondArray,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema as ArrowSchema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use std::sync::Arc;
use stk_dsl::ir::{FieldType, Schema};
use stk_eval::{Record, Value};

/// The column that carries arrival order through the batch evaluator.
pub const SEQ: &str = "__seq";

pub fn data_type(t: FieldType) -> DataType {
    match t {
        FieldType::String => DataType::Utf8,
        FieldType::Int64 => DataType::Int64,
        FieldType::Float64 => DataType::Float64,
        FieldType::Bool => DataType::Boolean,
        FieldType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
    }
}

/// The Arrow schema of a pipeline's record (nullable as the schema says).
pub fn arrow_schema(schema: &Schema) -> SchemaRef {
    Arc::new(ArrowSchema::new(
        schema
            .fields
            .iter()
            .map(|f| Field::new(&f.name, data_type(f.ty), !f.required))
            .collect::<Vec<_>>(),
    ))
}

/// Records to one batch, optionally with a `__seq` column numbering them from `seq_start`.
pub fn to_batch(
    schema: &Schema,
    records: &[Record],
    seq_start: Option<i64>,
) -> Result<RecordBatch> {
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields.len() + 1);
    for (i, f) in schema.fields.iter().enumerate() {
        let col: ArrayRef = match f.ty {
            FieldType::String => {
                let mut b = StringBuilder::with_capacity(records.len(), records.len() * 8);
                for r in records {
                    match &r.values[i] {
                        Value::Str(s) => b.append_value(s),
                        _ => b.append_null(),
                    }
                }
                Arc::new(b.finish())
            }
            FieldType::Int64 => {
                let mut b = Int64Builder::with_capacity(records.len());
                records.iter().for_each(|r| match r.values[i] {
                    Value::Int(v) => b.append_value(v),
                    _ => b.append_null(),
                });
                Arc::new(b.finish())
            }
            FieldType::Float64 => {
                let mut b = Float64Builder::with_capacity(records.len());
                records.iter().for_each(|r| match r.values[i] {
                    Value::Float(v) => b.append_value(v),
                    Value::Int(v) => b.append_value(v as f64),
                    _ => b.append_null(),
                });
                Arc::new(b.finish())
            }
            FieldType::Bool => {
                let mut b = BooleanBuilder::with_capacity(records.len());
                records.iter().for_each(|r| match r.values[i] {
                    Value::Bool(v) => b.append_value(v),
                    _ => b.append_null(),
                });
                Arc::new(b.finish())
            }
            FieldType::Timestamp => {
                let mut b =
                    TimestampMicrosecondBuilder::with_capacity(records.len()).with_timezone("UTC");
                records.iter().for_each(|r| match r.values[i] {
                    Value::Ts(v) => b.append_value(v),
                    _ => b.append_null(),
                });
                Arc::new(b.finish())
            }
        };
        columns.push(col);
    }
    let mut fields: Vec<Field> = arrow_schema(schema)
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    if let Some(start) = seq_start {
        fields.push(Field::new(SEQ, DataType::Int64, false));
        columns.push(Arc::new(Int64Array::from_iter_values(
            start..start + records.len() as i64,
        )));
    }
    Ok(RecordBatch::try_new(
        Arc::new(ArrowSchema::new(fields)),
        columns,
    )?)
}

/// The value at `row` of an array of one of the schema's types.
pub fn value_at(array: &dyn Array, row: usize) -> Value {
    if array.is_null(row) {
        return Value::Null;
    }
    let any = array.as_any();
    if let Some(a) = any.downcast_ref::<StringArray>() {
        Value::Str(Arc::from(a.value(row)))
    } else if let Some(a) = any.downcast_ref::<Int64Array>() {
        Value::Int(a.value(row))
    } else if let Some(a) = any.downcast_ref::<Float64Array>() {
        Value::Float(a.value(row))
    } else if let Some(a) = any.downcast_ref::<BooleanArray>() {
        Value::Bool(a.value(row))
    } else if let Some(a) = any.downcast_ref::<TimestampMicrosecondArray>() {
        Value::Ts(a.value(row))
    } else {
        Value::Null
    }
}

/// The schema's fields of one row, by column name (missing columns are null).
pub fn record_at(schema: &Schema, batch: &RecordBatch, row: usize) -> Record {
    let values = schema
        .fields
        .iter()
        .map(|f| {
            batch
                .column_by_name(&f.name)
                .map_or(Value::Null, |c| value_at(c.as_ref(), row))
        })
        .collect();
    Record { values }
}
