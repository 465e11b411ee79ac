# Sourced by the benchmark scripts: builds the release binary and starts `brokeros serve` on a
# free loopback port over a fresh data directory ($data, $port, $server), stopped and removed
# on exit; prints the machine line.
cargo build --release --locked -p brokeros
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RUST_LOG=warn ./target/release/brokeros serve --port "$port" --data-dir "$data" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/health" >/dev/null && break
  sleep 0.1
done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/{print $2}') GiB"
