//! The shape of the code, checked like any other promise: modules do not import each other in
//! circles, no source file grows past what one reader can hold, and the repository cites
//! nothing outside itself.
//!
//! Run alone with `cargo test --test structure`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A file longer than this is split along its own sections.
const MAX_LINES: usize = 1_000;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files_under(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            files_under(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

/// The library's modules: `src/a/b.rs` and `src/a/b/mod.rs` are `a::b`; `src/lib.rs` is the
/// root (empty path). The binary's `main.rs` uses the library by its crate name and is not one.
fn modules() -> BTreeMap<Vec<String>, String> {
    let src = root().join("src");
    let mut files = Vec::new();
    files_under(&src, "rs", &mut files);
    let mut out = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&src).expect("under src");
        let mut parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
            .collect();
        match parts.last().map(String::as_str) {
            Some("main") if parts.len() == 1 => continue,
            Some("lib") if parts.len() == 1 => parts.clear(),
            Some("mod") => {
                parts.pop();
            }
            _ => {}
        }
        let text = std::fs::read_to_string(&f).expect("readable source");
        out.insert(parts, text);
    }
    out
}

/// The code without its comments, so a doc comment naming a module is not an import.
fn code_only(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident_at(s: &str) -> Option<(&str, &str)> {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    (end > 0).then(|| (&s[..end], &s[end..]))
}

/// The module paths a path expression starting at `rest` (just after `crate::` or `super::`)
/// names, expanding one `{a, b::c}` group.
fn paths_after(rest: &str, base: &[String]) -> Vec<Vec<String>> {
    let mut prefix = base.to_vec();
    let mut s = rest;
    loop {
        if let Some(group) = s.strip_prefix('{') {
            let mut depth = 1;
            let end = group
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map_or(group.len(), |(i, _)| i);
            return group[..end]
                .split(',')
                .flat_map(|item| {
                    let item = item.trim();
                    if item.starts_with("self") || item.is_empty() {
                        vec![prefix.clone()]
                    } else {
                        paths_after(item, &prefix)
                    }
                })
                .collect();
        }
        match ident_at(s) {
            Some(("super", tail)) if prefix.len() > base.len() || prefix.is_empty() => {
                // `super::super::` is rare; treat as the parent's parent.
                prefix.pop();
                s = tail.strip_prefix("::").unwrap_or("");
            }
            Some((id, tail)) => {
                prefix.push(id.to_string());
                match tail.strip_prefix("::") {
                    Some(t) => s = t,
                    None => return vec![prefix],
                }
            }
            None => return vec![prefix],
        }
    }
}

/// Which modules each module refers to, by `crate::` and `super::` paths, each resolved to
/// the longest module it names.
fn references(
    mods: &BTreeMap<Vec<String>, String>,
) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let known: BTreeSet<&Vec<String>> = mods.keys().collect();
    let resolve = |path: &[String]| -> Vec<String> {
        (0..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|p| known.contains(p))
            .unwrap_or_default()
    };
    let mut out = BTreeMap::new();
    for (module, text) in mods {
        let code = code_only(text);
        let mut refs = BTreeSet::new();
        for (prefix, base) in [
            ("crate::", Vec::new()),
            ("super::", {
                let mut p = module.clone();
                p.pop();
                p
            }),
        ] {
            let mut at = 0;
            while let Some(i) = code[at..].find(prefix) {
                let start = at + i;
                at = start + prefix.len();
                let before = code[..start].chars().last();
                if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                    continue;
                }
                for p in paths_after(&code[at..], &base) {
                    let target = resolve(&p);
                    if &target != module {
                        refs.insert(target);
                    }
                }
            }
        }
        out.insert(module.clone(), refs);
    }
    out
}

/// Lifts an edge between two modules to the pair of siblings under their lowest common
/// ancestor: `web::dashboard::x -> web::render` is the sibling edge `dashboard -> render` in
/// `web`. An edge from a module to its own ancestor or descendant is the tree itself, not an
/// import between siblings, and is dropped.
fn sibling_edge(from: &[String], to: &[String]) -> Option<(Vec<String>, String, String)> {
    let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
    if common == from.len() || common == to.len() {
        return None;
    }
    Some((
        from[..common].to_vec(),
        from[common].clone(),
        to[common].clone(),
    ))
}

