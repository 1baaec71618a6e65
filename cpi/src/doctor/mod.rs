//! `cpi doctor --config FILE`: checks, from the machine the CPI runs on and with its
//! config, what the CPI relies on: the config, the daemon (reached as the CPI reaches it),
//! its release and API extensions, the client certificate's restrictions, the project and
//! its features, the profile, the network, the storage pool, and lxcfs. One line per check
//! (`report`); exit 1 when one failed. It only reads: the daemon is reached through
//! `reader::Reader`, which can only GET.

mod certificate;
mod host;
mod objects;
mod reader;
mod report;
mod server;

use std::path::Path;
use std::process::ExitCode;

pub use report::{Line, Report, Status};
pub use server::REQUIRED_EXTENSIONS;

use crate::config::{Config, ConfigError, LxdEndpoint};
use objects::Names;
use reader::Reader;

/// Runs every check, prints one line each and a count; exit 1 when one failed.
pub fn run(config_path: &Path) -> ExitCode {
    // Only errors on stderr: what the doctor found is on stdout, line by line.
    crate::logging::init(tracing::Level::ERROR);
    let mut report = Report::printing();
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(check_all(config_path, &mut report)),
        Err(e) => report.fail("cpi doctor", format!("cannot start the async runtime: {e}")),
    }
    println_summary(&report);
    if report.failed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[allow(clippy::print_stdout)] // the doctor's output is for a person at a terminal
fn println_summary(report: &Report) {
    println!("{}", report.summary());
}

/// Every check in order; a check whose precondition failed is reported as skipped.
pub async fn check_all(config_path: &Path, report: &mut Report) {
    const LATER: &[&str] = &[
        "server",
        "client certificate",
        "project",
        "profile",
        "network",
        "storage pool",
        "lxcfs",
    ];
    let Some(config) = check_config(config_path, report) else {
        skip(report, &["daemon"], "needs a valid config");
        skip(report, LATER, "needs a valid config");
        return;
    };
    let reader = match Reader::new(&config) {
        Ok(reader) => reader,
        Err(e) => {
            report.fail("daemon", format!("{e}: fix it in the config"));
            skip(report, LATER, "needs the daemon");
            return;
        }
    };
    let Some(server) = server::check_daemon(&reader, &config, report).await else {
        skip(report, LATER, "needs the daemon");
        return;
    };
    server::check_server(&server, report);
    certificate::check(&reader, &server, &config, report).await;
    let names = Names {
        lxd: &config.lxd,
        cli: server::cli(&server),
        https: matches!(config.lxd.endpoint(), Ok(LxdEndpoint::Https(_))),
    };
    if objects::check_project(&reader, &names, report).await {
        objects::check_profile(&reader, &names, report).await;
        objects::check_network(&reader, &names, report).await;
        objects::check_pool(&reader, &names, report).await;
    } else {
        let why = format!(
            "needs project {:?} (its objects are looked up in it)",
            config.lxd.project
        );
        skip(report, &["profile", "network", "storage pool"], &why);
    }
    host::check_lxcfs(&server, report);
}

fn skip(report: &mut Report, subjects: &[&str], why: &str) {
    for subject in subjects {
        report.skip(*subject, why);
    }
}

/// The config loads and validates; its warnings become WARN lines.
fn check_config(path: &Path, report: &mut Report) -> Option<Config> {
    let subject = "config";
    match Config::load(path) {
        Ok(config) => {
            let lxd = &config.lxd;
            report.ok(
                subject,
                format!(
                    "{} is valid: lxd.url {}, project {}, profile {}, network {}, storage pool {}",
                    path.display(),
                    lxd.url,
                    lxd.project,
                    lxd.profile,
                    lxd.network,
                    lxd.storage_pool
                ),
            );
            for warning in config.warnings() {
                report.warn(subject, warning);
            }
            Some(config)
        }
        Err(e) => {
            report.fail(subject, format!("{e}{}", config_hint(&e)));
            None
        }
    }
}

/// What to do about a config that did not load (a read error already says it).
fn config_hint(err: &ConfigError) -> &'static str {
    match err {
        ConfigError::Read { .. } => "",
        ConfigError::Syntax { .. } | ConfigError::Field { .. } => {
            ": fix it in the file, or in the lxd_cpi job's properties it is rendered from"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_checks(path: &Path) -> Report {
        let mut report = Report::default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        match runtime {
            Ok(rt) => rt.block_on(check_all(path, &mut report)),
            Err(e) => panic!("runtime: {e}"),
        }
        report
    }

    #[test]
    fn a_config_that_does_not_load_fails_and_skips_the_rest() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let no_mbus = dir.path().join("no-mbus.json");
        std::fs::write(&no_mbus, r#"{"lxd": {}, "agent": {}}"#).unwrap_or_else(|e| panic!("{e}"));
        let cases = [
            (dir.path().join("absent.json"), "cannot read CPI config"),
            (no_mbus, "agent.mbus"),
        ];
        for (path, text) in cases {
            let report = run_checks(&path);
            let first = report
                .lines()
                .first()
                .map(ToString::to_string)
                .unwrap_or_default();
            assert!(
                first.starts_with("FAIL config: ") && first.contains(text),
                "{first}"
            );
            assert!(
                report
                    .lines()
                    .iter()
                    .skip(1)
                    .all(|l| l.status == Status::Skip)
            );
            assert_eq!(report.lines().len(), 9, "one line per check");
        }
    }
}
