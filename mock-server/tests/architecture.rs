//! The mock's modules form no import cycle: each top-level module of `src/` may use others
//! only so long as no chain of uses leads back to it. Read from the sources, so the rule
//! holds for whoever adds the next module. Test code (items marked `#[cfg(test)]`, and
//! `tests.rs` files) is left out: a test may reach for any fixture.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Top-level module → the top-level modules its production code names as `crate::x`.
type Graph = BTreeMap<String, BTreeSet<String>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A file without its test code: every item marked `#[cfg(test)]` (a `mod tests { … }` block
/// wherever it stands, a `mod tests;` line, a single item) is blanked out.
fn production(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        rest = &rest[at + "#[cfg(test)]".len()..];
        rest = &rest[item_end(rest)..];
    }
    out.push_str(rest);
    out
}

/// Where the item at the start of `text` ends: after its `;` or its balanced `{ … }` block,
/// whichever comes first, with braces inside strings, characters and comments not counted.
fn item_end(text: &str) -> usize {
    let bytes = text.as_bytes();
    let (mut i, mut depth) = (0, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i += text[i..].find('\n').unwrap_or(text.len() - i);
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'\'' if bytes.get(i + 2) == Some(&b'\'') => i += 2,
            b'\'' if bytes.get(i + 1) == Some(&b'\\') => {
                i += text[i + 2..].find('\'').map_or(0, |n| n + 2);
            }
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            b';' if depth == 0 => return i + 1,
            _ => {}
        }
        i += 1;
    }
    text.len()
}

/// `crate::name` paths in `text`, also inside `use crate::{a, b::c}` groups.
fn crate_uses(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

/// Reads `src/` into the module graph. `lib.rs` is the root that wires modules together,
/// not a module, so it has no node.
fn graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut graph = Graph::new();
    for file in files {
        let rel = file.strip_prefix(src).expect("below src");
        if rel == Path::new("lib.rs") || rel == Path::new("main.rs") {
            continue;
        }
        if rel.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let first = rel.components().next().expect("a component");
        let module = first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        let text = fs::read_to_string(&file).expect("readable source");
        let uses = graph.entry(module.clone()).or_default();
        for used in crate_uses(&production(&text)) {
            if used != module {
                uses.insert(used);
            }
        }
    }
    graph
}

/// One cycle, as the list of modules around it, if there is any.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_mock_has_no_import_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = graph(&src);
    assert!(
        graph.contains_key("config") && graph.contains_key("imap"),
        "the reader found the modules: {graph:?}"
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "import cycle between the mock's modules: {} (move the shared type down into a \
             module both can use)",
            cycle.join(" → ")
        );
    }
}

/// The checker itself: a back-edge is found, test code and `use` groups are read right.
#[test]
fn a_back_edge_is_caught() {
    let mut graph = Graph::new();
    let edge = |g: &mut Graph, a: &str, b: &str| {
        g.entry(a.into()).or_default().insert(b.into());
        g.entry(b.into()).or_default();
    };
    edge(&mut graph, "config", "faults");
    edge(&mut graph, "faults", "ids");
    assert_eq!(find_cycle(&graph), None);
    edge(&mut graph, "ids", "config");
    let cycle = find_cycle(&graph).expect("the cycle is found");
    assert_eq!(cycle.first(), cycle.last());
    assert!(cycle.contains(&"faults".to_owned()), "{cycle:?}");

    let text = "use crate::{clock, ids::Id};\nuse crate::keys;\nfn f() { crate::jwt::x() }\n\
                #[cfg(test)]\nmod tests { use crate::idp; }\n";
    let uses = crate_uses(&production(text));
    let names: Vec<&str> = uses.iter().map(String::as_str).collect();
    assert_eq!(names, ["clock", "ids", "jwt", "keys"]);
}