/// A cycle among the siblings of one parent, if any, as the names around it.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for m in edges.get(n).into_iter().flatten() {
            match state.get(m.as_str()).copied().unwrap_or(0) {
                1 => {
                    let i = stack.iter().position(|s| s == m).expect("on the stack");
                    let mut cycle = stack[i..].to_vec();
                    cycle.push(m.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(m, edges, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in edges.keys() {
        if state.get(n.as_str()).copied().unwrap_or(0) == 0 {
            let mut stack = Vec::new();
            if let Some(c) = visit(n, edges, &mut state, &mut stack) {
                return Some(c);
            }
        }
    }
    None
}

#[test]
fn no_modules_import_each_other_in_a_circle() {
    let mods = modules();
    let refs = references(&mods);
    // parent -> sibling -> siblings it uses, with one example of each edge for the message.
    let mut levels: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    let mut why: BTreeMap<(Vec<String>, String, String), (String, String)> = BTreeMap::new();
    for (from, tos) in &refs {
        for to in tos {
            if let Some((parent, a, b)) = sibling_edge(from, to) {
                levels
                    .entry(parent.clone())
                    .or_default()
                    .entry(a.clone())
                    .or_default()
                    .insert(b.clone());
                why.entry((parent, a, b))
                    .or_insert_with(|| (from.join("::"), to.join("::")));
            }
        }
    }
    let mut cycles = Vec::new();
    for (parent, edges) in &levels {
        if let Some(cycle) = find_cycle(edges) {
            let steps: Vec<String> = cycle
                .windows(2)
                .map(|w| {
                    let (f, t) = &why[&(parent.clone(), w[0].clone(), w[1].clone())];
                    format!("{f} uses {t}")
                })
                .collect();
            cycles.push(format!(
                "in crate::{}: {}\n    ({})",
                parent.join("::"),
                cycle.join(" -> "),
                steps.join("; ")
            ));
        }
    }
    assert!(
        cycles.is_empty(),
        "import cycles:\n  {}",
        cycles.join("\n  ")
    );
}

#[test]
fn the_cycle_check_sees_a_cycle_when_there_is_one() {
    // The check itself must be able to fail: two siblings that use each other.
    let mut mods = BTreeMap::new();
    mods.insert(vec![], String::new());
    mods.insert(vec!["web".to_string()], String::new());
    mods.insert(
        vec!["web".to_string(), "pages".to_string()],
        "use super::{api::parse, ctx};".to_string(),
    );
    mods.insert(
        vec!["web".to_string(), "api".to_string()],
        "fn f() { crate::web::pages::render() }".to_string(),
    );
    mods.insert(vec!["web".to_string(), "ctx".to_string()], String::new());
    let refs = references(&mods);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, tos) in &refs {
        for to in tos {
            if let Some((_, a, b)) = sibling_edge(from, to) {
                edges.entry(a).or_default().insert(b);
            }
        }
    }
    let cycle = find_cycle(&edges).expect("pages <-> api is a cycle");
    assert!(cycle.contains(&"pages".to_string()) && cycle.contains(&"api".to_string()));
    // A child using its parent's items is the tree, not a cycle.
    assert_eq!(
        sibling_edge(&["db".into(), "store".into()], &["db".into()]),
        None
    );
}

#[test]
fn no_source_file_is_longer_than_one_reader_can_hold() {
    let mut files = Vec::new();
    files_under(&root().join("src"), "rs", &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f)
                .expect("readable")
                .lines()
                .count();
            (n > MAX_LINES).then(|| format!("{} ({n} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "over {MAX_LINES} lines: {long:?}");
}

#[test]
fn the_repository_cites_nothing_outside_itself() {
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches", "migrations", "docs"] {
        let d = root().join(dir);
        if d.exists() {
            files_under(&d, "rs", &mut files);
            files_under(&d, "md", &mut files);
        }
    }
    for f in ["README.md", "BENCHMARKS.md"] {
        files.push(root().join(f));
    }
    let this_file = root().join("tests").join("structure.rs");
    let mut found = Vec::new();
    for f in files.iter().filter(|f| **f != this_file) {
        let text = std::fs::read_to_string(f).expect("readable");
        for (n, line) in text.lines().enumerate() {
            let cites_outside = line.contains("../shared") || line.contains("shared/DOMAIN");
            if cites_outside || cites_issue(line) {
                found.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "citations outside the repository:\n{}",
        found.join("\n")
    );
}

/// Projects whose own trackers the code may cite for a quirk it works around.
const UPSTREAM: &[&str] = &[
    "calamine",
    "plotters",
    "sqlx",
    "sea-orm",
    "axum",
    "utoipa",
    "zip",
    "rust_xlsxwriter",
];

/// A number of this project's tracker, such as `#12`, `(#3)` or `issue 8`: the tracker is not
/// in the repository. `calamine issue #693` or `plotters#358` names an upstream quirk and is
/// allowed; `#,##0.00` is a number format and `#4e79a7` a colour.
fn cites_issue(line: &str) -> bool {
    let lower = line.to_lowercase();
    let upstream_before = |i: usize| {
        let before = lower[..i].trim_end();
        let before = before
            .strip_suffix("issues")
            .or_else(|| before.strip_suffix("issue"))
            .unwrap_or(before)
            .trim_end();
        UPSTREAM.iter().any(|u| before.ends_with(u))
    };
    let number_at = |i: usize| {
        let digits: String = lower[i..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
    };
    let hash = lower.match_indices('#').any(|(i, _)| {
        let prev = lower[..i].chars().last();
        number_at(i + 1)
            && !prev.is_some_and(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '#' | '&' | ',' | '"' | '\'')
            })
            && !upstream_before(i)
    });
    let word = ["issue ", "issues "].iter().any(|w| {
        lower.match_indices(w).any(|(i, _)| {
            let at = i + w.len();
            (number_at(at) || lower[at..].starts_with('#')) && !upstream_before(i + w.len() - 1)
        })
    });
    hash || word
}

#[test]
fn an_issue_citation_is_recognised_and_a_colour_is_not() {
    assert!(cites_issue("// see #12"));
    assert!(cites_issue("the speed targets of issue 3"));
    assert!(cites_issue("Issue #7, promise 2: an import killed"));
    assert!(cites_issue("(from before issues #5-#7)"));
    assert!(!cites_issue("fill: #4e79a7;"));
    assert!(!cites_issue("#[derive(Debug)]"));
    assert!(!cites_issue("set_num_format(\"#,##0.00\")"));
    assert!(!cites_issue("(calamine issue #684)"));
    assert!(!cites_issue(
        "an inverted range hangs it, plotters-rs/plotters#358"
    ));
}
