//! Links the `palisade` binary with packed relative relocations (`DT_RELR`) where the toolchain
//! and C library support them. A position-independent Rust binary holds some hundred thousand
//! relative relocations (vtables, the service models' static tables); unpacked, their table is
//! about 2.4 MB that the loader reads at every start and that stays resident. Packed, it is a few
//! kilobytes. Toolchains that cannot (GNU ld before 2.38, glibc before 2.36) link as before.

use std::path::PathBuf;
use std::process::Command;

const FLAG: &str = "-Wl,-z,pack-relative-relocs";

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=CC");
    let target = std::env::var("TARGET").unwrap_or_default();
    let host = std::env::var("HOST").unwrap_or_default();
    // Only probed where the probe can run: a native Linux build with glibc.
    if target != host || !target.ends_with("-linux-gnu") {
        return;
    }
    if packs_relocations() {
        println!("cargo::rustc-link-arg-bins={FLAG}");
    }
}

/// Whether the C compiler links a position-independent program with packed relocations, with
/// no warning (an older GNU ld ignores the option with one), and the program then runs (the C
/// library applies them).
fn packs_relocations() -> bool {
    let Some(out_dir) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        return false;
    };
    let source = out_dir.join("relr-probe.c");
    let program = out_dir.join("relr-probe");
    if std::fs::write(&source, "int main(void) { return 0; }\n").is_err() {
        return false;
    }
    let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let linked = Command::new(compiler)
        .args(["-fPIE", "-pie", FLAG, "-Wl,--fatal-warnings", "-o"])
        .arg(&program)
        .arg(&source)
        .output()
        .is_ok_and(|output| output.status.success());
    linked
        && Command::new(&program)
            .status()
            .is_ok_and(|status| status.success())
}
