//! The built-in scalar functions that take plain values and answer one ([`ScalarFn`]): string
//! functions (`split_part`, `lpad`, `format`, `md5`, ...), date-time constructors and
//! formatting (`make_date`, `to_char`, `to_date`, `to_timestamp`, `age`), jsonb builders and
//! inspectors (`jsonb_build_object`, `jsonb_typeof`, ...), the double precision math
//! functions (`sqrt`, `exp`, `ln`, `log`, `power`, `pi`, ...; not `cbrt`, whose last digit
//! Rust's and the C library's disagree on) and `pg_typeof`. Each has a fixed
//! signature ([`signature`]); the binder coerces the arguments to it, and `exec/scalar.rs`
//! evaluates them.
//!
//! Invariant: a name listed here with the wrong number of arguments is 42883, as in
//! PostgreSQL; evaluation never panics on any argument.

use crate::sql::types::{SqlType, array_of};

/// The internal functions the jsonb set-returning functions are bound with (an unnest of
/// their arrays; `plan/bind/table_functions.rs`).
pub const JSONB_ELEMENTS: &str = "isola_jsonb_elements";
pub const JSONB_ELEMENTS_TEXT: &str = "isola_jsonb_elements_text";
pub const JSONB_KEYS: &str = "isola_jsonb_keys";
pub const JSONB_VALUES: &str = "isola_jsonb_values";
pub const JSONB_VALUES_TEXT: &str = "isola_jsonb_values_text";

/// A built-in scalar function (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarFn {
    SplitPart,
    Left,
    Right,
    Lpad,
    Rpad,
    Repeat,
    Reverse,
    Initcap,
    Strpos,
    OctetLength,
    ConcatWs,
    Md5,
    Translate,
    StartsWith,
    Chr,
    Ascii,
    Format,
    QuoteNullable,
    /// `pg_sleep(seconds)`: waits, then answers the empty text (PostgreSQL's `void` prints
    /// so).
    PgSleep,
    /// `pg_typeof(x)`: the name of `x`'s type (the binder makes it a constant).
    PgTypeof,
    MakeDate,
    MakeInterval,
    /// `to_char(v, format)` of a timestamp, a date, an interval or a number.
    ToChar,
    ToDate,
    /// `to_timestamp(text, format)`.
    ToTimestamp,
    /// `to_timestamp(epoch seconds)`.
    ToTimestampEpoch,
    Age,
    JustifyDays,
    JustifyHours,
    JustifyInterval,
    JsonbBuildObject,
    JsonbBuildArray,
    ToJsonb,
    JsonbTypeof,
    JsonbArrayLength,
    /// `a || b` of two jsonb values.
    JsonbConcat,
    /// `doc - key`, `doc - index`.
    JsonbDelete,
    /// `jsonb_set(doc, path, new [, create_missing])`.
    JsonbSet,
    /// `doc #- path`.
    JsonbDeletePath,
    JsonbStripNulls,
    JsonbPretty,
    /// The elements of a jsonb array as a `jsonb[]` (as text: a `text[]`), the keys of an
    /// object as a `text[]`, its values as a `jsonb[]` (as text: a `text[]`): what
    /// `jsonb_array_elements[_text]`, `jsonb_object_keys` and `jsonb_each[_text]` unnest.
    JsonbElements {
        text: bool,
    },
    JsonbKeys,
    JsonbValues {
        text: bool,
    },
    /// The double precision math functions (`exec/math.rs`).
    Sqrt,
    Exp,
    Ln,
    Log10,
    Power,
    Pi,
    Degrees,
    Radians,
    Sign,
    /// `gcd`, `lcm` of integers and `div` (the integral quotient, a numeric), bound by
    /// `plan/bind/scalar_functions.rs` (`exec/math.rs`).
    Gcd,
    Lcm,
    Div,
}

