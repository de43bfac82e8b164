//! Arrow columns built straight from rows that derive `Serialize`, a row at a time.
//!
//! UiPath events are decoded into typed row structs; turning those into Arrow through
//! `arrow_json`'s serializer wrote every row to a JSON tape and decoded the tape again,
//! 40 % of a file ingest's time (`perf record`), and the rows waited whole until then. Here
//! each row's fields go into the column builders as it is pushed, so only Arrow arrays wait.
//!
//! A field goes to the column of its name (fields flattened from another struct included);
//! columns a row does not name get a null. Values map to columns by type: strings to
//! `Utf8`, integers to `Int64`, `Date32` (days) or `Timestamp(Microsecond, _)`
//! (microseconds), floats to `Float64`, booleans to `Boolean`, `None` to null.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, RecordBatch,
    StringBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use datafusion::arrow::error::ArrowError;
use serde::Serialize;
use serde::ser::{self, Impossible, SerializeMap, SerializeStruct};

/// Rows of one schema, as record batches of at most `batch_rows` rows.
pub struct RowBuilder {
    schema: SchemaRef,
    columns: Vec<Column>,
    /// Column of each field name.
    index: HashMap<String, usize>,
    /// The column of the field in each position of the last row: rows of one struct
    /// name their fields in the same order, so a name compared is a lookup saved.
    order: Vec<usize>,
    /// Rows in the builders.
    rows: usize,
    batch_rows: usize,
    batches: Vec<RecordBatch>,
    /// Rows in `batches`.
    batched: usize,
}

enum Column {
    Utf8(StringBuilder),
    Int64(Int64Builder),
    Float64(Float64Builder),
    Boolean(BooleanBuilder),
    Date32(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder, Option<Arc<str>>),
}

impl Column {
    fn new(data_type: &DataType) -> Result<Column, ArrowError> {
        Ok(match data_type {
            DataType::Utf8 => Column::Utf8(StringBuilder::new()),
            DataType::Int64 => Column::Int64(Int64Builder::new()),
            DataType::Float64 => Column::Float64(Float64Builder::new()),
            DataType::Boolean => Column::Boolean(BooleanBuilder::new()),
            DataType::Date32 => Column::Date32(Date32Builder::new()),
            DataType::Timestamp(TimeUnit::Microsecond, tz) => {
                Column::Timestamp(TimestampMicrosecondBuilder::new(), tz.clone())
            }
            other => {
                return Err(ArrowError::NotYetImplemented(format!(
                    "rows into a column of type {other}"
                )));
            }
        })
    }

    fn len(&self) -> usize {
        use datafusion::arrow::array::ArrayBuilder;
        match self {
            Column::Utf8(b) => b.len(),
            Column::Int64(b) => b.len(),
            Column::Float64(b) => b.len(),
            Column::Boolean(b) => b.len(),
            Column::Date32(b) => b.len(),
            Column::Timestamp(b, _) => b.len(),
        }
    }

    fn append_null(&mut self) {
        match self {
            Column::Utf8(b) => b.append_null(),
            Column::Int64(b) => b.append_null(),
            Column::Float64(b) => b.append_null(),
            Column::Boolean(b) => b.append_null(),
            Column::Date32(b) => b.append_null(),
            Column::Timestamp(b, _) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Column::Utf8(b) => Arc::new(b.finish()),
            Column::Int64(b) => Arc::new(b.finish()),
            Column::Float64(b) => Arc::new(b.finish()),
            Column::Boolean(b) => Arc::new(b.finish()),
            Column::Date32(b) => Arc::new(b.finish()),
            Column::Timestamp(b, tz) => Arc::new(b.finish().with_timezone_opt(tz.clone())),
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Column::Utf8(_) => "Utf8",
            Column::Int64(_) => "Int64",
            Column::Float64(_) => "Float64",
            Column::Boolean(_) => "Boolean",
            Column::Date32(_) => "Date32",
            Column::Timestamp(..) => "Timestamp",
        }
    }
}

