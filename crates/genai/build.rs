//! Embeds the genai-prices feed (and its MIT notice) into the crate.
//!
//! The file is read from `$SEXTANT_PRICE_DATA` if set, else from the shared data folder beside the
//! workspace (`<workspace>/../shared/data/genai-prices/data.json`). The bytes are copied into
//! `OUT_DIR` and `include_str!`-ed by `src/catalog/embedded.rs`, which parses them once at first use.
//! When no file exists an empty catalog is embedded and a warning printed: the build still works
//! and every model then reports "unpriced: no price catalog embedded in this build".

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=SEXTANT_PRICE_DATA");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    let default_dir = manifest.join("../../../shared/data/genai-prices");
    let data = match std::env::var_os("SEXTANT_PRICE_DATA") {
        Some(p) => PathBuf::from(p),
        None => default_dir.join("data.json"),
    };
    println!("cargo:rerun-if-changed={}", data.display());
    let license = data.with_file_name("LICENSE");
    println!("cargo:rerun-if-changed={}", license.display());

    let (json, source) = match std::fs::read_to_string(&data) {
        Ok(text) => (text, file_label(&data)),
        Err(e) => {
            println!(
                "cargo:warning=no price catalog at {} ({e}); embedding an empty catalog, every model will be unpriced",
                data.display()
            );
            ("[]".to_string(), String::new())
        }
    };
    let notice = std::fs::read_to_string(&license).unwrap_or_default();
    write(&out.join("prices.json"), &json);
    write(&out.join("prices_license.txt"), &notice);
    write(&out.join("prices_source.txt"), &source);
}

/// A label for the catalog source that carries no machine path: the file's parent folder and name.
fn file_label(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parent = path
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{parent}/{name}")
}

fn write(path: &Path, text: &str) {
    if let Err(e) = std::fs::write(path, text) {
        panic!("cannot write {}: {e}", path.display());
    }
}
