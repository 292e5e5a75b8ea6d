//! Embeds the built web app (`dist/`, written by `npm run build`, which `scripts/web-setup` runs)
//! into the crate: one `include_bytes!` per file, so the binary serves exactly what was built and
//! needs no files beside it at run time. Without a build there is nothing to serve, so this fails
//! loudly and says how to make one.

use std::{
    env,
    fmt::Write as _,
    fs,
    path::{Path, PathBuf},
};

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let dist = manifest.join("dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    println!("cargo:rerun-if-changed=build.rs");
    if !dist.join("index.html").is_file() {
        panic!(
            "\n\npactum-web: the web app is not built ({} has no index.html).\n\
             Run scripts/setup (or scripts/web-setup, which runs `npm ci` and `npm run build` in \
             crates/web) and build again.\n\n",
            dist.display()
        );
    }
    let mut files = Vec::new();
    walk(&dist, &dist, &mut files);
    files.sort();
    let mut out = String::from(
        "/// Every file of the built app: its path under `dist/` and its bytes.\n\
         pub(crate) static ASSETS: &[(&str, &[u8])] = &[\n",
    );
    for (rel, abs) in &files {
        let _ = writeln!(out, "    ({rel:?}, include_bytes!({abs:?})),");
    }
    out.push_str("];\n");
    let dest = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default()).join("assets.rs");
    if let Err(e) = fs::write(&dest, out) {
        panic!("pactum-web: writing {}: {e}", dest.display());
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => panic!("pactum-web: reading {}: {e}", dir.display()),
    };
    for entry in entries.flatten() {
        let path = entry.path();
        println!("cargo:rerun-if-changed={}", path.display());
        if path.is_dir() {
            walk(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            let rel = rel.to_string_lossy().replace('\\', "/");
            out.push((rel, path.to_string_lossy().into_owned()));
        }
    }
}
