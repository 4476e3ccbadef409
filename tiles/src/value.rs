//! Feature property values.

/// A feature property value, as stored in an MVT layer's value table.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// UTF-8 text (encoded as `string_value`).
    String(String),
    /// Signed integer (encoded as `uint_value` when non-negative, else `sint_value`).
    Int(i64),
    /// 64-bit float (encoded as `double_value`).
    Float(f64),
    /// Boolean (encoded as `bool_value`).
    Bool(bool),
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::String(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
