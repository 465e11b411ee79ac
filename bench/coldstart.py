"""Cold-start (init) time of each Lambda binary: from process start to its first request to the
Lambda Runtime API (`GET /2018-06-01/runtime/invocation/next`), against a local stub of that
API. bench/coldstart.sh builds the binaries and runs this; run it directly as

    python3 bench/coldstart.py --bin-dir target/release --template-json T.json [--runs 30] FUNCTION...

Each function gets the environment the template gives it (Globals + its own Variables, every
!Ref/!GetAtt replaced by a plausible name or ARN), plus what Lambda itself sets (region,
credentials, function name, memory...), so its start-up does what it does in AWS: reads its
configuration, builds the SDK clients and, for provider-webhooks, fetches the webhook secrets
(`GetSecretValue`, answered by the same stub via AWS_ENDPOINT_URL_SECRETS_MANAGER). The stub
holds the first `next` request open; the process is then killed and the next run starts fresh.

Only the standard library is used.
"""

import argparse
import http.server
import json
import os
import statistics
import subprocess
import sys
import threading
import time

ACCOUNT = "123456789012"
REGION = "us-east-1"

CA_BUNDLE = os.environ.get("COLDSTART_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
EMPTY_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out", "empty-cert-dir")

SECRET_DOCUMENT = json.dumps(
    {"kyc": "k" * 40, "psp": {"simcard": "c" * 40, "simcrypto": "y" * 40}}
)


class Stub(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.first_next = None
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.secret_calls = 0

    def handle_error(self, request, client_address):
        pass  # a killed function's connection breaks mid-answer: expected

    def reset(self):
        with self.lock:
            self.first_next = None
            self.arrived.clear()
            self.release.clear()
            self.secret_calls = 0


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        now = time.perf_counter()
        if self.path.startswith("/2018-06-01/runtime/invocation/next"):
            with self.server.lock:
                if self.server.first_next is None:
                    self.server.first_next = now
            self.server.arrived.set()
            # Hold the request, as Lambda does while no event is waiting.
            self.server.release.wait(timeout=30)
            self.send_response(503)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        self.send_response(404)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        self.rfile.read(length)
        target = self.headers.get("x-amz-target", "")
        if target == "secretsmanager.GetSecretValue":
            self.server.secret_calls += 1
            body = json.dumps(
                {
                    "ARN": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:bench-AbCdEf",
                    "Name": "bench",
                    "SecretString": SECRET_DOCUMENT,
                    "VersionId": "v1",
                    "VersionStages": ["AWSCURRENT"],
                    "CreatedDate": 1.7e9,
                }
            ).encode()
            self.send_response(200)
            self.send_header("content-type", "application/x-amz-json-1.1")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(404)
        self.send_header("content-length", "0")
        self.end_headers()


def fake_value(template, value, stub_url):
    """A string for an environment value of the template: literals as they are, references as
    the name or ARN the resource would have."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Ref" in value:
        name = value["Ref"]
        resources = template.get("Resources", {})
        if name in resources:
            kind = resources[name]["Type"]
            lower = name.lower()
            if kind == "AWS::DynamoDB::Table":
                return f"brokeros-bench-{lower}"
            if kind == "AWS::SQS::Queue":
                return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/brokeros-bench-{lower}.fifo"
            if kind == "AWS::Serverless::StateMachine":
                return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:brokeros-bench-{lower}"
            if kind == "AWS::SecretsManager::Secret":
                return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:brokeros-bench-{lower}-AbCdEf"
            if kind == "AWS::S3::Bucket":
                return f"brokeros-bench-{lower}"
            return f"brokeros-bench-{lower}"
        default = template.get("Parameters", {}).get(name, {}).get("Default", "")
        return str(default)
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"arn:aws:bench:{REGION}:{ACCOUNT}:{value['Fn::GetAtt'][0]}"
    return json.dumps(value)


def environment(template, binary, stub, stub_url):
    functions = {
        r["Metadata"]["BuildProperties"]["Binary"]: r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Serverless::Function"
    }
    if binary not in functions:
        sys.exit(f"coldstart: {binary} is not a function of the template")
    function = functions[binary]
    variables = dict(
        template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    )
    variables.update(function["Properties"].get("Environment", {}).get("Variables", {}))
    memory = function["Properties"].get(
        "MemorySize", template.get("Globals", {}).get("Function", {}).get("MemorySize", 128)
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        # What the Lambda service sets.
        "AWS_LAMBDA_RUNTIME_API": stub_url,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "ASIABENCHBENCHBENCH0",
        "AWS_SECRET_ACCESS_KEY": "bench/bench/bench/bench/bench/bench/bench0",
        "AWS_SESSION_TOKEN": "bench-session-token",
        "AWS_LAMBDA_FUNCTION_NAME": f"brokeros-bench-{binary}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/brokeros-bench-{binary}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/24/[$LATEST]bench",
        "LAMBDA_TASK_ROOT": "/var/task",
        # No shared config files in Lambda; none read here either.
        "AWS_CONFIG_FILE": "/nonexistent/brokeros-bench-config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/brokeros-bench-credentials",
        "AWS_EC2_METADATA_DISABLED": "true",
        # Lambda's AL2023 keeps its CA roots in one bundle (/etc/pki/tls/certs/ca-bundle.crt);
        # Debian adds a directory of ~140 hashed links that rustls-native-certs would read and
        # parse too, on top of the bundle. The SDK's HTTPS client loads the roots at init.
        "SSL_CERT_FILE": CA_BUNDLE,
        "SSL_CERT_DIR": EMPTY_DIR,
        # The one call made at init (provider-webhooks) goes to the stub.
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": f"http://{stub_url}",
    }
    for name, value in variables.items():
        env[name] = fake_value(template, value, stub_url)
    env["RUST_LOG"] = "warn"
    return env


def measure(path, env, stub, runs):
    times = []
    secret_calls = 0
    for _ in range(runs):
        stub.reset()
        started = time.perf_counter()
        process = subprocess.Popen(
            [path], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        arrived = stub.arrived.wait(timeout=10)
        first = stub.first_next
        secret_calls += stub.secret_calls
        process.kill()
        stub.release.set()
        _, stderr = process.communicate()
        if not arrived or first is None:
            sys.exit(
                f"coldstart: {os.path.basename(path)} never asked for an event; it said:\n"
                + stderr.decode(errors="replace")[-2000:]
            )
        times.append((first - started) * 1000.0)
    return times, secret_calls


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin-dir", required=True)
    parser.add_argument("--template-json", required=True)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--json-out")
    parser.add_argument("functions", nargs="+")
    args = parser.parse_args()
    with open(args.template_json) as f:
        template = json.load(f)

    os.makedirs(EMPTY_DIR, exist_ok=True)
    stub = Stub()
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    stub_url = f"127.0.0.1:{stub.server_address[1]}"

    results = {}
    print(f"{'function':<24} {'runs':>4} {'min ms':>8} {'median ms':>10} {'p90 ms':>8} {'max ms':>8}  init calls")
    for binary in args.functions:
        path = os.path.join(args.bin_dir, binary)
        env = environment(template, binary, stub, stub_url)
        measure(path, env, stub, 2)  # warm the page cache
        times, secret_calls = measure(path, env, stub, args.runs)
        times.sort()
        p90 = times[min(len(times) - 1, int(round(0.9 * (len(times) - 1))))]
        calls = f"GetSecretValue x{secret_calls // args.runs}" if secret_calls else "-"
        print(
            f"{binary:<24} {len(times):>4} {times[0]:>8.2f} {statistics.median(times):>10.2f} {p90:>8.2f} {times[-1]:>8.2f}  {calls}"
        )
        results[binary] = {
            "runs": len(times),
            "min_ms": round(times[0], 2),
            "median_ms": round(statistics.median(times), 2),
            "p90_ms": round(p90, 2),
            "max_ms": round(times[-1], 2),
            "init_calls": calls,
        }
    stub.shutdown()
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
