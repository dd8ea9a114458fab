//! A small JSON Schema (draft 2020-12) validator for the tests: the keywords
//! `schema/spotmeta.schema.json` uses and no others (`$ref` to `#/$defs/…`,
//! `type`, `enum`, `const`, `properties`, `required`,
//! `additionalProperties`, `items`, `minItems`, `maxItems`, `minimum`,
//! `maximum`, `exclusiveMinimum`, `allOf`, `anyOf`, `not`, `if`/`then`).
//! A keyword outside that list is an error, so the schema cannot quietly
//! use one this validator would skip. Written here rather than taken as a
//! dev-dependency: the `jsonschema` crate does not build offline in this
//! tree. The schema file was also checked once with Python's `jsonschema`
//! 4.26 (`Draft202012Validator.check_schema` and the same documents).

use serde_json::Value;

/// Keywords that only annotate.
const ANNOTATIONS: [&str; 6] = [
    "$schema",
    "$id",
    "$defs",
    "title",
    "description",
    "$comment",
];

/// Validate `doc` against `schema` (the root, for `$ref`); every error as
/// `path: message`.
pub fn validate(root: &Value, doc: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(root, root, doc, "$", &mut errors);
    errors
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|x| x.fract() == 0.0),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        other => panic!("schema: unknown type `{other}`"),
    }
}

fn resolve<'a>(root: &'a Value, r: &str) -> &'a Value {
    let name = r
        .strip_prefix("#/$defs/")
        .unwrap_or_else(|| panic!("schema: only #/$defs/ references are supported, got {r}"));
    root["$defs"]
        .get(name)
        .unwrap_or_else(|| panic!("schema: no $defs/{name}"))
}

fn valid(root: &Value, schema: &Value, doc: &Value, path: &str) -> bool {
    let mut e = Vec::new();
    check(root, schema, doc, path, &mut e);
    e.is_empty()
}

fn check(root: &Value, schema: &Value, doc: &Value, path: &str, errors: &mut Vec<String>) {
    let Some(s) = schema.as_object() else {
        if schema == &Value::Bool(false) {
            errors.push(format!("{path}: not allowed"));
        }
        return;
    };
    for (key, want) in s {
        match key.as_str() {
            k if ANNOTATIONS.contains(&k) => {}
            "$ref" => check(
                root,
                resolve(root, want.as_str().unwrap()),
                doc,
                path,
                errors,
            ),
            "type" => {
                let ok = match want {
                    Value::String(t) => type_ok(t, doc),
                    Value::Array(ts) => ts.iter().any(|t| type_ok(t.as_str().unwrap(), doc)),
                    _ => panic!("schema: bad type at {path}"),
                };
                if !ok {
                    errors.push(format!("{path}: {doc} is not of type {want}"));
                }
            }
            "enum" => {
                if !want.as_array().unwrap().contains(doc) {
                    errors.push(format!("{path}: {doc} is not one of {want}"));
                }
            }
            "const" => {
                if want != doc {
                    errors.push(format!("{path}: {doc} is not {want}"));
                }
            }
            "required" => {
                if let Some(o) = doc.as_object() {
                    for r in want.as_array().unwrap() {
                        if !o.contains_key(r.as_str().unwrap()) {
                            errors.push(format!("{path}: missing required key {r}"));
                        }
                    }
                }
            }
            "properties" => {
                if let Some(o) = doc.as_object() {
                    for (k, sub) in want.as_object().unwrap() {
                        if let Some(v) = o.get(k) {
                            check(root, sub, v, &format!("{path}.{k}"), errors);
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Some(o) = doc.as_object() {
                    let listed = s.get("properties").and_then(Value::as_object);
                    for (k, v) in o {
                        if !listed.is_some_and(|p| p.contains_key(k)) {
                            check(root, want, v, &format!("{path}.{k}"), errors);
                        }
                    }
                }
            }
            "items" => {
                if let Some(a) = doc.as_array() {
                    for (i, v) in a.iter().enumerate() {
                        check(root, want, v, &format!("{path}[{i}]"), errors);
                    }
                }
            }
            "minItems" | "maxItems" => {
                if let Some(a) = doc.as_array() {
                    let n = want.as_u64().unwrap() as usize;
                    let ok = if key == "minItems" {
                        a.len() >= n
                    } else {
                        a.len() <= n
                    };
                    if !ok {
                        errors.push(format!("{path}: {} items violates {key} {n}", a.len()));
                    }
                }
            }
            "minimum" | "maximum" | "exclusiveMinimum" => {
                if let (Some(x), Some(b)) = (doc.as_f64(), want.as_f64()) {
                    let ok = match key.as_str() {
                        "minimum" => x >= b,
                        "maximum" => x <= b,
                        _ => x > b,
                    };
                    if !ok {
                        errors.push(format!("{path}: {x} violates {key} {b}"));
                    }
                }
            }
            "allOf" => {
                for sub in want.as_array().unwrap() {
                    check(root, sub, doc, path, errors);
                }
            }
            "anyOf" => {
                if !want
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|sub| valid(root, sub, doc, path))
                {
                    let mut why = Vec::new();
                    for sub in want.as_array().unwrap() {
                        check(root, sub, doc, path, &mut why);
                    }
                    errors.push(format!(
                        "{path}: matches no anyOf branch ({})",
                        why.join("; ")
                    ));
                }
            }
            "not" => {
                if valid(root, want, doc, path) {
                    errors.push(format!("{path}: matches a forbidden schema {want}"));
                }
            }
            "if" => {
                if let Some(then) = s.get("then")
                    && valid(root, want, doc, path)
                {
                    check(root, then, doc, path, errors);
                }
            }
            "then" => {}
            other => panic!("schema: keyword `{other}` is not supported by tests/common/schema.rs"),
        }
    }
}
