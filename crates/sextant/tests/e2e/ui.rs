//! The web UI in a real browser: runs `npm test` in `ui/` (unit tests, then Playwright driving
//! Debian's chromium against this build's binary loaded with `sextant demo` traffic). Needs
//! node/npm and chromium (`.ci/run` installs them); screenshots go to the folder the tests print,
//! or `$SEXTANT_UI_SCREENSHOTS`.

use std::process::Command;

use crate::e2e::harness::repo_root;

#[test]
fn web_ui_in_a_real_browser() {
    let ui = repo_root().join("ui");
    if !ui.join("node_modules").exists() {
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&ui)
            .output()
            .expect("run npm ci (is node/npm installed?)");
        assert!(
            out.status.success(),
            "npm ci failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = Command::new("npm")
        .arg("test")
        .current_dir(&ui)
        .env("SEXTANT_BIN", env!("CARGO_BIN_EXE_sextant"))
        .output()
        .expect("run npm test (is node/npm installed?)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let screenshots: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("screenshot"))
        .take(3)
        .collect();
    println!("{}", screenshots.join("\n"));
    assert!(
        out.status.success(),
        "ui tests failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
