//! The shape ARCHITECTURE.md promises, held by tests: the crates depend on each other only
//! along the drawn arrows, and the web edge's files never import each other in a circle
//! (a circle is how a "translator" quietly grows rules again).

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

// The workspace crates a crate's Cargo.toml names under [dependencies] (not dev- or build-).
fn dependencies(krate: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(workspace().join("crates").join(krate).join("Cargo.toml")).unwrap();
    let manifest: toml::Table = text.parse().unwrap();
    let deps = manifest.get("dependencies").and_then(|d| d.as_table()).cloned().unwrap_or_default();
    deps.keys().filter(|k| k.starts_with("ricevo")).cloned().collect()
}

#[test]
fn the_crates_depend_on_each_other_only_along_the_arrows() {
    let allowed: BTreeMap<&str, &[&str]> = BTreeMap::from([
        ("ricevo-core", &[][..]),
        ("ricevo-store", &["ricevo-core"][..]),
        ("ricevo-notify", &["ricevo-core", "ricevo-store"][..]),
        // (council) The SFU hands the public stream's packager the packets it forwards.
        ("ricevo-media", &["ricevo-stream"][..]),
        // The council's public stream: RTP in, HLS out; none of our crates.
        ("ricevo-stream", &[][..]),
        // What browsers and API clients send, read into the core's types (fuzzed on its own).
        ("ricevo-input", &["ricevo-core"][..]),
        // (citizen) The desk receives the identity a SPID/CIE provider verified; the web edge
        // runs the relying party's sign-in.
        ("ricevo-desk", &["ricevo-core", "ricevo-store", "ricevo-notify", "ricevo-identity"][..]),
        (
            "ricevo-web",
            &[
                "ricevo-core",
                "ricevo-input",
                "ricevo-store",
                "ricevo-notify",
                "ricevo-desk",
                "ricevo-media",
                "ricevo-stream",
                "ricevo-identity",
            ][..],
        ),
        // The campaign bench drives the desk's use cases, as a channel would; the reminders
        // bench runs the outbox worker against the fake SMS gateway; the stream bench hosts the
        // packager itself.
        (
            "ricevo-bench",
            &[
                "ricevo-core",
                "ricevo-store",
                "ricevo-notify",
                "ricevo-desk",
                "ricevo-media",
                "ricevo-stream",
                "ricevo-fakes",
            ][..],
        ),
        (
            "ricevo",
            &[
                "ricevo-core",
                "ricevo-store",
                "ricevo-notify",
                "ricevo-desk",
                "ricevo-web",
                "ricevo-media",
                "ricevo-identity",
            ][..],
        ),
        // ---- ident ----
        // The SPID/CIE relying party: protocol and HTTP only, none of our crates.
        ("ricevo-identity", &[][..]),
        // ---- end ident ----
    ]);
    for (krate, may) in &allowed {
        let may: BTreeSet<String> = may.iter().map(|s| (*s).to_owned()).collect();
        let extra: Vec<String> = dependencies(krate).difference(&may).cloned().collect();
        assert!(extra.is_empty(), "{krate} depends on {extra:?}, against the arrows of ARCHITECTURE.md");
    }
}

/// A module of the web crate: its path below the crate root (`[]` is lib.rs).
type Module = Vec<String>;

fn modules(src: &Path) -> BTreeMap<Module, PathBuf> {
    let mut found = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(src).unwrap().with_extension("");
                let module: Module = relative.iter().map(|s| s.to_string_lossy().into_owned()).collect();
                let module = if module == ["lib"] { Vec::new() } else { module };
                found.insert(module, path);
            }
        }
    }
    found
}

// The source without comments, string literals and its unit tests (they may import anything).
fn code_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    // Unit tests start at `#[cfg(test)]`, perhaps with more attributes, then `mod`.
    let tests = text.match_indices("#[cfg(test)]").map(|(i, _)| i).find(|i| {
        text[*i..].lines().skip(1).find(|l| !l.trim_start().starts_with("#[")).is_some_and(|l| l.starts_with("mod "))
    });
    let text = &text[..tests.unwrap_or(text.len())];
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                out.push('"');
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
                out.push('"');
            }
            _ => out.push(c),
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

// A path `a::b::c` starting at `text` (identifiers joined by `::`), or the brace group that
// follows `a::b::{`, expanded into its paths.
fn paths_at(text: &str, base: &[String]) -> Vec<Vec<String>> {
    let mut segments = base.to_vec();
    let mut rest = text;
    loop {
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut end = group.len();
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        end = i;
                        break;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            let inner = &group[..end];
            let mut items = Vec::new();
            let (mut depth, mut start) = (0, 0);
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        items.push(&inner[start..i]);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            items.push(&inner[start..]);
            return items
                .into_iter()
                .map(str::trim)
                .filter(|i| !i.is_empty())
                .flat_map(|i| paths_at(i, &segments))
                .collect();
        }
        let ident: String = rest.chars().take_while(|c| is_ident(*c)).collect();
        if ident.is_empty() {
            return vec![segments];
        }
        rest = &rest[ident.len()..];
        if ident != "self" {
            segments.push(ident);
        }
        match rest.strip_prefix("::") {
            Some(more) => rest = more,
            None => return vec![segments],
        }
    }
}

