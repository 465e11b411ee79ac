#!/usr/bin/env bash
# Deployment artifacts of every Lambda function as SAM builds them: `cargo lambda build
# --release --arm64 --output-format zip` (cargo-lambda and zig from PyPI, in .tools/lambda-venv),
# then the zipped size of each <target dir>/lambda/<function>/bootstrap.zip against the 10 MB target.
# Not part of CI (a cross build of every function takes minutes on 2 cores).
#   bash bench/lambda-sizes.sh              # arm64, as deployed
#   ARCH=x86_64 bash bench/lambda-sizes.sh  # where the aarch64 target cannot be installed
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
arch=${ARCH:-arm64}
limit=$((10 * 1000 * 1000))

venv=$(bash tools/python-venv.sh lambda) ||
  { echo "error: tools/python-venv.sh lambda failed (it brings cargo-lambda and ziglang)" >&2; exit 1; }
export PATH="$venv/bin:$PATH"   # cargo-lambda finds zig (python -m ziglang) through the venv

case "$arch" in
  arm64) target=aarch64-unknown-linux-gnu; flag=--arm64 ;;
  x86_64) target=x86_64-unknown-linux-gnu; flag=--x86-64 ;;
  *) echo "error: ARCH must be arm64 or x86_64" >&2; exit 1 ;;
esac
if ! rustup target list --installed | grep -qx "$target"; then
  echo "installing the Rust standard library for $target (rustup target add) ..." >&2
  rustup target add "$target" >&2 ||
    { echo "error: rustup cannot install $target here; try ARCH=x86_64 bash bench/lambda-sizes.sh" >&2; exit 1; }
fi

# A target directory of its own: the long cross build does not hold target/'s lock (other
# cargo commands would wait for it), and SAM's own builds are left alone.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target/cargo-lambda}

packages=()
for dir in functions/*/; do
  [ -f "$dir/Cargo.toml" ] && packages+=(-p "$(basename "$dir")")
done
echo "cargo lambda build --release $flag --output-format zip ($(( ${#packages[@]} / 2 )) functions) ..." >&2
start=$(date +%s)
cargo lambda build --release "$flag" --output-format zip "${packages[@]}" >&2
echo "built in $(( $(date +%s) - start )) s ($arch, $(cargo lambda --version 2>/dev/null | head -1))"

printf '%-24s %12s %12s  %s\n' function "zip bytes" "binary bytes" "≤ 10 MB zipped"
over=0
for dir in functions/*/; do
  name=$(basename "$dir")
  [ -f "$dir/Cargo.toml" ] || continue
  zip=$CARGO_TARGET_DIR/lambda/$name/bootstrap.zip
  [ -f "$zip" ] || { echo "error: $zip was not built" >&2; exit 1; }
  zipped=$(stat -c %s "$zip")
  unzipped=$(python3 -c 'import sys, zipfile; print(sum(i.file_size for i in zipfile.ZipFile(sys.argv[1]).infolist()))' "$zip")
  ok=yes; [ "$zipped" -le "$limit" ] || { ok=NO; over=1; }
  printf '%-24s %12s %12s  %s\n' "$name" "$zipped" "$unzipped" "$ok"
done
exit "$over"
