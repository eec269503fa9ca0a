//! Bytes to an order-preserving JSON tree, and the strict reader the importers walk
//! it with.
//!
//! `serde_json::Value` sorts object keys and keeps only the last of two equal keys.
//! The importer needs neither: problems are reported in document order (so "the first
//! unsupported feature" is the one a person reading the file meets first), and a
//! duplicate key is refused rather than silently resolved. Hence this small tree.
//!
//! Encodings: UTF-8 with or without a byte-order mark, and UTF-16 LE or BE with a
//! byte-order mark (what Windows PowerShell's `Out-File` and `Set-Content` write).

use crate::error::{Error, Problem, ProblemKind};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// A JSON value whose objects keep their keys in document order, duplicates included.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// "Empty": `null`, `false`, `""`, `[]` or `{}` — a field an export carries without
    /// using it.
    pub(crate) fn is_empty(&self) -> bool {
        match self {
            Json::Null | Json::Bool(false) => true,
            Json::String(s) => s.is_empty(),
            Json::Array(a) => a.is_empty(),
            Json::Object(o) => o.iter().all(|(k, v)| is_annotation(k) || v.is_empty()),
            _ => false,
        }
    }

    /// The JSON type's name, for error messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Json;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_none<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
                Ok(Json::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Json, E> {
                Ok(Json::Number(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Json, E> {
                Ok(Json::Number(n.into()))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Json, E> {
                serde_json::Number::from_f64(n)
                    .map(Json::Number)
                    .ok_or_else(|| E::custom("a number that is not finite"))
            }
            fn visit_str<E>(self, s: &str) -> Result<Json, E> {
                Ok(Json::String(s.to_owned()))
            }
            fn visit_string<E>(self, s: String) -> Result<Json, E> {
                Ok(Json::String(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = seq.next_element()? {
                    v.push(x);
                }
                Ok(Json::Array(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
                let mut v = Vec::new();
                while let Some((k, x)) = map.next_entry::<String, Json>()? {
                    v.push((k, x));
                }
                Ok(Json::Object(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// Decodes `bytes` (UTF-8 ± BOM, UTF-16 LE/BE with BOM) and parses one JSON document.
pub(crate) fn parse_bytes(bytes: &[u8]) -> Result<Json, Error> {
    let text = decode(bytes)?;
    serde_json::from_str::<Json>(&text).map_err(|e| {
        Error::one(Problem::new(
            "$",
            ProblemKind::Syntax,
            format!(
                "the file is not valid JSON (line {}, column {}: {e}); fix the syntax and import it again",
                e.line(),
                e.column()
            ),
        ))
    })
}

fn decode(bytes: &[u8]) -> Result<String, Error> {
    let bad = |what: &str| {
        Error::one(Problem::new(
            "$",
            ProblemKind::Syntax,
            format!("the file is not valid {what}; save it as UTF-8 (or UTF-16 with a byte-order mark) and import it again"),
        ))
    };
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8(rest.to_vec()).map_err(|_| bad("UTF-8"));
    }
    let utf16 = |rest: &[u8], le: bool| -> Result<String, Error> {
        if rest.len() & 1 == 1 {
            return Err(bad("UTF-16 (odd number of bytes)"));
        }
        let units = rest.chunks_exact(2).map(|c| {
            if le {
                u16::from_le_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], c[1]])
            }
        });
        char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .map_err(|_| bad("UTF-16"))
    };
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, true);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, false);
    }
    if bytes.len() >= 2 && (bytes[0] == 0 || bytes[1] == 0) {
        return Err(bad("UTF-8: it looks like UTF-16 without a byte-order mark"));
    }
    String::from_utf8(bytes.to_vec()).map_err(|_| bad("UTF-8"))
}

/// OData annotations and action keys, which every importer accepts and ignores:
/// keys starting with `@odata.`, keys containing `@odata.` (`state@odata.type`,
/// `authenticationStrength@odata.context`), and `#microsoft.graph.` action keys
/// (`"#microsoft.graph.restore": {…}`).
pub(crate) fn is_annotation(key: &str) -> bool {
    key.contains("@odata.") || key.starts_with("#microsoft.graph.")
}

/// A JSON path such as `$[3].conditions.users.includeGroups[0]`.
pub(crate) fn key_path(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if plain {
        format!("{parent}.{key}")
    } else {
        format!("{parent}[{}]", serde_json::Value::String(key.to_owned()))
    }
}

/// `parent[i]`.
pub(crate) fn index_path(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

/// The fields of the object `value` at `path`, in document order; a problem (and
/// `None`) when it is not an object. Duplicate keys are reported.
pub(crate) fn object<'a>(
    value: &'a Json,
    path: &str,
    what: &str,
    p: &mut Vec<Problem>,
) -> Option<&'a [(String, Json)]> {
    match value {
        Json::Object(fields) => {
            for (i, (k, _)) in fields.iter().enumerate() {
                if fields[..i].iter().any(|(e, _)| e == k) {
                    p.push(Problem::new(
                        key_path(path, k),
                        ProblemKind::Invalid,
                        "this key appears twice in the object; keep one",
                    ));
                }
            }
            Some(fields)
        }
        other => {
            p.push(Problem::new(
                path,
                ProblemKind::Invalid,
                format!("expected {what} (an object), found {}", other.kind()),
            ));
            None
        }
    }
}

/// The `@odata.type` annotation of an object's fields, if any.
pub(crate) fn odata_type(fields: &[(String, Json)]) -> Option<&str> {
    fields.iter().find_map(|(k, v)| match (k.as_str(), v) {
        ("@odata.type", Json::String(s)) => Some(s.as_str()),
        _ => None,
    })
}

/// The problem for a key that is not in Graph's schema of `what`.
pub(crate) fn unknown_key(path: &str, key: &str, what: &str) -> Problem {
    Problem::new(
        key_path(path, key),
        ProblemKind::UnknownKey,
        format!(
            "`{key}` is not a property of Graph's {what} (names are case-sensitive); remove it or correct its spelling"
        ),
    )
}

/// A string at `path` (`null` → `None`).
pub(crate) fn opt_string(v: Option<&Json>, path: &str, p: &mut Vec<Problem>) -> Option<String> {
    match v {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => Some(s.clone()),
        Some(other) => {
            p.push(Problem::new(
                path,
                ProblemKind::Invalid,
                format!("expected a string, found {}", other.kind()),
            ));
            None
        }
    }
}

/// A boolean at `path` (`null` or absent → `None`).
pub(crate) fn opt_bool(v: Option<&Json>, path: &str, p: &mut Vec<Problem>) -> Option<bool> {
    match v {
        None | Some(Json::Null) => None,
        Some(Json::Bool(b)) => Some(*b),
        Some(other) => {
            p.push(Problem::new(
                path,
                ProblemKind::Invalid,
                format!("expected true or false, found {}", other.kind()),
            ));
            None
        }
    }
}

/// An array of strings at `path` (`null` or absent → empty). Each element is returned
/// with its path.
pub(crate) fn string_list(
    v: Option<&Json>,
    path: &str,
    p: &mut Vec<Problem>,
) -> Vec<(String, String)> {
    match v {
        None | Some(Json::Null) => Vec::new(),
        Some(Json::Array(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, x)| match x {
                Json::String(s) => Some((index_path(path, i), s.clone())),
                other => {
                    p.push(Problem::new(
                        index_path(path, i),
                        ProblemKind::Invalid,
                        format!("expected a string, found {}", other.kind()),
                    ));
                    None
                }
            })
            .collect(),
        Some(other) => {
            p.push(Problem::new(
                path,
                ProblemKind::Invalid,
                format!("expected an array of strings, found {}", other.kind()),
            ));
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_encoding_windows_writes() {
        let text = r#"{"a": "å"}"#;
        let mut le = vec![0xFF, 0xFE];
        let mut be = vec![0xFE, 0xFF];
        for u in text.encode_utf16() {
            le.extend(u.to_le_bytes());
            be.extend(u.to_be_bytes());
        }
        let mut bom8 = vec![0xEF, 0xBB, 0xBF];
        bom8.extend(text.as_bytes());
        let want = Json::Object(vec![("a".into(), Json::String("å".into()))]);
        for bytes in [text.as_bytes().to_vec(), bom8, le, be] {
            assert_eq!(parse_bytes(&bytes).ok(), Some(want.clone()));
        }
    }

    #[test]
    fn refuses_utf16_without_bom_and_bad_json_with_line() {
        let mut le = Vec::new();
        for u in "{}".encode_utf16() {
            le.extend(u.to_le_bytes());
        }
        let e = parse_bytes(&le)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("byte-order mark"), "{e}");
        let e = parse_bytes(b"{\n\"a\": }")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn keeps_document_order_and_duplicates() {
        let v = parse_bytes(br#"{"b":1,"a":2,"b":3}"#).ok();
        let Some(Json::Object(f)) = v else {
            panic!("not an object")
        };
        let keys: Vec<&str> = f.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b", "a", "b"]);
        let mut p = Vec::new();
        let value = Json::Object(f);
        let _ = object(&value, "$", "test", &mut p);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].path, "$.b");
    }

    #[test]
    fn annotations_and_paths() {
        assert!(is_annotation("@odata.type"));
        assert!(is_annotation("authenticationStrength@odata.context"));
        assert!(is_annotation("#microsoft.graph.restore"));
        assert!(!is_annotation("GrantControls"));
        assert_eq!(key_path("$", "conditions"), "$.conditions");
        assert_eq!(key_path("$", "a b"), "$[\"a b\"]");
        assert_eq!(key_path("$", "@odata.type"), "$[\"@odata.type\"]");
        assert_eq!(index_path("$.x", 3), "$.x[3]");
        assert!(Json::Object(vec![("@odata.type".into(), Json::String("x".into()))]).is_empty());
    }
}
