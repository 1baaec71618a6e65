//! The director's rules that both building and verifying apply: valid names, release
//! versions, and a dependency graph that is closed and acyclic.

use std::collections::{BTreeMap, BTreeSet};

/// Whether `s` matches the director's `VALID_ID`, `^[-0-9A-Za-z_+.]+$`.
pub fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+' | b'.'))
}

/// Why a release version does not parse, if it does not.
///
/// Semi-semantic: `RELEASE[-PRE][+POST]`, each part dot-separated non-empty segments of
/// `[0-9A-Za-z_]` (`-` also allowed inside PRE and POST): `1`, `0.3.0`, `0+dev.4`, `v12`.
pub fn version_problem(v: &str) -> Option<String> {
    if v.is_empty() {
        return Some("the version is empty".into());
    }
    let (rest, post) = match v.split_once('+') {
        Some((r, p)) => (r, Some(p)),
        None => (v, None),
    };
    let (release, pre) = match rest.split_once('-') {
        Some((r, p)) => (r, Some(p)),
        None => (rest, None),
    };
    let segments_ok = |part: &str, dash: bool| {
        part.split('.').all(|seg| {
            !seg.is_empty()
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || (dash && b == b'-'))
        })
    };
    if !segments_ok(release, false) {
        return Some(format!(
            "version `{v}`: release part `{release}` is not semi-semantic"
        ));
    }
    if let Some(p) = pre.filter(|p| !segments_ok(p, true)) {
        return Some(format!(
            "version `{v}`: pre-release part `{p}` is not semi-semantic"
        ));
    }
    if let Some(p) = post.filter(|p| !segments_ok(p, true)) {
        return Some(format!(
            "version `{v}`: post-release part `{p}` is not semi-semantic"
        ));
    }
    None
}

/// Problems of a package dependency graph: names that do not exist, and cycles.
///
/// `deps` maps each package to the packages it depends on. Each problem is `(package,
/// description)`.
pub fn graph_problems(deps: &BTreeMap<String, Vec<String>>) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    for (name, wanted) in deps {
        for d in wanted {
            if !deps.contains_key(d) {
                problems.push((
                    name.clone(),
                    format!("depends on `{d}`, which is not in the release"),
                ));
            }
        }
    }
    problems.extend(cycle_problems(deps));
    problems
}

/// The cycles of a package dependency graph, each once, as `(package, description)`; a
/// name that does not exist ends its path.
pub fn cycle_problems(deps: &BTreeMap<String, Vec<String>>) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let mut done = BTreeSet::new();
    for start in deps.keys() {
        let mut path = Vec::new();
        if let Some(cycle) = find_cycle(start, deps, &mut path, &mut done) {
            // Report each cycle once: everything on the search path counts as seen.
            done.extend(path.drain(..));
            problems.push((
                cycle[0].clone(),
                format!("dependency cycle: {}", cycle.join(" -> ")),
            ));
        }
    }
    problems
}

/// Depth-first search from `node`; returns the first cycle found, as a closed path.
fn find_cycle(
    node: &str,
    deps: &BTreeMap<String, Vec<String>>,
    path: &mut Vec<String>,
    done: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    if done.contains(node) {
        return None;
    }
    if let Some(at) = path.iter().position(|p| p == node) {
        let mut cycle = path[at..].to_vec();
        cycle.push(node.to_string());
        return Some(cycle);
    }
    path.push(node.to_string());
    for d in deps.get(node).into_iter().flatten() {
        if let Some(cycle) = find_cycle(d, deps, path, done) {
            return Some(cycle);
        }
    }
    path.pop();
    done.insert(node.to_string());
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        edges
            .iter()
            .map(|(n, d)| (n.to_string(), d.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn valid_ids() {
        for ok in ["lxd_cpi", "bosh-lxd-cpi", "0+dev.1", "a.B-c_d+e"] {
            assert!(valid_id(ok), "{ok}");
        }
        for bad in ["", "a b", "a/b", "ä", "a:b"] {
            assert!(!valid_id(bad), "{bad}");
        }
    }

    #[test]
    fn versions() {
        for ok in ["1", "0.3.0", "0+dev.4", "v12", "1.0-rc.1+dev.2", "1.10"] {
            assert_eq!(version_problem(ok), None, "{ok}");
        }
        for bad in ["", "1..2", "+dev", "1+", "1-", "a b", "1/2"] {
            assert!(version_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn a_closed_acyclic_graph_has_no_problems() {
        assert!(
            graph_problems(&graph(&[("a", &["b"]), ("b", &[]), ("c", &["a", "b"])])).is_empty()
        );
    }

    #[test]
    fn missing_dependencies_are_named() {
        let p = graph_problems(&graph(&[("a", &["nope"])]));
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].0, "a");
        assert!(p[0].1.contains("`nope`"), "{}", p[0].1);
    }

    #[test]
    fn cycles_are_found_and_shown() {
        let p = graph_problems(&graph(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"])]));
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].1, "dependency cycle: a -> b -> c -> a");
        let selfloop = graph_problems(&graph(&[("a", &["a"])]));
        assert_eq!(selfloop[0].1, "dependency cycle: a -> a");
    }
}
