//! `scripts/dist`: its tarball holds one directory with the three static programs,
//! `SHA256SUMS` that checks, and an `INSTALL` that says what each is; the
//! `repack-stemcell` in it carries the `bosh-lxd-helper` beside it.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use bosh_lxd_tests::workspace_root;

const PROGRAMS: [&str; 3] = ["bosh-lxd-helper", "cpi", "repack-stemcell"];

fn run(cmd: &mut Command) -> String {
    let out: Output = cmd.output().expect("run a command");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{cmd:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn the_dist_tarball_holds_the_static_programs_sums_and_install() {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let scratch = std::env::temp_dir().join(format!("bosh-lxd-dist-{}", &id[..12]));
    std::fs::create_dir_all(&scratch).unwrap();
    let result = std::panic::catch_unwind(|| check(&scratch));
    std::fs::remove_dir_all(&scratch).unwrap();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

fn check(scratch: &Path) {
    let printed = run(Command::new(workspace_root().join("scripts/dist")).arg(scratch));
    let tarball = Path::new(printed.lines().last().unwrap().trim());
    let file = tarball.file_name().unwrap().to_str().unwrap();
    let prefix = concat!("bosh-lxd-", env!("CARGO_PKG_VERSION"), "+");
    assert!(
        file.starts_with(prefix) && file.ends_with("-linux-amd64.tgz"),
        "{file}"
    );
    assert_eq!(tarball.parent(), Some(scratch));
    run(Command::new("tar")
        .arg("-xzf")
        .arg(tarball)
        .arg("-C")
        .arg(scratch));
    let dir = scratch.join(file.trim_end_matches(".tgz"));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut want = vec!["INSTALL", "SHA256SUMS"];
    want.extend(PROGRAMS);
    assert_eq!(names, want);

    let sums = run(Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&dir));
    let install = std::fs::read_to_string(dir.join("INSTALL")).unwrap();
    assert!(install.contains("sha256sum -c SHA256SUMS"), "{install}");
    for program in PROGRAMS {
        assert!(sums.contains(&format!("{program}: OK")), "{sums}");
        assert!(
            install.contains(&format!("\n{program} ")),
            "{program} in {install}"
        );
        let ldd = Command::new("ldd").arg(dir.join(program)).output().unwrap();
        let said = String::from_utf8_lossy(&[ldd.stdout, ldd.stderr].concat()).into_owned();
        assert!(
            said.contains("not a dynamic executable") || said.contains("statically linked"),
            "{program}: {said}"
        );
    }
    let version = run(Command::new(dir.join("repack-stemcell")).arg("--version"));
    let helper_sum = sums_of(&dir, "bosh-lxd-helper");
    let carried = format!("helper: bosh-lxd-helper {}+", env!("CARGO_PKG_VERSION"));
    let line = version.lines().find(|l| l.starts_with(&carried)).unwrap();
    assert!(
        line.contains(&format!("+{} built in", &helper_sum[..12])),
        "{version}"
    );
}

/// The SHA-256 that `SHA256SUMS` in `dir` lists for `name`.
fn sums_of(dir: &Path, name: &str) -> String {
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
    sums.lines()
        .find_map(|l| l.strip_suffix(&format!("  {name}")))
        .unwrap_or_else(|| panic!("{name} in {sums}"))
        .to_string()
}
