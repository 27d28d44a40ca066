//! Developer tasks for the Palisade workspace.
//!
//! `cargo run -p xtask -- codegen` generates one `crates/model-<service>` crate per service from
//! the pinned botocore's service models; `cargo run -p xtask -- codegen --check` only compares
//! what it would generate with what is on disk, and fails on any difference (CI runs it).

mod botocore;
mod emit;
mod lower;
mod names;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

/// The services Palisade implements, by botocore folder name.
const SERVICES: &[&str] = &[
    "kms",
    "secretsmanager",
    "ssm",
    "sts",
    "iam",
    "organizations",
    "cloudtrail",
    "events",
    "logs",
    "cloudwatch",
    "wafv2",
    "shield",
    "fms",
    "guardduty",
    "securityhub",
    "inspector2",
    "detective",
    "ec2-instance-connect",
];

const USAGE: &str = "usage: cargo run -p xtask -- codegen [--check]

  codegen          generate crates/model-<service> from the pinned botocore
  codegen --check  compare instead of writing; exit 1 listing the files that differ

Environment: BOTOCORE_DATA points at a botocore `data` folder (default: the one of
<repo>/.venv, made by scripts/python-env).";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["codegen"] => codegen(false),
        ["codegen", "--check"] => codegen(true),
        ["help" | "--help" | "-h"] => {
            println!("{USAGE}");
            Ok(true)
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: xtask lives at `<root>/crates/xtask`. Cargo sets `CARGO_MANIFEST_DIR`
/// for `cargo run`; the compile-time value covers running the binary directly.
fn repo_root() -> Result<PathBuf, String> {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest
        .parent()
        .and_then(|crates| crates.parent())
        .map(PathBuf::from)
        .ok_or_else(|| format!("cannot find the workspace above {}", manifest.display()))
}

/// Generates (or with `check`, compares) every model crate. `Ok(false)` when checking found
/// differences.
fn codegen(check: bool) -> Result<bool, String> {
    let repo = repo_root()?;
    let botocore = botocore::locate(&repo)?;
    let mut files = Vec::new();
    for &name in SERVICES {
        let raw = botocore::load_service(&botocore.data, name)?;
        let service = lower::lower(name, &raw)?;
        let dir = PathBuf::from("crates").join(emit::crate_dir(name));
        for file in emit::crate_files(&service, &botocore.version) {
            files.push((dir.join(file.path), file.contents));
        }
    }
    let files = output::format(&repo, files)?;
    if check {
        let differing = output::compare(&repo, &files)?;
        if differing.is_empty() {
            println!(
                "codegen: {} files are up to date (botocore {})",
                files.len(),
                botocore.version
            );
            return Ok(true);
        }
        eprintln!("codegen --check: these files differ from what codegen generates:");
        for path in &differing {
            eprintln!("  {}", path.display());
        }
        eprintln!("run `cargo run -p xtask -- codegen` and commit the result");
        Ok(false)
    } else {
        let report = output::write(&repo, &files)?;
        println!(
            "codegen: {} files from botocore {}: {} written, {} unchanged, {} stale removed",
            files.len(),
            botocore.version,
            report.written,
            report.unchanged,
            report.removed
        );
        Ok(true)
    }
}
