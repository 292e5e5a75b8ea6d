# Sourced by every script: the repository root, the npm toolchain on PATH, and forge's solc.
# shellcheck shell=bash
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export ROOT
export PATH="$ROOT/node_modules/.bin:$PATH"
# foundry.toml names ../scripts/solc relative to the working directory; an absolute path here
# makes forge work from anywhere.
export FOUNDRY_SOLC="$ROOT/scripts/solc"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
warn() { printf 'warning: %s\n' "$*" >&2; }
