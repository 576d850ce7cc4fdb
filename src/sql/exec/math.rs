//! The math functions: in double precision (`sqrt`, `exp`, `ln`, `log`, `power`, `pi`,
//! `degrees`, `radians`, `sign`) and exact (`gcd`, `lcm`, `div`), with PostgreSQL 15's
//! answers and errors: the square root of a negative number and a power that is complex or
//! divides by zero are 2201F, the logarithm of zero or of a negative number 2201E, a finite
//! argument whose result is infinite or (for `exp` and `power`) rounds to zero 22003, a gcd
//! or lcm out of its type's range 22003, `div` by zero 22012. Infinities and NaN go through as
//! the C library answers them.

use rust_decimal::Decimal;

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::plan::scalar::ScalarFn;
use crate::sql::types::SqlType;
use crate::types::Value;

/// PostgreSQL's `RADIANS_PER_DEGREE`.
const RADIANS_PER_DEGREE: f64 = 0.017_453_292_519_943_295;

fn overflow() -> SqlError {
    SqlError::new(SqlState::NumericValueOutOfRange, "value out of range: overflow")
}

fn underflow() -> SqlError {
    SqlError::new(SqlState::NumericValueOutOfRange, "value out of range: underflow")
}

fn power_error(message: &str) -> SqlError {
    SqlError::new(SqlState::InvalidArgumentForPowerFunction, message)
}

/// A logarithm's argument checked as PostgreSQL checks it.
fn log_argument(x: f64) -> Result<f64, SqlError> {
    if x == 0.0 {
        return Err(SqlError::new(
            SqlState::InvalidArgumentForLogarithm,
            "cannot take logarithm of zero",
        ));
    }
    if x < 0.0 {
        return Err(SqlError::new(
            SqlState::InvalidArgumentForLogarithm,
            "cannot take logarithm of a negative number",
        ));
    }
    Ok(x)
}

/// `func` of `args` (as many as its signature has).
pub fn eval(func: ScalarFn, args: &[f64]) -> Result<f64, SqlError> {
    let x = args.first().copied().unwrap_or(0.0);
    Ok(match func {
        ScalarFn::Sqrt => {
            if x < 0.0 {
                return Err(power_error("cannot take square root of a negative number"));
            }
            x.sqrt()
        }
        ScalarFn::Exp => exp(x)?,
        ScalarFn::Ln => log_argument(x)?.ln(),
        ScalarFn::Log10 => log_argument(x)?.log10(),
        ScalarFn::Power => power(x, args.get(1).copied().unwrap_or(0.0))?,
        ScalarFn::Pi => std::f64::consts::PI,
        // as PostgreSQL computes them (Rust's to_degrees multiplies, which may differ in the
        // last digit)
        ScalarFn::Degrees => finite_or_overflow(x, x / RADIANS_PER_DEGREE)?,
        ScalarFn::Radians => finite_or_overflow(x, x * RADIANS_PER_DEGREE)?,
        ScalarFn::Sign => {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                0.0
            }
        }
        _ => 0.0,
    })
}

/// `gcd(a, b)` and `lcm(a, b)` of integers of type `ty` (never negative; out of the type's
/// range 22003), `div(a, b)` of numerics (the quotient truncated toward zero; by zero 22012).
pub fn exact(func: ScalarFn, a: &Value, b: &Value, ty: SqlType) -> Result<Value, SqlError> {
    let out_of_range =
        || SqlError::new(SqlState::NumericValueOutOfRange, format!("{} out of range", ty.name()));
    let fits = |v: i64| ty != SqlType::Int4 || i32::try_from(v).is_ok();
    match (func, a, b) {
        (ScalarFn::Gcd | ScalarFn::Lcm, Value::Int(a), Value::Int(b)) => {
            let (mut x, mut y) = (a.unsigned_abs(), b.unsigned_abs());
            while y != 0 {
                (x, y) = (y, x % y);
            }
            let result = match a.unsigned_abs().checked_div(x) {
                _ if func == ScalarFn::Gcd => x,
                // lcm(0, 0) is 0
                None => 0,
                Some(q) => q.checked_mul(b.unsigned_abs()).ok_or_else(out_of_range)?,
            };
            match i64::try_from(result) {
                Ok(v) if fits(v) => Ok(Value::Int(v)),
                _ => Err(out_of_range()),
            }
        }
        (ScalarFn::Div, a, b) => {
            let (Some(a), Some(b)) = (decimal(a), decimal(b)) else { return Ok(Value::Null) };
            if b.is_zero() {
                return Err(SqlError::new(SqlState::DivisionByZero, "division by zero"));
            }
            let q = a.checked_div(b).ok_or_else(out_of_range)?.trunc();
            // no negative zero (-3 / 4)
            Ok(Value::Numeric(if q.is_zero() { Decimal::ZERO } else { q }))
        }
        _ => Ok(Value::Null),
    }
}