// Which files each file of `src` refers to (`crate::`, `super::`, `self::` and child modules).
fn imports(src: &Path) -> BTreeMap<Module, BTreeSet<Module>> {
    let files = modules(src);
    let file_of = |path: &[String]| -> Module {
        (1..=path.len()).rev().map(|k| path[..k].to_vec()).find(|m| files.contains_key(m)).unwrap_or_default()
    };
    let mut graph = BTreeMap::new();
    for (module, path) in &files {
        let code = code_of(path);
        let mut targets = BTreeSet::new();
        let mut i = 0;
        while i < code.len() {
            let before = code[..i].chars().next_back();
            let rest = &code[i..];
            let start = before.is_none_or(|c| !is_ident(c) && c != ':');
            let found = if !start {
                None
            } else if let Some(after) = rest.strip_prefix("crate::") {
                Some((Vec::new(), after))
            } else if let Some(mut after) = rest.strip_prefix("super::") {
                let mut base = module[..module.len().saturating_sub(1)].to_vec();
                while let Some(more) = after.strip_prefix("super::") {
                    base.pop();
                    after = more;
                }
                Some((base, after))
            } else if let Some(after) = rest.strip_prefix("self::") {
                Some((module.clone(), after))
            } else {
                // A child module named without a prefix: `actions::admit` inside room.rs.
                let ident: String = rest.chars().take_while(|c| is_ident(*c)).collect();
                let mut child = module.clone();
                child.push(ident.clone());
                (!ident.is_empty() && rest[ident.len()..].starts_with("::") && files.contains_key(&child))
                    .then(|| (module.clone(), rest))
            };
            if let Some((base, after)) = found {
                for p in paths_at(after, &base) {
                    let target = file_of(&p);
                    if &target != module {
                        targets.insert(target);
                    }
                }
            }
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
        graph.insert(module.clone(), targets);
    }
    graph
}

// The circles of a graph: its strongly connected parts with more than one file.
fn circles(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    let nodes: Vec<&Module> = graph.keys().collect();
    let reach = |from: &Module| -> BTreeSet<Module> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.clone()];
        while let Some(m) = stack.pop() {
            for t in graph.get(&m).into_iter().flatten() {
                if seen.insert(t.clone()) {
                    stack.push(t.clone());
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&Module, BTreeSet<Module>> = nodes.iter().map(|m| (*m, reach(m))).collect();
    let mut done = BTreeSet::new();
    let mut found = Vec::new();
    for m in &nodes {
        if done.contains(*m) {
            continue;
        }
        let part: Vec<Module> = nodes
            .iter()
            .filter(|n| reachable[m].contains(**n) && reachable[**n].contains(*m))
            .map(|n| (*n).clone())
            .collect();
        done.extend(part.iter().cloned());
        if part.len() > 1 {
            found.push(part);
        }
    }
    found
}

fn name(m: &Module) -> String {
    if m.is_empty() { "lib".into() } else { m.join("::") }
}

#[test]
fn no_file_of_the_web_edge_imports_another_that_imports_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = imports(&src);
    assert!(graph.len() > 20, "the crate's files were found: {}", graph.len());
    let found = circles(&graph);
    let described: Vec<String> = found
        .iter()
        .map(|part| {
            let members: BTreeSet<&Module> = part.iter().collect();
            part.iter()
                .map(|m| {
                    let into: Vec<String> = graph[m].iter().filter(|t| members.contains(t)).map(name).collect();
                    format!("{} -> {}", name(m), into.join(", "))
                })
                .collect::<Vec<_>>()
                .join("\n  ")
        })
        .collect();
    assert!(found.is_empty(), "import circles in ricevo-web:\n  {}", described.join("\n\n  "));
}

#[test]
fn the_circle_finder_finds_a_planted_circle_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("room")).unwrap();
    std::fs::write(src.join("lib.rs"), "pub mod a; pub mod b; pub mod c; pub mod room;\n").unwrap();
    std::fs::write(src.join("c.rs"), "#[cfg(test)]\n#[allow(dead_code)]\nmod tests {\n    use crate::a::y;\n}\n")
        .unwrap();
    std::fs::write(src.join("a.rs"), "use crate::b::thing; // crate::room::never\n").unwrap();
    std::fs::write(src.join("b.rs"), "use crate::{a::other, room};\nconst S: &str = \"crate::lib\";\n").unwrap();
    std::fs::write(src.join("room.rs"), "mod hub; fn f() { hub::go(); }\n").unwrap();
    std::fs::write(src.join("room/hub.rs"), "use super::super::c::x;\n").unwrap();
    let graph = imports(src);
    let found = circles(&graph);
    assert_eq!(found, vec![vec![vec!["a".to_owned()], vec!["b".to_owned()]]], "{graph:?}");
    assert!(graph[&vec!["room".to_owned()]].contains(&vec!["room".to_owned(), "hub".to_owned()]));
    assert!(graph[&vec!["room".to_owned(), "hub".to_owned()]].contains(&vec!["c".to_owned()]));
    assert!(graph[&vec!["c".to_owned()]].is_empty(), "unit tests are not imports");
    assert!(!graph[&vec!["a".to_owned()]].contains(&vec!["room".to_owned()]), "comments are not imports");
}
