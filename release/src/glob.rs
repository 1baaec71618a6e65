//! The globs of a package spec's `files` and `excluded_files`, matched against relative
//! paths.
//!
//! Supported: `*` (any run of characters within one path component), `?` (one
//! character), and `**` as a whole component (any number of components, none included).
//! Character classes and braces are refused rather than matched wrongly.

use anyhow::{Result, bail};

/// A parsed glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    parts: Vec<String>,
}

impl Glob {
    /// Parses `pattern`; it must be relative and use only the syntax above.
    pub fn new(pattern: &str) -> Result<Glob> {
        if pattern.is_empty() || pattern.starts_with('/') {
            bail!("glob `{pattern}`: must be a non-empty relative path");
        }
        if let Some(c) = pattern
            .chars()
            .find(|c| matches!(c, '[' | ']' | '{' | '}' | '\\'))
        {
            bail!("glob `{pattern}`: `{c}` is not supported (only `*`, `?` and `**`)");
        }
        let parts: Vec<String> = pattern.split('/').map(str::to_string).collect();
        if parts.iter().any(|p| p.is_empty() || p == "." || p == "..") {
            bail!("glob `{pattern}`: empty, `.` or `..` component");
        }
        Ok(Glob { parts })
    }

    /// Whether the `/`-separated relative `path` matches.
    pub fn matches(&self, path: &str) -> bool {
        let comps: Vec<&str> = path.split('/').collect();
        let parts: Vec<&str> = self.parts.iter().map(String::as_str).collect();
        match_parts(&parts, &comps)
    }
}

/// Matches glob components against path components.
fn match_parts(parts: &[&str], comps: &[&str]) -> bool {
    match parts.split_first() {
        None => comps.is_empty(),
        Some((&"**", rest)) => (0..=comps.len()).any(|skip| match_parts(rest, &comps[skip..])),
        Some((first, rest)) => match comps.split_first() {
            Some((comp, comps_rest)) => {
                match_component(first.as_bytes(), comp.as_bytes()) && match_parts(rest, comps_rest)
            }
            None => false,
        },
    }
}

/// Matches one component with `*` and `?`.
fn match_component(pat: &[u8], text: &[u8]) -> bool {
    match pat.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|skip| match_component(rest, &text[skip..])),
        Some((b'?', rest)) => !text.is_empty() && match_component(rest, char_tail(text)),
        Some((c, rest)) => text.first() == Some(c) && match_component(rest, &text[1..]),
    }
}

/// `text` without its first UTF-8 character.
fn char_tail(text: &[u8]) -> &[u8] {
    let width = match text.first() {
        Some(b) if *b >= 0xf0 => 4,
        Some(b) if *b >= 0xe0 => 3,
        Some(b) if *b >= 0xc0 => 2,
        _ => 1,
    };
    &text[width.min(text.len())..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, path: &str) -> bool {
        Glob::new(pattern).unwrap().matches(path)
    }

    #[test]
    fn literal_paths_match_only_themselves() {
        assert!(m("lxd_cpi/cpi", "lxd_cpi/cpi"));
        assert!(!m("lxd_cpi/cpi", "lxd_cpi/cpi2"));
        assert!(!m("lxd_cpi/cpi", "lxd_cpi"));
    }

    #[test]
    fn a_star_stays_within_one_component() {
        assert!(m("lxd_cpi/*", "lxd_cpi/cpi"));
        assert!(m("lxd_cpi/*.tgz", "lxd_cpi/a.tgz"));
        assert!(!m("lxd_cpi/*", "lxd_cpi/a/b"));
        assert!(m("l?d_cpi/cpi", "lxd_cpi/cpi"));
        assert!(m("*/é?", "x/éé"));
    }

    #[test]
    fn a_double_star_spans_components() {
        assert!(m("src/**/*.go", "src/a.go"));
        assert!(m("src/**/*.go", "src/a/b/c.go"));
        assert!(!m("src/**/*.go", "other/a.go"));
        assert!(m("**", "a/b"));
    }

    #[test]
    fn unsupported_syntax_is_refused() {
        for bad in ["a/[ab]", "{a,b}", "/abs", "a/../b", "", "a//b"] {
            assert!(Glob::new(bad).is_err(), "{bad}");
        }
    }
}
