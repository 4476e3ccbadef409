//! `Problem`: what is wrong with something a client sent, for people (English `message`) and
//! for programs (a stable machine `code` and its `params`), so that a client can word it in its
//! user's language. Domain checks (categories, statuses, passwords, webhooks, query parameters)
//! return one; the HTTP layer picks the status and sends the code with it. Codes never change
//! meaning; new ones may be added.

use serde::Serialize;
use serde_json::{json, Value};
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub code: &'static str,
    /// A JSON object.
    pub params: Value,
    pub message: String,
}

impl Problem {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Problem {
            code,
            params: json!({}),
            message: message.into(),
        }
    }

    /// This problem with the parameter `key` set to `value`.
    pub fn with(mut self, key: &str, value: impl Serialize) -> Self {
        self.params[key] = serde_json::to_value(value).unwrap_or(Value::Null);
        self
    }

    /// The same problem with `prefix: ` before the message (which parameter it came from).
    pub fn in_param(mut self, key: &str) -> Self {
        self.message = format!("{key}: {}", self.message);
        if self.params.get("param").is_none() {
            self.params["param"] = json!(key);
        }
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_and_prefix() {
        let p = Problem::new("unknown_status", "unknown status \"x\"")
            .with("value", "x")
            .in_param("status");
        assert_eq!(p.to_string(), "status: unknown status \"x\"");
        assert_eq!(p.params, json!({"value": "x", "param": "status"}));
    }
}