impl RowBuilder {
    /// Rows of `schema`, cut into batches of `batch_rows`.
    pub fn new(schema: SchemaRef, batch_rows: usize) -> Result<RowBuilder, ArrowError> {
        let columns = schema
            .fields()
            .iter()
            .map(|f| Column::new(f.data_type()))
            .collect::<Result<_, _>>()?;
        let index = schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name().clone(), i))
            .collect();
        Ok(RowBuilder {
            schema,
            columns,
            index,
            order: Vec::new(),
            rows: 0,
            batch_rows: batch_rows.max(1),
            batches: Vec::new(),
            batched: 0,
        })
    }

    /// Rows pushed and not taken.
    pub fn len(&self) -> usize {
        self.batched + self.rows
    }

    /// Appends `row`. A row whose fields do not fit the schema (a field of no column, a
    /// value of another type) is an error, and the builder is not to be used again: its
    /// columns may hold part of the row.
    pub fn push<R: Serialize>(&mut self, row: &R) -> Result<(), ArrowError> {
        row.serialize(RowSerializer {
            builder: self,
            position: 0,
            key: None,
        })
        .map_err(|e| ArrowError::InvalidArgumentError(e.0))?;
        self.rows += 1;
        for column in &mut self.columns {
            if column.len() < self.rows {
                column.append_null();
            }
        }
        if self.rows >= self.batch_rows {
            self.finish_batch()?;
        }
        Ok(())
    }

    fn finish_batch(&mut self) -> Result<(), ArrowError> {
        if self.rows == 0 {
            return Ok(());
        }
        let columns = self.columns.iter_mut().map(Column::finish).collect();
        self.batches
            .push(RecordBatch::try_new(self.schema.clone(), columns)?);
        self.batched += self.rows;
        self.rows = 0;
        Ok(())
    }

    /// The rows pushed since the last take, as batches; the builder starts empty again.
    pub fn take(&mut self) -> Result<Vec<RecordBatch>, ArrowError> {
        self.finish_batch()?;
        self.batched = 0;
        Ok(std::mem::take(&mut self.batches))
    }

    /// The column of field `name`, the row's field number `position`.
    fn find(&mut self, position: usize, name: &str) -> Result<usize, Failure> {
        if let Some(&i) = self.order.get(position)
            && self.schema.field(i).name() == name
        {
            return Ok(i);
        }
        let Some(&i) = self.index.get(name) else {
            return Err(Failure(format!("no column {name}")));
        };
        self.order.truncate(position);
        if self.order.len() == position {
            self.order.push(i);
        }
        Ok(i)
    }

    /// Column `i`, whose value comes next.
    fn column(&mut self, i: usize) -> Result<(&mut Column, &str), Failure> {
        let column = &mut self.columns[i];
        let name = self.schema.field(i).name().as_str();
        if column.len() > self.rows {
            return Err(Failure(format!("{name} given twice in a row")));
        }
        Ok((column, name))
    }
}

/// Why a row did not fit.
#[derive(Debug)]
struct Failure(String);

impl Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failure {}

impl ser::Error for Failure {
    fn custom<T: Display>(msg: T) -> Failure {
        Failure(msg.to_string())
    }
}

