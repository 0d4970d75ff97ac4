//! Metadata policies (OpenID Federation 1.0, section 6.1): how a superior constrains the
//! metadata its subordinates publish. Pure.
//!
//! The operators are applied in the order the specification gives: `value`, `add`,
//! `default`, `one_of`, `subset_of`, `superset_of`, `essential`. A chain's policies are
//! applied one statement after the other, from the one the trust anchor issued down to the
//! one the subject's immediate superior issued, so a superior's constraint always holds in the
//! result (a subordinate policy can only narrow it further).

use serde_json::{Map, Value};

/// Why a policy could not be met.
pub(crate) type PolicyError = String;

/// Applies `policy` (for one entity type: `{"claim": {"operator": value, ...}, ...}`) to
/// `metadata` (that entity type's metadata).
pub(crate) fn apply(metadata: &mut Map<String, Value>, policy: &Map<String, Value>) -> Result<(), PolicyError> {
    for (claim, operators) in policy {
        let Some(operators) = operators.as_object() else {
            return Err(format!("policy for {claim} is not an object"));
        };
        for name in operators.keys() {
            if !KNOWN.contains(&name.as_str()) {
                // A critical operator we do not understand must stop us; the others too: a
                // policy we cannot apply is a policy we cannot promise to meet.
                return Err(format!("unknown policy operator {name} for {claim}"));
            }
        }
        apply_claim(metadata, claim, operators)?;
    }
    Ok(())
}

const KNOWN: [&str; 7] = ["value", "add", "default", "one_of", "subset_of", "superset_of", "essential"];

fn apply_claim(metadata: &mut Map<String, Value>, claim: &str, ops: &Map<String, Value>) -> Result<(), PolicyError> {
    if let Some(value) = ops.get("value") {
        if value.is_null() {
            metadata.remove(claim);
        } else {
            metadata.insert(claim.to_owned(), value.clone());
        }
    }
    if let Some(add) = ops.get("add") {
        let mut values = as_list(metadata.get(claim));
        for item in as_list(Some(add)) {
            if !values.contains(&item) {
                values.push(item);
            }
        }
        metadata.insert(claim.to_owned(), Value::Array(values));
    }
    if let Some(default) = ops.get("default")
        && !metadata.contains_key(claim)
        && !default.is_null()
    {
        metadata.insert(claim.to_owned(), default.clone());
    }
    if let Some(one_of) = ops.get("one_of") {
        let allowed = as_list(Some(one_of));
        if let Some(current) = metadata.get(claim)
            && !allowed.contains(current)
        {
            return Err(format!("{claim}: {current} is not one of {one_of}"));
        }
    }
    if let Some(subset_of) = ops.get("subset_of") {
        let allowed = as_list(Some(subset_of));
        if let Some(current) = metadata.get(claim) {
            let kept: Vec<Value> = as_list(Some(current)).into_iter().filter(|v| allowed.contains(v)).collect();
            if kept.is_empty() {
                return Err(format!("{claim}: none of {current} is in {subset_of}"));
            }
            metadata.insert(claim.to_owned(), Value::Array(kept));
        }
    }
    if let Some(superset_of) = ops.get("superset_of")
        && let Some(current) = metadata.get(claim)
    {
        let have = as_list(Some(current));
        if let Some(missing) = as_list(Some(superset_of)).into_iter().find(|v| !have.contains(v)) {
            return Err(format!("{claim}: {current} lacks {missing}"));
        }
    }
    if ops.get("essential").and_then(Value::as_bool) == Some(true) && !metadata.contains_key(claim) {
        return Err(format!("{claim} is essential and missing"));
    }
    Ok(())
}

/// A claim's value as a list (a single value is a list of one; absent is empty).
fn as_list(value: Option<&Value>) -> Vec<Value> {
    match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(other) => vec![other.clone()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // By value: each test writes its JSON inline.
    #[allow(clippy::needless_pass_by_value)]
    fn run(metadata: Value, policy: Value) -> Result<Value, PolicyError> {
        let mut md = metadata.as_object().cloned().expect("object");
        apply(&mut md, policy.as_object().expect("object"))?;
        Ok(Value::Object(md))
    }

    #[test]
    fn value_overrides_and_null_value_removes() {
        let out = run(json!({"a": 1, "b": 2}), json!({"a": {"value": 5}, "b": {"value": null}})).expect("ok");
        assert_eq!(out, json!({"a": 5}));
    }

    #[test]
    fn add_unions_and_creates() {
        let out =
            run(json!({"contacts": ["x@a.it"]}), json!({"contacts": {"add": ["y@a.it", "x@a.it"]}, "n": {"add": "v"}}))
                .expect("ok");
        assert_eq!(out, json!({"contacts": ["x@a.it", "y@a.it"], "n": ["v"]}));
    }

    #[test]
    fn default_fills_only_what_is_missing() {
        let out = run(json!({"a": 1}), json!({"a": {"default": 2}, "b": {"default": 3}})).expect("ok");
        assert_eq!(out, json!({"a": 1, "b": 3}));
    }

    #[test]
    fn one_of_refuses_a_value_outside_the_set() {
        let policy = json!({"alg": {"one_of": ["RS256", "ES256"]}});
        assert!(run(json!({"alg": "RS256"}), policy.clone()).is_ok());
        assert!(run(json!({"alg": "HS256"}), policy).is_err());
    }

    #[test]
    fn subset_of_narrows_and_refuses_an_empty_result() {
        let policy = json!({"algs": {"subset_of": ["RS256", "RS512"]}});
        assert_eq!(run(json!({"algs": ["RS256", "HS256"]}), policy.clone()).expect("ok"), json!({"algs": ["RS256"]}));
        assert!(run(json!({"algs": ["HS256"]}), policy).is_err());
    }

    #[test]
    fn superset_of_requires_every_value() {
        let policy = json!({"grants": {"superset_of": ["authorization_code"]}});
        assert!(run(json!({"grants": ["authorization_code", "refresh_token"]}), policy.clone()).is_ok());
        assert!(run(json!({"grants": ["refresh_token"]}), policy).is_err());
    }

    #[test]
    fn essential_requires_the_claim_after_the_other_operators() {
        assert!(run(json!({}), json!({"x": {"essential": true}})).is_err());
        assert!(run(json!({}), json!({"x": {"essential": true, "default": 1}})).is_ok());
        assert!(run(json!({}), json!({"x": {"essential": false}})).is_ok());
    }

    #[test]
    fn an_unknown_operator_is_refused() {
        assert!(run(json!({"x": 1}), json!({"x": {"regexp": ".*"}})).is_err());
    }
}
