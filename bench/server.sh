# Sourced by the benchmark scripts: builds the release binary ($bin) and prints the machine
# line. `start_server MODE` starts `brokeros serve --durability MODE` (full or relaxed) on a free
# loopback port over a fresh data directory, with the public routes' rate limit off ($data, $port, $server); `stop_server` stops it and
# removes the directory (also done on exit).
cargo build --release --locked -p brokeros
bin="${CARGO_TARGET_DIR:-target}/release/brokeros"
server=""
data=""
stop_server() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; fi
  if [ -n "$data" ]; then rm -rf "$data"; fi
  server=""
  data=""
}
trap stop_server EXIT
start_server() {
  data=$(mktemp -d)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  # --public-burst 0: the load comes from one address, which the public routes' per-source
  # limiter would otherwise stop after its burst.
  RUST_LOG=warn "$bin" serve --durability "${1:-full}" --port "$port" --data-dir "$data" --public-burst 0 2>/dev/null &
  server=$!
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/health" >/dev/null && break
    sleep 0.1
  done
}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/{print $2}') GiB"
echo "data directory filesystem: $(df -PT "${TMPDIR:-/tmp}" | awk 'NR==2{print $1, $2}')"
