//! Request paths: one percent-encoded component ([`encode_component`]), query strings
//! (built and read with `url`'s form serializer and parser), the project scope every
//! request gets, and the instance path that requests and error checks share.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Appends `project=NAME` to a path that may already carry a query; a path that already
/// names a project is left as it is.
pub(crate) fn scope_to_project(path: &str, project: &str) -> String {
    if query_value(path, "project").is_some() {
        return path.to_owned();
    }
    with_query(path, &[("project", project)])
}

/// `path` (which has no query) with `pairs` as its query, form-encoded by `url`'s
/// serializer; `path` alone when there are no pairs.
pub(crate) fn with_params<'a>(
    path: String,
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    let query = query.extend_pairs(pairs).finish();
    if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    }
}

/// `path`, which may be a URL LXD handed out with a query of its own, with `pairs`
/// appended to that query (form-encoded; `?` or `&` as needed).
pub(crate) fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    let (base, query) = path.split_once('?').unwrap_or((path, ""));
    let query = form_urlencoded::Serializer::for_suffix(query.to_owned(), 0)
        .extend_pairs(pairs)
        .finish();
    format!("{base}?{query}")
}

/// The (decoded) value of `key` in `path`'s query, if it is there.
pub(crate) fn query_value(path: &str, key: &str) -> Option<String> {
    let query = path.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// What stays unescaped in a path segment or query value: RFC 3986's unreserved
/// characters (letters, digits, `-`, `_`, `.`, `~`). Everything else, `/`, `?`, `#`, `%`,
/// `&`, `=` and space included, is escaped, so a name is always one segment or one value.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes one path segment or query value (RFC 3986 unreserved characters stay).
pub fn encode_component(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

/// Reverses [`encode_component`] (for names read back from LXD's URL lists); a `%` not
/// followed by two hex digits stays as it is.
pub(crate) fn decode_component(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// `/1.0/instances/<name>`.
pub(crate) fn instance_path(name: &str) -> String {
    format!("/1.0/instances/{}", encode_component(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_scoping() {
        let cases = [
            ("plain", "/1.0/instances", "/1.0/instances?project=p1"),
            (
                "with query",
                "/1.0/instances?recursion=1",
                "/1.0/instances?recursion=1&project=p1",
            ),
            (
                "already scoped",
                "/1.0/instances?project=other",
                "/1.0/instances?project=other",
            ),
            (
                "file path",
                "/1.0/instances/a/files?path=%2Fetc%2Fx",
                "/1.0/instances/a/files?path=%2Fetc%2Fx&project=p1",
            ),
        ];
        for (name, path, want) in cases {
            assert_eq!(scope_to_project(path, "p1"), want, "case {name}");
        }
    }

    #[test]
    fn params_are_form_encoded() {
        let cases = [
            ("none", vec![], "/1.0/instances"),
            (
                "target",
                vec![("target", "node 2")],
                "/1.0/instances?target=node+2",
            ),
            (
                "two",
                vec![("recursion", "1"), ("path", "/a&b")],
                "/1.0/instances?recursion=1&path=%2Fa%26b",
            ),
        ];
        for (name, pairs, want) in cases {
            assert_eq!(
                with_params("/1.0/instances".into(), pairs),
                want,
                "case {name}"
            );
        }
    }

    #[test]
    fn component_encoding_round_trips() {
        for (name, raw, enc) in [
            ("plain", "vm-1234", "vm-1234"),
            ("path", "/var/vcap/bosh/x y", "%2Fvar%2Fvcap%2Fbosh%2Fx%20y"),
            ("utf8", "é", "%C3%A9"),
            ("reserved", "a?b#c%d&e=f+g", "a%3Fb%23c%25d%26e%3Df%2Bg"),
            ("unreserved", "A-z_0.9~", "A-z_0.9~"),
        ] {
            assert_eq!(encode_component(raw), enc, "case {name}");
            assert_eq!(decode_component(enc), raw, "case {name}");
        }
    }
}
