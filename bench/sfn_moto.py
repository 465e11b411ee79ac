#!/usr/bin/env python3
"""State transitions per second of moto's Step Functions executor (bench/sfn.sh).

Starts `moto_server` (from the same virtualenv as this interpreter: tools/python-venv.sh) on a
free loopback port, turns on its ASL executor ({"stepfunctions": {"execute_state_machine": true}}
posted to /moto-api/config), creates a state machine from DEFINITION, starts N executions
(concurrently), polls describe_execution until every one has finished, checks they all
SUCCEEDED, counts the state transitions as the "*StateEntered" events of each execution's
history, and prints one JSON line on stdout:

  {"engine":"moto","executions":N,"transitions":T,"seconds":S,"transitions_per_second":R}

"seconds" runs from the first StartExecution call to the moment the last execution was seen
finished (it includes moto's HTTP handling of the calls, not the history reads). Details go to
stderr. The server is stopped on every exit path.

  .tools/venv/bin/python bench/sfn_moto.py --definition bench/pass-choice.asl.json --executions 100
"""

import argparse
import concurrent.futures
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROLE_ARN = "arn:aws:iam::123456789012:role/bench-sfn"
REGION = "us-east-1"
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port, server_log):
    exe = os.path.join(os.path.dirname(sys.executable), "moto_server")
    cmd = [exe] if os.access(exe, os.X_OK) else [sys.executable, "-m", "moto.server"]
    return subprocess.Popen(
        cmd + ["-H", "127.0.0.1", "-p", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=server_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_server(proc):
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_ready(proc, base, server_log, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto_server exited with {proc.returncode}:\n{read_log(server_log)}")
        try:
            with urllib.request.urlopen(f"{base}/moto-api/data.json", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.1)
    raise RuntimeError(f"moto_server did not answer on {base} within {timeout:.0f} s:\n{read_log(server_log)}")


def read_log(server_log):
    server_log.flush()
    server_log.seek(0)
    return server_log.read().decode(errors="replace")[-4000:]


def post_json(url, body):
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        if resp.status // 100 != 2:
            raise RuntimeError(f"POST {url}: HTTP {resp.status}")


def history_events(sfn, arn):
    events, token = [], None
    while True:
        kwargs = {"executionArn": arn, "maxResults": 1000}
        if token:
            kwargs["nextToken"] = token
        page = sfn.get_execution_history(**kwargs)
        events += page["events"]
        token = page.get("nextToken")
        if not token:
            return events


def run(args, base):
    import boto3
    import botocore.config

    workers = max(1, min(args.concurrency, args.executions))
    sfn = boto3.client(
        "stepfunctions",
        endpoint_url=base,
        region_name=REGION,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=botocore.config.Config(max_pool_connections=workers, retries={"max_attempts": 1}),
    )
    post_json(f"{base}/moto-api/config", {"stepfunctions": {"execute_state_machine": True}})
    with open(args.definition, encoding="utf-8") as f:
        definition = f.read()
    machine = sfn.create_state_machine(name="bench", definition=definition, roleArn=ROLE_ARN)["stateMachineArn"]

    def start(i):
        return sfn.start_execution(stateMachineArn=machine, name=f"bench-{i}", input=args.input)["executionArn"]

    began = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        arns = list(pool.map(start, range(args.executions)))
    started = time.perf_counter()
    # One execution at a time: wait for it, then the next (they run concurrently in moto, so the
    # later ones are mostly done by then). Keeps the polling load on moto's one process low.
    statuses = {}
    for arn in arns:
        while True:
            d = sfn.describe_execution(executionArn=arn)
            if d["status"] in TERMINAL:
                statuses[arn] = d
                break
            if time.perf_counter() - began > args.timeout:
                raise RuntimeError(f"executions still running after {args.timeout} s")
            time.sleep(args.poll)
    seconds = time.perf_counter() - began

    failed = {arn: d for arn, d in statuses.items() if d["status"] != "SUCCEEDED"}
    if failed:
        arn, d = next(iter(failed.items()))
        events = history_events(sfn, arn)
        raise RuntimeError(
            f"{len(failed)} of {args.executions} executions did not succeed; first: {arn} {d['status']} "
            f"error={d.get('error')!r} cause={d.get('cause')!r}; last events: {json.dumps(events[-3:], default=str)}"
        )

    counts = [
        sum(1 for e in history_events(sfn, arn) if e["type"].endswith("StateEntered")) for arn in arns
    ]
    transitions = sum(counts)
    # moto's own clock, for comparison (stderr only): first start to last stop of the executions.
    first = min(d["startDate"] for d in statuses.values())
    last = max(d["stopDate"] for d in statuses.values())
    log(
        f"moto: {args.executions} executions started in {started - began:.3f} s with {workers} threads; "
        f"state transitions per execution: {min(counts)}..{max(counts)}; "
        f"executions' own span (startDate..stopDate): {(last - first).total_seconds():.3f} s"
    )
    return {
        "engine": "moto",
        "executions": args.executions,
        "transitions": transitions,
        "seconds": round(seconds, 6),
        "transitions_per_second": round(transitions / seconds, 1),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--definition", required=True, help="ASL file (JSON)")
    p.add_argument("--executions", type=int, default=100)
    p.add_argument("--concurrency", type=int, default=8, help="threads calling StartExecution")
    p.add_argument("--input", default="{}", help="execution input (JSON)")
    p.add_argument("--poll", type=float, default=0.02, help="seconds between two polls of a running execution")
    p.add_argument("--timeout", type=float, default=1800.0, help="give up after this many seconds")
    args = p.parse_args()
    if args.executions < 1:
        p.error("--executions must be at least 1")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as server_log:
        proc = start_server(port, server_log)
        # Stop the server on SIGTERM/SIGINT too (the finally below runs on SystemExit).
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        try:
            wait_ready(proc, base, server_log)
            result = run(args, base)
        except Exception as e:  # noqa: BLE001 - report anything with the server's log tail
            log(f"error: {e}")
            if proc.poll() is not None:
                log(f"moto_server exited with {proc.returncode}:\n{read_log(server_log)}")
            return 1
        finally:
            stop_server(proc)
    print(json.dumps(result, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