fn decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::Int(i) => Some(Decimal::from(*i)),
        Value::Numeric(d) => Some(*d),
        _ => None,
    }
}

/// A finite argument's result must be finite.
fn finite_or_overflow(arg: f64, result: f64) -> Result<f64, SqlError> {
    if result.is_infinite() && arg.is_finite() { Err(overflow()) } else { Ok(result) }
}

fn exp(x: f64) -> Result<f64, SqlError> {
    if x.is_nan() || x.is_infinite() {
        // exp(-Infinity) is 0, exp(Infinity) Infinity, exp(NaN) NaN
        return Ok(x.exp());
    }
    let result = x.exp();
    if result.is_infinite() {
        Err(overflow())
    } else if result == 0.0 {
        Err(underflow())
    } else {
        Ok(result)
    }
}

fn power(x: f64, y: f64) -> Result<f64, SqlError> {
    if x.is_nan() || y.is_nan() {
        // 1 ^ NaN and NaN ^ 0 are 1, as in POSIX
        return Ok(if x == 1.0 || y == 0.0 { 1.0 } else { f64::NAN });
    }
    if x == 0.0 && y < 0.0 {
        return Err(power_error("zero raised to a negative power is undefined"));
    }
    if x < 0.0 && y.is_finite() && y.floor() != y {
        return Err(power_error(
            "a negative number raised to a non-integer power yields a complex result",
        ));
    }
    let result = x.powf(y);
    if result.is_infinite() && x.is_finite() && y.is_finite() {
        Err(overflow())
    } else if result == 0.0 && x != 0.0 && x.is_finite() && y.is_finite() {
        Err(underflow())
    } else {
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_postgres_sqlstates() {
        let code = |f, a: &[f64]| eval(f, a).unwrap_err().code.code();
        assert_eq!(code(ScalarFn::Sqrt, &[-1.0]), "2201F");
        assert_eq!(code(ScalarFn::Ln, &[0.0]), "2201E");
        assert_eq!(code(ScalarFn::Log10, &[-2.0]), "2201E");
        assert_eq!(code(ScalarFn::Exp, &[1000.0]), "22003");
        assert_eq!(code(ScalarFn::Exp, &[-1000.0]), "22003");
        assert_eq!(code(ScalarFn::Power, &[0.0, -1.0]), "2201F");
        assert_eq!(code(ScalarFn::Power, &[-8.0, 0.5]), "2201F");
        assert_eq!(code(ScalarFn::Power, &[10.0, 400.0]), "22003");
        assert_eq!(eval(ScalarFn::Power, &[-8.0, 3.0]).unwrap(), -512.0);
        assert_eq!(eval(ScalarFn::Exp, &[f64::NEG_INFINITY]).unwrap(), 0.0);
    }

    #[test]
    fn gcd_lcm_div_are_exact() {
        let int = |v: i64| Value::Int(v);
        let gcd = |a, b, ty| exact(ScalarFn::Gcd, &int(a), &int(b), ty);
        assert_eq!(gcd(-12, 18, SqlType::Int4).unwrap(), int(6));
        assert_eq!(gcd(0, 0, SqlType::Int4).unwrap(), int(0));
        assert_eq!(gcd(i32::MIN as i64, 0, SqlType::Int4).unwrap_err().code.code(), "22003");
        assert_eq!(gcd(i64::MIN, 0, SqlType::Int8).unwrap_err().code.code(), "22003");
        let lcm = exact(ScalarFn::Lcm, &int(4), &int(-6), SqlType::Int4).unwrap();
        assert_eq!(lcm, int(12));
        let div = exact(ScalarFn::Div, &int(-7), &int(2), SqlType::Int4).unwrap();
        assert_eq!(div, Value::Numeric(Decimal::from(-3)));
        let by_zero = exact(ScalarFn::Div, &int(1), &int(0), SqlType::Int4).unwrap_err();
        assert_eq!(by_zero.code.code(), "22012");
    }
}
