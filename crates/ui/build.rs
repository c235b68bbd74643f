//! Builds the web UI in `ui/` with npm and generates the table of embedded files.
//!
//! - `npm ci` runs only when `ui/node_modules` is missing or `package-lock.json` changed since the
//!   last install (a copy of the lock file is kept in `node_modules/.sextant-installed-lock`).
//! - `npm run build` (type check + esbuild, `ui/scripts/build.mjs`) writes into `$OUT_DIR/dist`, so concurrent builds with
//!   different target directories never share an output folder.
//! - Cargo reruns this script only when the UI's sources change (the `rerun-if-changed` lines).
//! - `SEXTANT_UI_DIST=<dir>` embeds an already built UI instead and needs no npm at all.
//!
//! A lock directory (`ui/.build-lock`) keeps two cargo builds from running npm in the same
//! `ui/` folder at once.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime};

/// Inputs of the UI build; a change to any of them reruns this script.
const WATCHED: [&str; 7] = [
    "src",
    "public",
    "index.html",
    "package.json",
    "package-lock.json",
    "scripts",
    "tsconfig.json",
];
const LOCK_STAMP: &str = "node_modules/.sextant-installed-lock";
/// A lock older than this is left over from a killed build.
const STALE_LOCK: Duration = Duration::from_secs(600);
const LOCK_WAIT: Duration = Duration::from_secs(900);

fn main() {
    if let Err(e) = run() {
        eprintln!("\nerror building the Sextant web UI: {e}\n");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest = env_path("CARGO_MANIFEST_DIR")?;
    let out_dir = env_path("OUT_DIR")?;
    let ui = manifest.join("../../ui");
    println!("cargo:rerun-if-env-changed=SEXTANT_UI_DIST");
    // A watched path that does not exist would rerun this script on every build.
    for path in WATCHED
        .map(|name| ui.join(name))
        .iter()
        .filter(|p| p.exists())
    {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    let dist = match std::env::var_os("SEXTANT_UI_DIST") {
        Some(dir) => {
            println!("cargo:rerun-if-changed={}", Path::new(&dir).display());
            PathBuf::from(dir)
        }
        None => {
            let dist = out_dir.join("dist");
            let _lock = BuildLock::acquire(&ui.join(".build-lock"))?;
            install_deps(&ui)?;
            build(&ui, &dist)?;
            dist
        }
    };
    let table = asset_table(&dist)?;
    fs::write(out_dir.join("assets.rs"), table).map_err(|e| format!("write assets.rs: {e}"))
}

fn env_path(name: &str) -> Result<PathBuf, String> {
    std::env::var_os(name)
        .map(PathBuf::from)
        .ok_or_else(|| format!("cargo did not set {name}"))
}

/// `npm ci` when `node_modules` is missing or was installed from another lock file.
fn install_deps(ui: &Path) -> Result<(), String> {
    let lock = fs::read(ui.join("package-lock.json"))
        .map_err(|e| format!("read ui/package-lock.json: {e}"))?;
    let installed = fs::read(ui.join(LOCK_STAMP)).ok();
    if ui.join("node_modules").is_dir() && installed.as_deref() == Some(lock.as_slice()) {
        return Ok(());
    }
    npm(ui, &["ci", "--no-audit", "--no-fund"])?;
    fs::write(ui.join(LOCK_STAMP), &lock).map_err(|e| format!("write {LOCK_STAMP}: {e}"))
}

fn build(ui: &Path, dist: &Path) -> Result<(), String> {
    let out = dist
        .to_str()
        .ok_or_else(|| format!("OUT_DIR is not UTF-8: {}", dist.display()))?;
    npm(
        ui,
        &["run", "build", "--", "--outDir", out, "--emptyOutDir"],
    )
}

/// Runs npm in `ui/`; its output goes into the error (stdout would be read by cargo).
fn npm(ui: &Path, args: &[&str]) -> Result<(), String> {
    let shown = format!("npm {}", args.join(" "));
    let output = Command::new("npm")
        .args(args)
        .current_dir(ui)
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "npm was not found on PATH. The UI is built with \
                Node.js and npm (Debian: apt-get install nodejs npm); or set \
                SEXTANT_UI_DIST to a folder holding an already built UI (ui/dist)"
                .to_owned(),
            _ => format!("cannot run {shown}: {e}"),
        })?;
    if output.status.success() {
        return Ok(());
    }
    Err(failure(&shown, &output))
}

fn failure(shown: &str, output: &Output) -> String {
    format!(
        "`{shown}` in ui/ failed ({})\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Rust source of `static ASSETS: &[Asset]`, sorted by URL path, one `include_bytes!` per file.
fn asset_table(dist: &Path) -> Result<String, String> {
    if !dist.join("index.html").is_file() {
        return Err(format!("{} holds no index.html", dist.display()));
    }
    let mut files = Vec::new();
    walk(dist, dist, &mut files)?;
    files.sort();
    let mut src = String::from(
        "/// The built UI, sorted by URL path.\npub(crate) static ASSETS: &[Asset] = &[\n",
    );
    for (url, file) in files {
        let _ = writeln!(
            src,
            "    Asset {{ path: {url:?}, content_type: {:?}, immutable: {}, bytes: include_bytes!({:?}) }},",
            content_type(&url),
            url.starts_with("/assets/"),
            file.display().to_string(),
        );
    }
    src.push_str("];\n");
    Ok(src)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<(), String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("read {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("read {}: {e}", dir.display()))?
            .path();
        if path.is_dir() {
            walk(root, &path, out)?;
            continue;
        }
        let rel = path
            .strip_prefix(root)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
        let parts = parts.ok_or_else(|| format!("non UTF-8 file name {}", path.display()))?;
        out.push((
            format!("/{}", parts.join("/")),
            path.canonicalize().unwrap_or(path),
        ));
    }
    Ok(())
}

fn content_type(url: &str) -> &'static str {
    let ext = url.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        "webmanifest" => "application/manifest+json",
        _ => "application/octet-stream",
    }
}

/// A directory that exists while one build script works in `ui/`.
struct BuildLock(PathBuf);

impl BuildLock {
    fn acquire(path: &Path) -> Result<BuildLock, String> {
        let t0 = Instant::now();
        loop {
            match fs::create_dir(path) {
                Ok(()) => {
                    // Who holds it, so that a build killed mid-way does not block the next one.
                    let _ = fs::write(path.join("pid"), std::process::id().to_string());
                    return Ok(BuildLock(path.to_owned()));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(format!("create {}: {e}", path.display())),
            }
            if is_stale(path) {
                let _ = fs::remove_file(path.join("pid"));
                let _ = fs::remove_dir(path);
                continue;
            }
            if t0.elapsed() > LOCK_WAIT {
                return Err(format!(
                    "another build holds {} (remove it if no build is running)",
                    path.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

/// Left over from a build that no longer runs: its process is gone (where `/proc` tells), or it
/// is older than any build takes.
fn is_stale(path: &Path) -> bool {
    let holder = fs::read_to_string(path.join("pid")).ok();
    let pid = holder.as_deref().map(str::trim).filter(|p| !p.is_empty());
    if let Some(pid) = pid
        && Path::new("/proc/self").exists()
        && !Path::new("/proc").join(pid).exists()
    {
        return true;
    }
    let modified = fs::metadata(path).and_then(|m| m.modified());
    modified
        .ok()
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .is_some_and(|age| age > STALE_LOCK)
}

impl Drop for BuildLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(self.0.join("pid"));
        let _ = fs::remove_dir(&self.0);
    }
}
