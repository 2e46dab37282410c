//! The layer rule of `src/lib.rs`, checked from the sources: a module uses only modules of the
//! layers below it, never one beside or above it. Adding a back-edge fails this test, whoever
//! adds it; the fix is to move the shared type down, not to loosen the table.
//!
//! Test code (items marked `#[cfg(test)]`, and `tests.rs` files) is left out: a test may
//! reach for fixtures from anywhere. The binary's files (`main.rs`, `cli.rs`, `demo.rs`,
//! `profile_args.rs`, `outputs.rs`, `progress.rs`) sit above everything and see the library only
//! through `xoauth::`.
//!
//! The mock (`mock-server/src`) has no layer table, only the rule that its modules form no
//! import cycle; the same reader checks it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The layers, lowest first. Keep in step with the table at the top of `src/lib.rs`.
const LAYERS: &[&[&str]] = &[
    &["secret", "powershell"],
    &["sasl", "service", "legacy"],
    &["outcome", "setup_script"],
    &["transport"],
    &["token"],
    &["plan"],
    &["protocol"],
    &["diagnose"],
    &["report"],
    &["run"],
];

/// The files of the binary, not the library.
const BINARY: &[&str] = &[
    "main.rs",
    "cli.rs",
    "demo.rs",
    "profile_args.rs",
    "outputs.rs",
    "progress.rs",
    "shell_docs.rs",
];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

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

fn ident(text: &str) -> String {
    text.trim()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The top-level modules `text` names as `crate::x`, also inside `use crate::{a, b::c}`.
fn crate_uses(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        let names: Vec<String> = match rest.strip_prefix('{') {
            Some(group) => group[..group.find('}').unwrap_or(group.len())]
                .split(',')
                .map(ident)
                .collect(),
            None => vec![ident(rest)],
        };
        found.extend(names.into_iter().filter(|n| !n.is_empty()));
    }
    found
}

/// Module → the modules it uses, read from the sources below `src` (the library's or the mock's).
fn uses(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(src).expect("below src");
        let name = rel.to_string_lossy();
        if name == "lib.rs" || BINARY.contains(&name.as_ref()) {
            continue;
        }
        if rel.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let module = rel
            .components()
            .next()
            .expect("a component")
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        let text = fs::read_to_string(&file).expect("readable source");
        let used = graph.entry(module.clone()).or_default();
        used.extend(
            crate_uses(&production(&text))
                .into_iter()
                .filter(|u| *u != module),
        );
    }
    graph
}

/// Every use that breaks the rule, as `module → used (why)`.
fn violations(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut out = Vec::new();
    for (module, used) in graph {
        let Some(from) = rank(module) else {
            out.push(format!("{module}: not in the layer table"));
            continue;
        };
        for u in used {
            match rank(u) {
                None => out.push(format!("{module} → {u}: {u} is not in the layer table")),
                Some(to) if to > from => out.push(format!("{module} → {u}: a layer above")),
                Some(to) if to == from => out.push(format!(
                    "{module} → {u}: the same layer (move the shared type down)"
                )),
                Some(_) => {}
            }
        }
    }
    out
}

/// One cycle, as the list of modules around it, if there is any.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
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
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("mock-server/src");
    let graph = uses(&src);
    assert!(
        graph.contains_key("config") && graph.contains_key("imap"),
        "the reader found the mock's modules: {graph:?}"
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "import cycle between the mock's modules: {} (move the shared type down into a \
             module both can use)",
            cycle.join(" → ")
        );
    }
}

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = uses(&src);
    for layer in LAYERS {
        for module in *layer {
            assert!(
                graph.contains_key(*module),
                "the layer table names {module}, which src/ does not have"
            );
        }
    }
    let bad = violations(&graph);
    assert!(
        bad.is_empty(),
        "imports against the layer rule (src/lib.rs):\n  {}",
        bad.join("\n  ")
    );
}

#[test]
fn the_library_never_uses_the_binary_or_its_crates() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    for file in files {
        let rel = file.strip_prefix(&src).expect("below src");
        if BINARY.contains(&rel.to_string_lossy().as_ref()) {
            continue;
        }
        let text = fs::read_to_string(&file).expect("readable source");
        for forbidden in [
            "clap::",
            "anyhow::",
            "crate::cli",
            "crate::demo",
            "xoauth_mock::",
        ] {
            assert!(
                !production(&text).contains(forbidden),
                "{} uses {forbidden}: the library is usable without the CLI and the mock",
                rel.display()
            );
        }
    }
}

/// The checker catches what it is for: a back-edge, a same-layer edge, an unknown module;
/// and it reads `use` groups and leaves test code out.
#[test]
fn a_back_edge_is_caught() {
    let graph = |edges: &[(&str, &str)]| {
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in edges {
            g.entry(a.to_string()).or_default().insert(b.to_string());
        }
        g
    };
    assert!(violations(&graph(&[("token", "outcome"), ("report", "token")])).is_empty());
    let up = violations(&graph(&[("token", "report")]));
    assert_eq!(up, ["token → report: a layer above"]);
    let beside = violations(&graph(&[("outcome", "setup_script")]));
    assert!(beside[0].contains("the same layer"), "{beside:?}");
    let unknown = violations(&graph(&[("newthing", "token")]));
    let mut cyclic = graph(&[("config", "faults"), ("faults", "ids")]);
    assert_eq!(find_cycle(&cyclic), None);
    cyclic
        .entry("ids".into())
        .or_default()
        .insert("config".into());
    let cycle = find_cycle(&cyclic).expect("the cycle is found");
    assert_eq!(cycle.first(), cycle.last());
    assert!(cycle.contains(&"faults".to_owned()), "{cycle:?}");
    assert!(unknown[0].contains("not in the layer table"), "{unknown:?}");

    let text = "use crate::{outcome::Stage, secret};\nuse crate::transport::util::escape;\n\
                fn f() { crate::sasl::x() }\n#[cfg(test)]\nmod tests { use crate::run; \
                fn g() { let _ = (\"}\", '{', '\\''); } // }\n }\n\
                #[cfg(test)]\nuse crate::cli;\nuse crate::report::Report;\n";
    let names: Vec<String> = crate_uses(&production(text)).into_iter().collect();
    assert_eq!(names, ["outcome", "report", "sasl", "secret", "transport"]);
}
