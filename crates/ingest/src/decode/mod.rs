//! Decoding every source shares: times and their plausible range, text that is not
//! UTF-8, answers of a shape their endpoint never has, and rows built from typed records
//! into Arrow.

pub(crate) mod rows;
mod shape;
mod time;
mod utf8;

use datafusion::arrow::array::StringArray;

pub use shape::{Unexpected, keys_of};
pub use time::{MAX_DURATION_MS, TimeRange, bounded, parse_timestamp};
pub(crate) use time::{Stamp, epoch_days};
pub(crate) use utf8::{escape_invalid_utf8, mend_utf8, not_utf8, unmended_offset};

/// A column of `n` copies of `value`, for `control_room` and friends.
pub(crate) fn constant(value: &str, n: usize) -> StringArray {
    StringArray::from_iter_values(std::iter::repeat_n(value, n))
}
