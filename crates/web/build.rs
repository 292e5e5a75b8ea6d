//! Embeds the built web app (`dist/`, written by `npm run build`, which `scripts/web-setup` runs)
//! into the crate with memory-serve: every file's bytes, media type and SHA-256 ETag, brotli
//! compressed at build time in release builds. The assets are always embedded, in debug builds
//! too (memory-serve's default there is to read them from disk at request time), so the binary
//! serves exactly what was built and needs no files beside it. Without a build there is nothing
//! to serve, so this fails loudly and says how to make one.

use std::{env, fs, path::PathBuf};

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let dist = manifest.join("dist");
    // Cargo scans a directory named here recursively for changes.
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
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default());
    let code = memory_serve::assets_to_code(&dist.to_string_lossy(), &dist, &out, true, log);
    let dest = out.join("assets.rs");
    if let Err(e) = fs::write(&dest, code) {
        panic!("pactum-web: writing {}: {e}", dest.display());
    }
}

/// memory-serve reports every file it embeds; only a file it leaves out is worth a warning.
fn log(message: &str) {
    if message.starts_with("skipping") {
        println!("cargo:warning=pactum-web: {message}");
    }
}