impl ScalarFn {
    /// Whether PostgreSQL also has the function over numeric (answering in numeric, with
    /// its own precision): a numeric argument is then refused here rather than answered in
    /// double precision.
    pub fn has_numeric_variant(self) -> bool {
        matches!(
            self,
            ScalarFn::Sqrt
                | ScalarFn::Exp
                | ScalarFn::Ln
                | ScalarFn::Log10
                | ScalarFn::Power
                | ScalarFn::Sign
        )
    }
}

/// What a function's arguments are coerced to: a type, or any type left as it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    Is(SqlType),
    Any,
}

/// The function a name and argument count denote: the function, its argument types (the last
/// repeated for variadic ones) and its result type. `None` when no function has the name;
/// `Some(None)` when one has it but not with `argc` arguments.
#[allow(clippy::type_complexity)]
pub fn signature(name: &str, argc: usize) -> Option<Option<(ScalarFn, Vec<Arg>, SqlType)>> {
    use Arg::{Any, Is};
    use SqlType::{Bool, Date, Float8, Int4, Interval, Jsonb, Text, Timestamptz};
    let fixed = |f: ScalarFn, args: &[Arg], ret: SqlType, counts: &[usize]| {
        counts.contains(&argc).then(|| (f, args[..argc.min(args.len())].to_vec(), ret))
    };
    let variadic = |f: ScalarFn, first: &[Arg], rest: Arg, min: usize, ret: SqlType| {
        (argc >= min).then(|| {
            let mut args = first[..argc.min(first.len())].to_vec();
            args.extend(std::iter::repeat_n(rest, argc.saturating_sub(first.len())));
            (f, args, ret)
        })
    };
    let t = Is(Text);
    let i = Is(Int4);
    let f = Is(Float8);
    Some(match name {
        "split_part" => fixed(ScalarFn::SplitPart, &[t, t, i], Text, &[3]),
        "left" => fixed(ScalarFn::Left, &[t, i], Text, &[2]),
        "right" => fixed(ScalarFn::Right, &[t, i], Text, &[2]),
        "lpad" => fixed(ScalarFn::Lpad, &[t, i, t], Text, &[2, 3]),
        "rpad" => fixed(ScalarFn::Rpad, &[t, i, t], Text, &[2, 3]),
        "repeat" => fixed(ScalarFn::Repeat, &[t, i], Text, &[2]),
        "reverse" => fixed(ScalarFn::Reverse, &[t], Text, &[1]),
        "initcap" => fixed(ScalarFn::Initcap, &[t], Text, &[1]),
        "strpos" => fixed(ScalarFn::Strpos, &[t, t], Int4, &[2]),
        "concat_ws" => variadic(ScalarFn::ConcatWs, &[t], Any, 2, Text),
        "octet_length" => fixed(ScalarFn::OctetLength, &[Any], Int4, &[1]),
        "md5" => fixed(ScalarFn::Md5, &[t], Text, &[1]),
        "translate" => fixed(ScalarFn::Translate, &[t, t, t], Text, &[3]),
        "starts_with" => fixed(ScalarFn::StartsWith, &[t, t], Bool, &[2]),
        "chr" => fixed(ScalarFn::Chr, &[i], Text, &[1]),
        "ascii" => fixed(ScalarFn::Ascii, &[t], Int4, &[1]),
        "format" => variadic(ScalarFn::Format, &[t], Any, 1, Text),
        // quote_ident and quote_literal are the catalog's (`pg_catalog/functions.rs`)
        "quote_nullable" => fixed(ScalarFn::QuoteNullable, &[Any], Text, &[1]),
        "pg_sleep" => fixed(ScalarFn::PgSleep, &[Is(Float8)], Text, &[1]),
        "pg_typeof" => fixed(ScalarFn::PgTypeof, &[Any], Text, &[1]),
        "make_date" => fixed(ScalarFn::MakeDate, &[i, i, i], Date, &[3]),
        "make_interval" => fixed(
            ScalarFn::MakeInterval,
            &[i, i, i, i, i, i, Is(Float8)],
            Interval,
            &[0, 1, 2, 3, 4, 5, 6, 7],
        ),
        "to_char" => fixed(ScalarFn::ToChar, &[Any, t], Text, &[2]),
        "to_date" => fixed(ScalarFn::ToDate, &[t, t], Date, &[2]),
        "to_timestamp" if argc == 1 => {
            fixed(ScalarFn::ToTimestampEpoch, &[Is(Float8)], Timestamptz, &[1])
        }
        "to_timestamp" => fixed(ScalarFn::ToTimestamp, &[t, t], Timestamptz, &[2]),
        "age" => fixed(ScalarFn::Age, &[Any, Any], Interval, &[2]),
        "justify_days" => fixed(ScalarFn::JustifyDays, &[Is(Interval)], Interval, &[1]),
        "justify_hours" => fixed(ScalarFn::JustifyHours, &[Is(Interval)], Interval, &[1]),
        "justify_interval" => fixed(ScalarFn::JustifyInterval, &[Is(Interval)], Interval, &[1]),
        "jsonb_build_object" => variadic(ScalarFn::JsonbBuildObject, &[], Any, 0, Jsonb),
        "jsonb_build_array" => variadic(ScalarFn::JsonbBuildArray, &[], Any, 0, Jsonb),
        "to_jsonb" => fixed(ScalarFn::ToJsonb, &[Any], Jsonb, &[1]),
        "jsonb_typeof" => fixed(ScalarFn::JsonbTypeof, &[Is(Jsonb)], Text, &[1]),
        JSONB_ELEMENTS => {
            fixed(ScalarFn::JsonbElements { text: false }, &[Is(Jsonb)], array_of(Jsonb), &[1])
        }
        JSONB_ELEMENTS_TEXT => {
            fixed(ScalarFn::JsonbElements { text: true }, &[Is(Jsonb)], array_of(Text), &[1])
        }
        JSONB_KEYS => fixed(ScalarFn::JsonbKeys, &[Is(Jsonb)], array_of(Text), &[1]),
        JSONB_VALUES => {
            fixed(ScalarFn::JsonbValues { text: false }, &[Is(Jsonb)], array_of(Jsonb), &[1])
        }
        JSONB_VALUES_TEXT => {
            fixed(ScalarFn::JsonbValues { text: true }, &[Is(Jsonb)], array_of(Text), &[1])
        }
        "jsonb_array_length" => fixed(ScalarFn::JsonbArrayLength, &[Is(Jsonb)], Int4, &[1]),
        "jsonb_set" => fixed(
            ScalarFn::JsonbSet,
            &[Is(Jsonb), Is(array_of(Text)), Is(Jsonb), Is(Bool)],
            Jsonb,
            &[3, 4],
        ),
        "jsonb_strip_nulls" => fixed(ScalarFn::JsonbStripNulls, &[Is(Jsonb)], Jsonb, &[1]),
        "jsonb_pretty" => fixed(ScalarFn::JsonbPretty, &[Is(Jsonb)], Text, &[1]),
        "sqrt" => fixed(ScalarFn::Sqrt, &[f], Float8, &[1]),
        "exp" => fixed(ScalarFn::Exp, &[f], Float8, &[1]),
        "ln" => fixed(ScalarFn::Ln, &[f], Float8, &[1]),
        // log(b, x) is numeric-only in PostgreSQL: not here
        "log" | "log10" => fixed(ScalarFn::Log10, &[f], Float8, &[1]),
        "power" | "pow" => fixed(ScalarFn::Power, &[f, f], Float8, &[2]),
        "pi" => fixed(ScalarFn::Pi, &[], Float8, &[0]),
        "degrees" => fixed(ScalarFn::Degrees, &[f], Float8, &[1]),
        "radians" => fixed(ScalarFn::Radians, &[f], Float8, &[1]),
        "sign" => fixed(ScalarFn::Sign, &[f], Float8, &[1]),
        _ => return None,
    })
}
