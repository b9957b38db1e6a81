//! Reading typed pieces out of config.json's JSON, with every error and every unknown key
//! named by its path.

use super::error::{BundleError, Warnings};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

/// `path.key`, or `key` at the top.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Deserialize `value` (found at `path`) as `T`, and warn about every key in it that `T` does
/// not know: serializing `T` back gives the keys it read, and any other non-null key of the
/// input was dropped by serde (oci-spec ignores unknown fields; config.md "Extensibility"
/// says runtimes MUST NOT fail on them and MAY log them).
pub(crate) fn typed<T: DeserializeOwned + Serialize>(
    value: &Value,
    path: &str,
    warnings: &mut Warnings,
) -> Result<T, BundleError> {
    let parsed =
        T::deserialize(value).map_err(|e| BundleError::invalid(culprit::<T>(value, path), e))?;
    let known = serde_json::to_value(&parsed).map_err(|e| BundleError::invalid(path, e))?;
    unknown_keys(value, &known, path, warnings);
    Ok(parsed)
}

/// The deepest field of `value` whose removal lets it deserialize as `T`: serde's messages
/// say what is wrong but not where, and this finds where. Only run on the error path.
fn culprit<T: DeserializeOwned>(value: &Value, path: &str) -> String {
    let doc = value;
    let mut at: Vec<Step> = Vec::new();
    let mut field = path.to_string();
    while let Some(node) = walk(doc, &at) {
        let steps: Vec<Step> = match node {
            Value::Object(map) => map.keys().cloned().map(Step::Key).collect(),
            Value::Array(items) => (0..items.len()).map(Step::Index).collect(),
            _ => break,
        };
        let found = steps.into_iter().find(|step| {
            let mut trial = doc.clone();
            remove(&mut trial, &at, step);
            T::deserialize(&trial).is_ok()
        });
        match found {
            Some(step) => {
                field = match &step {
                    Step::Key(key) => join(&field, key),
                    Step::Index(i) => format!("{field}[{i}]"),
                };
                at.push(step);
            }
            None => break,
        }
    }
    field
}

enum Step {
    Key(String),
    Index(usize),
}

fn walk<'a>(value: &'a Value, at: &[Step]) -> Option<&'a Value> {
    at.iter().try_fold(value, |node, step| match step {
        Step::Key(key) => node.get(key),
        Step::Index(i) => node.get(*i),
    })
}

fn remove(value: &mut Value, at: &[Step], last: &Step) {
    let node = at.iter().try_fold(value, |node, step| match step {
        Step::Key(key) => node.get_mut(key),
        Step::Index(i) => node.get_mut(*i),
    });
    match (node, last) {
        (Some(Value::Object(map)), Step::Key(key)) => {
            map.remove(key);
        }
        (Some(Value::Array(items)), Step::Index(i)) => {
            items.remove(*i);
        }
        _ => {}
    }
}

fn unknown_keys(given: &Value, known: &Value, path: &str, warnings: &mut Warnings) {
    match (given, known) {
        (Value::Object(given), Value::Object(known)) => {
            for (key, value) in given {
                let field = join(path, key);
                match known.get(key) {
                    _ if value.is_null() => {}
                    None => warnings.add(field, "not a field zelle knows; ignored"),
                    Some(known) => unknown_keys(value, known, &field, warnings),
                }
            }
        }
        (Value::Array(given), Value::Array(known)) => {
            for (i, (value, known)) in given.iter().zip(known).enumerate() {
                unknown_keys(value, known, &format!("{path}[{i}]"), warnings);
            }
        }
        _ => {}
    }
}

/// The value at `path` as an object.
pub(crate) fn object<'a>(
    value: &'a Value,
    path: &str,
) -> Result<&'a Map<String, Value>, BundleError> {
    value.as_object().ok_or_else(|| {
        BundleError::invalid(path, format!("expected an object, found {}", kind(value)))
    })
}

/// The value at `path` as an array.
pub(crate) fn array<'a>(value: &'a Value, path: &str) -> Result<&'a [Value], BundleError> {
    value.as_array().map(Vec::as_slice).ok_or_else(|| {
        BundleError::invalid(path, format!("expected an array, found {}", kind(value)))
    })
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Whether a setting asks for nothing: absent, null, `""`, `[]`, `{}` or `false`.
pub(crate) fn is_unset(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Number(_) => false,
    }
}
