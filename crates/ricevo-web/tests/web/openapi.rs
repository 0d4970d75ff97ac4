//! The OpenAPI document against the routes the router really serves: no `/api/v1` route may be
//! served without being documented, and every documented answer's schema must exist.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use utoipa::OpenApi;

const METHODS: [&str; 8] = ["get", "post", "put", "delete", "patch", "head", "options", "trace"];

fn document() -> Value {
    serde_json::to_value(ricevo_web::openapi::ApiDoc::openapi()).unwrap()
}

/// `(method, path)` of every operation in the document.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if item.get(method).is_some() {
                out.insert((method.to_owned(), path.clone()));
            }
        }
    }
    out
}

/// Every operation of the document with its method and path.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((method.to_owned(), path.clone(), op.clone()));
            }
        }
    }
    out
}

#[test]
fn every_served_api_route_is_documented_and_every_documented_one_is_served() {
    let served: BTreeSet<(String, String)> =
        ricevo_web::api_routes().iter().map(|r| (r.method.as_str().to_ascii_lowercase(), r.path.to_owned())).collect();
    let doc = documented(&document());
    let undocumented: Vec<_> = served.difference(&doc).collect();
    let unserved: Vec<_> = doc.difference(&served).collect();
    assert!(undocumented.is_empty(), "served but missing from the OpenAPI document: {undocumented:?}");
    assert!(unserved.is_empty(), "in the OpenAPI document but not served: {unserved:?}");
}

/// The string literals starting with `/api/v1/` in a Rust source text.
fn api_literals(source: &str) -> Vec<String> {
    source.match_indices("\"/api/v1/").map(|(at, _)| source[at + 1..].split('"').next().unwrap().to_owned()).collect()
}

fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
        }
    }
}

#[test]
fn every_api_path_written_in_the_web_crate_is_a_route_of_the_table() {
    // A route added with `.route("/api/v1/...")` outside `api_routes()` would be served and
    // escape the check above; its path literal cannot escape this one.
    let table: BTreeSet<&str> = ricevo_web::api_routes().iter().map(|r| r.path).collect();
    let mut files = Vec::new();
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    let mut stray = Vec::new();
    for (file, text) in &files {
        for literal in api_literals(text) {
            if !table.contains(literal.as_str()) {
                stray.push(format!("{file}: {literal}"));
            }
        }
    }
    assert!(stray.is_empty(), "API paths in the source that are not in ricevo_web::api_routes(): {stray:#?}");
}

fn refs(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref" {
                    out.insert(v.as_str().unwrap().to_owned());
                } else {
                    refs(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn every_schema_the_document_refers_to_is_in_it() {
    let doc = document();
    let mut all = BTreeSet::new();
    refs(&doc, &mut all);
    let missing: Vec<_> = all
        .iter()
        .filter(|r| {
            let name = r.strip_prefix("#/components/schemas/").unwrap_or(r);
            doc["components"]["schemas"].get(name).is_none()
        })
        .collect();
    assert!(missing.is_empty(), "references to schemas the document lacks: {missing:?}");
}

#[test]
fn every_operation_lists_the_refusals_its_kind_of_route_can_answer() {
    let doc = document();
    let mut gaps = Vec::new();
    for (method, path, op) in operations(&doc) {
        let has = |status: &str| op["responses"].get(status).is_some();
        // The rate limiter answers before every handler.
        if !has("429") {
            gaps.push(format!("{method} {path}: 429"));
        }
        // Every town-scoped route looks the town up first.
        if path.contains("{tenant}") && !has("404") {
            gaps.push(format!("{method} {path}: 404 for an unknown town"));
        }
        // Every staff route checks the Bearer token.
        let bearer = op["security"].as_array().is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
        if bearer && !has("401") {
            gaps.push(format!("{method} {path}: 401"));
        }
        // Every JSON body may fail to parse, or be too large.
        if op.get("requestBody").is_some() && !(has("400") && has("413")) {
            gaps.push(format!("{method} {path}: 400 for a body that is not JSON, 413 for one too large"));
        }
        // A body is an object or is left out; `null` is no body a handler takes.
        if let Some(body) = op.get("requestBody")
            && body["content"]["application/json"]["schema"]["$ref"].is_null()
        {
            gaps.push(format!("{method} {path}: the body's schema is not an object's"));
        }
        // Every path segment may not be UTF-8.
        if path.contains('{') && !has("400") {
            gaps.push(format!("{method} {path}: 400 for a path segment that is not UTF-8"));
        }
        for (status, answer) in op["responses"].as_object().unwrap() {
            if answer["description"].as_str().unwrap_or("").is_empty() {
                gaps.push(format!("{method} {path}: {status} has no description"));
            }
            if status.starts_with('4') && answer["content"]["application/json"]["schema"].is_null() {
                gaps.push(format!("{method} {path}: {status} has no JSON schema"));
            }
        }
    }
    assert!(gaps.is_empty(), "operations missing answers they can give: {gaps:#?}");
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
}
