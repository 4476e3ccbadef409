//! JSON values written as the XML of GeoReport v2: an array becomes repeated elements named
//! after the singular of its key (`services` → `<service>`), null an empty element.

use serde_json::Value;

/// The element name of one item of the array `plural`.
fn singular(plural: &str) -> &str {
    match plural {
        "service_requests" => "request",
        "errors" => "error",
        other => other.strip_suffix('s').unwrap_or(other),
    }
}

fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry are dropped rather than producing a broken document.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
}

fn element(name: &str, v: &Value, out: &mut String) {
    match v {
        Value::Null => {
            out.push('<');
            out.push_str(name);
            out.push_str("/>");
        }
        Value::Array(items) => {
            out.push_str(&format!("<{name}>"));
            let item = singular(name);
            for i in items {
                element(item, i, out);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::Object(m) => {
            out.push_str(&format!("<{name}>"));
            for (k, v) in m {
                element(k, v, out);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::String(s) => {
            out.push_str(&format!("<{name}>"));
            escape(s, out);
            out.push_str(&format!("</{name}>"));
        }
        other => out.push_str(&format!("<{name}>{other}</{name}>")),
    }
}

/// An XML document with `root` as its element.
pub fn document(root: &str, v: &Value) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    element(root, v, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arrays_repeat_singular_elements() {
        let doc = document(
            "service_requests",
            &json!([{"service_request_id": "1", "note": "a<b & c", "x": null}]),
        );
        assert_eq!(
            doc,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><service_requests><request><service_request_id>1</service_request_id><note>a&lt;b &amp; c</note><x/></request></service_requests>"
        );
        assert!(document("discovery", &json!({"formats": ["text/xml"]}))
            .contains("<formats><format>text/xml</format></formats>"));
    }
}
