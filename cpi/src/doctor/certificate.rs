//! The client certificate (HTTPS only): trusted by the daemon, and restricted to the
//! project (the good case), restricted to other projects (a failure) or unrestricted (a
//! warning), from the certificate's own trust entry.

use serde_json::Value;

use super::reader::Reader;
use super::report::Report;
use super::server::cli;
use crate::config::Config;
use crate::lxd::{Server, ServerKind};

/// How the daemon knows the client certificate (HTTPS only): trusted, and restricted to
/// the project (the good case) or not.
pub async fn check(reader: &Reader, server: &Server, config: &Config, report: &mut Report) {
    let subject = "client certificate";
    let Some(fp) = reader.client_fingerprint() else {
        report.skip(
            subject,
            "none over the unix socket, which gives full access to the daemon; \
             restricted certificates apply over HTTPS",
        );
        return;
    };
    let project = &config.lxd.project;
    let cli = cli(server);
    if server.auth != "trusted" {
        report.fail(
            subject,
            format!(
                "SHA-256 {fp} is not trusted by the server: on its host run `{cli} config trust \
                 {} cpi.crt --restricted --projects {project} --name bosh-lxd-cpi` \
                 (README, LXD over HTTPS)",
                trust_add(server)
            ),
        );
        return;
    }
    let entry = reader
        .get::<Value>(&format!("/1.0/certificates/{fp}"))
        .await;
    match entry {
        Ok(entry) => restriction(&entry, fp, project, cli, report),
        Err(e) => report.warn(
            subject,
            format!("trusted, but its trust entry cannot be read: {e}"),
        ),
    }
}

/// `add` in LXD, `add-certificate` in Incus (whose `add` makes a join token).
fn trust_add(server: &Server) -> &'static str {
    match server.kind() {
        ServerKind::Incus => "add-certificate",
        ServerKind::Lxd | ServerKind::Other => "add",
    }
}

/// Reads `restricted` and `projects` of the certificate's trust entry.
fn restriction(entry: &Value, fp: &str, project: &str, cli: &str, report: &mut Report) {
    let subject = "client certificate";
    let projects: Vec<&str> = entry["projects"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let short = fp.get(..12).unwrap_or(fp);
    if entry["restricted"].as_bool() != Some(true) {
        report.warn(
            subject,
            format!(
                "SHA-256 {short}... is trusted without restriction: whoever holds its key may \
                 change every project and the server itself. Restrict it to the project: \
                 `{cli} config trust edit {fp}` (restricted: true, projects: [{project}])"
            ),
        );
    } else if projects.contains(&project) {
        report.ok(
            subject,
            format!(
                "SHA-256 {short}..., restricted to projects {}",
                projects.join(", ")
            ),
        );
    } else {
        report.fail(
            subject,
            format!(
                "SHA-256 {short}... is restricted to projects [{}], which do not include \
                 {project}: add it with `{cli} config trust edit {fp}`",
                projects.join(", ")
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restrictions_of_the_trust_entry() {
        let fp = "ab".repeat(32);
        let cases = [
            (
                r#"{"restricted":true,"projects":["bosh"]}"#,
                "ok  ",
                "restricted to projects bosh",
            ),
            (
                r#"{"restricted":true,"projects":["other"]}"#,
                "FAIL",
                "do not include bosh",
            ),
            (
                r#"{"restricted":false,"projects":[]}"#,
                "WARN",
                "without restriction",
            ),
        ];
        for (json, label, text) in cases {
            let mut r = Report::default();
            let entry: Value = serde_json::from_str(json).unwrap_or_default();
            restriction(&entry, &fp, "bosh", "lxc", &mut r);
            let line = r
                .lines()
                .first()
                .map(ToString::to_string)
                .unwrap_or_default();
            assert!(
                line.starts_with(label) && line.contains(text),
                "{json}: {line}"
            );
        }
    }
}
