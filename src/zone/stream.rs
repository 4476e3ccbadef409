//! Reading a large GeoJSON document one feature at a time: only the feature being parsed is in
//! memory, never the whole document (a million zones are several hundred MB of text and ten
//! times that as a `serde_json::Value` tree).

use super::geojson::{parse_feature, FeatureError, ParseOptions};
use super::ZoneDraft;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// Calls `f` with each feature's parse result, in order, as the reader is read. Accepts a
/// FeatureCollection (its `features` streamed) or a single Feature; `Err` when the document is
/// not JSON or neither of those, or when `f` asks to stop (its error).
pub fn for_each_feature<R: std::io::Read>(
    reader: R,
    opts: ParseOptions,
    mut f: impl FnMut(Result<ZoneDraft, FeatureError>) -> Result<(), String>,
) -> Result<usize, String> {
    let mut de =
        serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(1 << 20, reader));
    let mut stopped = None;
    let n = de
        .deserialize_map(Doc {
            opts,
            f: &mut f,
            stopped: &mut stopped,
        })
        .map_err(|e| match stopped.take() {
            Some(why) => why,
            None => format!("not valid GeoJSON: {e}"),
        })?;
    de.end()
        .map_err(|e| format!("not valid JSON after the document: {e}"))?;
    n
}

type Callback<'a> = &'a mut dyn FnMut(Result<ZoneDraft, FeatureError>) -> Result<(), String>;

struct Doc<'a> {
    opts: ParseOptions,
    f: Callback<'a>,
    /// The callback's reason when it stopped the stream (serde only carries a message).
    stopped: &'a mut Option<String>,
}

impl<'de> Visitor<'de> for Doc<'_> {
    type Value = Result<usize, String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a GeoJSON Feature or FeatureCollection object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut kind: Option<String> = None;
        let mut streamed: Option<usize> = None;
        // Members other than `features`, kept for a single Feature (small by nature).
        let mut rest = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "features" => {
                    streamed = Some(map.next_value_seed(Features {
                        opts: self.opts,
                        f: &mut *self.f,
                        stopped: &mut *self.stopped,
                    })?);
                }
                "type" => {
                    let v: Value = map.next_value()?;
                    kind = v.as_str().map(str::to_string);
                    rest.insert(key, v);
                }
                _ if kind.as_deref() == Some("FeatureCollection") => {
                    map.next_value::<IgnoredAny>()?;
                }
                _ => {
                    rest.insert(key, map.next_value()?);
                }
            }
        }
        Ok(match (kind.as_deref(), streamed) {
            (Some("FeatureCollection"), Some(n)) => Ok(n),
            (Some("FeatureCollection"), None) => {
                Err("a FeatureCollection needs a \"features\" array".into())
            }
            (Some("Feature"), _) => {
                let r = parse_feature(0, &Value::Object(rest), self.opts);
                (self.f)(r).map(|()| 1)
            }
            (Some(other), _) => Err(format!(
                "expected a GeoJSON Feature or FeatureCollection, got type {other:?}"
            )),
            (None, _) => {
                Err("expected a GeoJSON Feature or FeatureCollection (no \"type\" member)".into())
            }
        })
    }
}

struct Features<'a> {
    opts: ParseOptions,
    f: Callback<'a>,
    stopped: &'a mut Option<String>,
}

impl<'de> DeserializeSeed<'de> for Features<'_> {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Features<'_> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a \"features\" array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let mut i = 0;
        while let Some(v) = seq.next_element::<Value>()? {
            if let Err(why) = (self.f)(parse_feature(i, &v, self.opts)) {
                *self.stopped = Some(why.clone());
                return Err(serde::de::Error::custom(why));
            }
            i += 1;
        }
        Ok(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Result<(usize, Vec<String>), String> {
        let mut out = Vec::new();
        let n = for_each_feature(text.as_bytes(), ParseOptions::default(), |r| {
            out.push(match r {
                Ok(d) => format!("ok {}", d.name),
                Err(e) => format!("err {} {}", e.index, e.reason),
            });
            Ok(())
        })?;
        Ok((n, out))
    }

    const SQ: &str = r#"{"type":"Polygon","coordinates":[[[126.4,41.9],[126.401,41.9],[126.401,41.901],[126.4,41.901],[126.4,41.9]]]}"#;

    #[test]
    fn a_collection_is_streamed_in_order_with_reasons() {
        let text = format!(
            r#"{{"name":"x","features":[
              {{"type":"Feature","properties":{{"kind":"hotspot","name":"A"}},"geometry":{SQ}}},
              {{"type":"Feature","properties":{{"kind":"hotspot"}},"geometry":{SQ}}}
            ],"type":"FeatureCollection","crs":{{"type":"name"}}}}"#
        );
        let (n, out) = run(&text).unwrap();
        assert_eq!(n, 2);
        assert_eq!(out[0], "ok A");
        assert!(out[1].starts_with("err 1 "), "{}", out[1]);
    }

    #[test]
    fn a_single_feature_and_bad_documents() {
        let one = format!(
            r#"{{"type":"Feature","properties":{{"kind":"hotspot","name":"B"}},"geometry":{SQ}}}"#
        );
        assert_eq!(run(&one).unwrap(), (1, vec!["ok B".to_string()]));
        assert!(run(r#"{"type":"FeatureCollection"}"#)
            .unwrap_err()
            .contains("needs a \"features\" array"));
        assert!(run(r#"{"type":"Point"}"#).unwrap_err().contains("got type"));
        assert!(run(r#"{"features":[]"#)
            .unwrap_err()
            .contains("not valid GeoJSON"));
        assert!(run("[1]").unwrap_err().contains("not valid GeoJSON"));
    }

    #[test]
    fn the_callback_can_stop_the_stream() {
        let text = format!(
            r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{"kind":"hotspot","name":"A"}},"geometry":{SQ}}},{{}}]}}"#
        );
        let mut seen = 0;
        let e = for_each_feature(text.as_bytes(), ParseOptions::default(), |_| {
            seen += 1;
            Err("enough".into())
        })
        .unwrap_err();
        assert_eq!((seen, e.as_str()), (1, "enough"));
    }
}
