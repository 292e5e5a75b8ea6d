//! `sqlx::migrate!` embeds `migrations/` at compile time, but a proc macro cannot ask cargo to
//! watch a directory: without this, a new migration file is left out of an incremental build.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