/// The methods of a serializer for the plain values it refuses, each answering `$refused`.
macro_rules! refuse_values {
    ($ok:ty; $refused:expr) => {
        refuse_values!($ok; $refused;
            serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32),
            serialize_i64(i64), serialize_u8(u8), serialize_u16(u16), serialize_u32(u32),
            serialize_u64(u64), serialize_f32(f32), serialize_f64(f64), serialize_char(char),
            serialize_bytes(&[u8]), serialize_unit_struct(&'static str));
        fn serialize_none(self) -> Result<$ok, Failure> {
            $refused
        }
        fn serialize_unit(self) -> Result<$ok, Failure> {
            $refused
        }
    };
    ($ok:ty; $refused:expr; $($method:ident($arg:ty)),*) => {
        $(fn $method(self, _: $arg) -> Result<$ok, Failure> {
            $refused
        })*
    };
}

/// The methods of a serializer for the compound values it refuses (enums with data,
/// sequences, tuples; with `maps`, maps and structs too), each answering `$refused` with
/// `$what` saying which it was. `$s` is `self`, passed in so that `$refused` may use it.
macro_rules! refuse_compounds {
    ($s:tt, $ok:ty, |$what:ident| $refused:expr) => {
        fn serialize_newtype_variant<T: ?Sized + Serialize>(
            $s,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<$ok, Failure> {
            let $what = "an enum";
            $refused
        }
        fn serialize_seq($s, _: Option<usize>) -> Result<Self::SerializeSeq, Failure> {
            let $what = "a sequence";
            $refused
        }
        fn serialize_tuple($s, _: usize) -> Result<Self::SerializeTuple, Failure> {
            let $what = "a tuple";
            $refused
        }
        fn serialize_tuple_struct(
            $s,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleStruct, Failure> {
            let $what = "a tuple";
            $refused
        }
        fn serialize_tuple_variant(
            $s,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, Failure> {
            let $what = "an enum";
            $refused
        }
        fn serialize_struct_variant(
            $s,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, Failure> {
            let $what = "an enum";
            $refused
        }
    };
    ($s:tt, $ok:ty, |$what:ident| $refused:expr, maps) => {
        refuse_compounds!($s, $ok, |$what| $refused);
        fn serialize_map($s, _: Option<usize>) -> Result<Self::SerializeMap, Failure> {
            let $what = "a map";
            $refused
        }
        fn serialize_struct($s, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Failure> {
            let $what = "a struct";
            $refused
        }
    };
}

/// A row: a struct, or a map (what `#[serde(flatten)]` makes of one).
struct RowSerializer<'b> {
    builder: &'b mut RowBuilder,
    /// The number of the field that comes next.
    position: usize,
    /// The column of a map entry whose value comes next.
    key: Option<usize>,
}

impl RowSerializer<'_> {
    /// The value of column `i` next.
    fn value<T: ?Sized + Serialize>(&mut self, i: usize, value: &T) -> Result<(), Failure> {
        self.position += 1;
        let (column, name) = self.builder.column(i)?;
        value.serialize(ValueSerializer { column, name })
    }
}

impl SerializeStruct for RowSerializer<'_> {
    type Ok = ();
    type Error = Failure;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Failure> {
        let i = self.builder.find(self.position, key)?;
        self.value(i, value)
    }

    fn end(self) -> Result<(), Failure> {
        Ok(())
    }
}

impl SerializeMap for RowSerializer<'_> {
    type Ok = ();
    type Error = Failure;

    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Failure> {
        self.key = Some(key.serialize(KeySerializer {
            builder: self.builder,
            position: self.position,
        })?);
        Ok(())
    }

    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Failure> {
        let i = self
            .key
            .take()
            .ok_or_else(|| Failure("a map value without its key".into()))?;
        self.value(i, value)
    }

    fn end(self) -> Result<(), Failure> {
        Ok(())
    }
}

/// What a row may not be.
fn not_a_row<T>(what: &str) -> Result<T, Failure> {
    Err(Failure(format!("a row is a struct or a map, not {what}")))
}

impl<'b> ser::Serializer for RowSerializer<'b> {
    type Ok = ();
    type Error = Failure;
    type SerializeSeq = Impossible<(), Failure>;
    type SerializeTuple = Impossible<(), Failure>;
    type SerializeTupleStruct = Impossible<(), Failure>;
    type SerializeTupleVariant = Impossible<(), Failure>;
    type SerializeMap = RowSerializer<'b>;
    type SerializeStruct = RowSerializer<'b>;
    type SerializeStructVariant = Impossible<(), Failure>;

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Failure> {
        Ok(self)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self, Failure> {
        Ok(self)
    }

    refuse_values!((); not_a_row("a value"));
    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<(), Failure> {
        not_a_row("a value")
    }
    fn serialize_str(self, _: &str) -> Result<(), Failure> {
        not_a_row("a value")
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<(), Failure> {
        not_a_row("a value")
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Failure> {
        value.serialize(self)
    }
    refuse_compounds!(self, (), |what| not_a_row(what));
}

/// A map key: a string, the name of a column, whose number it gives.
struct KeySerializer<'b> {
    builder: &'b mut RowBuilder,
    position: usize,
}

fn not_a_key<T>() -> Result<T, Failure> {
    Err(Failure("a row's keys are strings".into()))
}

impl ser::Serializer for KeySerializer<'_> {
    type Ok = usize;
    type Error = Failure;
    type SerializeSeq = Impossible<usize, Failure>;
    type SerializeTuple = Impossible<usize, Failure>;
    type SerializeTupleStruct = Impossible<usize, Failure>;
    type SerializeTupleVariant = Impossible<usize, Failure>;
    type SerializeMap = Impossible<usize, Failure>;
    type SerializeStruct = Impossible<usize, Failure>;
    type SerializeStructVariant = Impossible<usize, Failure>;

    fn serialize_str(self, v: &str) -> Result<usize, Failure> {
        self.builder.find(self.position, v)
    }

    refuse_values!(usize; not_a_key());
    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<usize, Failure> {
        not_a_key()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<usize, Failure> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<usize, Failure> {
        value.serialize(self)
    }
    refuse_compounds!(self, usize, |_what| not_a_key(), maps);
}

/// One field's value, into its column.
struct ValueSerializer<'c> {
    column: &'c mut Column,
    name: &'c str,
}

impl ValueSerializer<'_> {
    fn mismatch<T>(self, what: &str) -> Result<T, Failure> {
        Err(Failure(format!(
            "{} is {what}, its column {}",
            self.name,
            self.column.type_name()
        )))
    }

    fn integer(self, v: i64) -> Result<(), Failure> {
        match self.column {
            Column::Int64(b) => b.append_value(v),
            Column::Timestamp(b, _) => b.append_value(v),
            Column::Date32(b) => match i32::try_from(v) {
                Ok(v) => b.append_value(v),
                Err(_) => return self.mismatch("an integer out of the range of days"),
            },
            _ => return self.mismatch("an integer"),
        }
        Ok(())
    }
}

impl ser::Serializer for ValueSerializer<'_> {
    type Ok = ();
    type Error = Failure;
    type SerializeSeq = Impossible<(), Failure>;
    type SerializeTuple = Impossible<(), Failure>;
    type SerializeTupleStruct = Impossible<(), Failure>;
    type SerializeTupleVariant = Impossible<(), Failure>;
    type SerializeMap = Impossible<(), Failure>;
    type SerializeStruct = Impossible<(), Failure>;
    type SerializeStructVariant = Impossible<(), Failure>;

    fn serialize_none(self) -> Result<(), Failure> {
        self.column.append_null();
        Ok(())
    }
    fn serialize_unit(self) -> Result<(), Failure> {
        self.serialize_none()
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Failure> {
        value.serialize(self)
    }
    fn serialize_str(self, v: &str) -> Result<(), Failure> {
        match self.column {
            Column::Utf8(b) => b.append_value(v),
            _ => return self.mismatch("text"),
        }
        Ok(())
    }
    fn serialize_bool(self, v: bool) -> Result<(), Failure> {
        match self.column {
            Column::Boolean(b) => b.append_value(v),
            _ => return self.mismatch("a boolean"),
        }
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Failure> {
        self.integer(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<(), Failure> {
        self.integer(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<(), Failure> {
        self.integer(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<(), Failure> {
        self.integer(v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Failure> {
        self.integer(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), Failure> {
        self.integer(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<(), Failure> {
        self.integer(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<(), Failure> {
        match i64::try_from(v) {
            Ok(v) => self.integer(v),
            Err(_) => self.mismatch("an integer beyond Int64"),
        }
    }
    fn serialize_f32(self, v: f32) -> Result<(), Failure> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Failure> {
        match self.column {
            Column::Float64(b) => b.append_value(v),
            _ => return self.mismatch("a float"),
        }
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Failure> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Failure> {
        self.mismatch("bytes")
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Failure> {
        self.serialize_none()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Failure> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Failure> {
        value.serialize(self)
    }
    refuse_compounds!(self, (), |what| self.mismatch(what), maps);
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::{Date32Type, Field, Float64Type, Int64Type, Schema};

    use super::*;

    #[derive(Serialize)]
    struct Common {
        id: String,
        day: i32,
    }

    #[derive(Serialize)]
    struct Row {
        #[serde(flatten)]
        common: Common,
        at: Option<i64>,
        score: Option<f64>,
        ok: Option<bool>,
        note: Option<String>,
    }

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("note", DataType::Utf8, true),
            Field::new(
                "at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("score", DataType::Float64, true),
            Field::new("ok", DataType::Boolean, true),
            Field::new("unnamed", DataType::Int64, true),
            Field::new("day", DataType::Date32, false),
        ]))
    }

    fn row(i: i64) -> Row {
        Row {
            common: Common {
                id: format!("r{i}"),
                day: 20_000 + i as i32,
            },
            at: (i % 2 == 0).then_some(i * 1_000_000),
            score: Some(i as f64 / 2.0),
            ok: (i % 3 != 0).then_some(i % 3 == 1),
            note: None,
        }
    }

    #[test]
    fn rows_become_batches_by_field_name_with_nulls_where_absent() {
        let mut b = RowBuilder::new(schema(), 2).unwrap();
        for i in 0..5 {
            b.push(&row(i)).unwrap();
        }
        assert_eq!(b.len(), 5);
        let batches = b.take().unwrap();
        assert_eq!(b.len(), 0);
        assert_eq!(
            batches
                .iter()
                .map(RecordBatch::num_rows)
                .collect::<Vec<_>>(),
            [2, 2, 1]
        );
        let batch = datafusion::arrow::compute::concat_batches(&schema(), &batches).unwrap();
        let col = |n: &str| batch.column_by_name(n).unwrap().clone();
        assert_eq!(col("id").as_string::<i32>().value(3), "r3");
        assert_eq!(col("day").as_primitive::<Date32Type>().value(4), 20_004);
        let at = col("at");
        assert_eq!(
            at.data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        let at = at.as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>();
        assert_eq!(at.value(2), 2_000_000);
        assert!(at.is_null(1));
        assert_eq!(col("score").as_primitive::<Float64Type>().value(3), 1.5);
        let ok = col("ok");
        let ok = ok.as_boolean();
        assert!(ok.is_null(0) && ok.value(1) && !ok.value(2));
        assert_eq!(col("note").null_count(), 5);
        // A column no field names is null.
        assert_eq!(col("unnamed").as_primitive::<Int64Type>().null_count(), 5);
        // Taken again: nothing.
        b.push(&row(9)).unwrap();
        assert_eq!(b.take().unwrap()[0].num_rows(), 1);
    }

    #[test]
    fn rows_of_other_field_orders_go_to_the_same_columns() {
        #[derive(Serialize)]
        struct Reversed {
            note: Option<String>,
            day: i32,
            id: String,
        }
        let mut b = RowBuilder::new(schema(), 8).unwrap();
        b.push(&row(1)).unwrap();
        let reversed = Reversed {
            note: Some("n".into()),
            day: 7,
            id: "rev".into(),
        };
        b.push(&reversed).unwrap();
        b.push(&row(2)).unwrap();
        let batch = &b.take().unwrap()[0];
        let col = |n: &str| batch.column_by_name(n).unwrap().clone();
        let ids = col("id");
        let ids: Vec<&str> = ids.as_string::<i32>().iter().flatten().collect();
        assert_eq!(ids, ["r1", "rev", "r2"]);
        let days = col("day");
        let days = days.as_primitive::<Date32Type>();
        assert_eq!(days.values().to_vec(), [20_001, 7, 20_002]);
        assert_eq!(col("note").as_string::<i32>().value(1), "n");
        assert!(col("score").is_null(1) && !col("score").is_null(2));
    }

    #[test]
    fn fields_that_do_not_fit_are_errors() {
        #[derive(Serialize)]
        struct Stray {
            id: String,
            elsewhere: i64,
        }
        #[derive(Serialize)]
        struct Mistyped {
            id: i64,
        }
        let mut b = RowBuilder::new(schema(), 8).unwrap();
        let e = b
            .push(&Stray {
                id: "x".into(),
                elsewhere: 1,
            })
            .unwrap_err();
        assert!(e.to_string().contains("no column elsewhere"), "{e}");
        let mut b = RowBuilder::new(schema(), 8).unwrap();
        let e = b.push(&Mistyped { id: 1 }).unwrap_err();
        assert!(
            e.to_string().contains("id is an integer, its column Utf8"),
            "{e}"
        );
    }
}
