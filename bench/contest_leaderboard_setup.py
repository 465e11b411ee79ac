"""Sets up a contest for bench/contest-leaderboard.sh through the API of a running `brokeros serve`.

Marketing stores and publishes a contest (registration open now, running now); ENTRANTS clients
are registered by sales (profile, passport, proof of address), onboarded through the onboarding
workflow (started by an admin; the simulated KYC provider approves, the simulated platform opens
the trading account) and each registers their account for the contest with their own token;
then marketing runs the contest's scoring (`POST /contests/{id}/scoring`) and the script waits
until its leaderboard snapshot lists every entrant. Prints `ETAG=<the first page's ETag>` last.

Usage: python3 contest_leaderboard_setup.py BASE_URL BROKEROS_BIN DATA_DIR ENTRANTS CONTEST_ID
"""

import concurrent.futures
import datetime
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

BASE, BIN, DATA, ENTRANTS, CONTEST = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
# Requests in flight while setting up (the server has two cores and shares them with this script).
WORKERS = 8


def token(role, sub):
    return subprocess.run(
        [BIN, "token", "--role", role, "--sub", sub, "--data-dir", DATA],
        check=True, capture_output=True, text=True,
    ).stdout.strip()


def call(method, path, token=None, body=None, expect=(200, 201, 202)):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE + path, data=data, method=method)
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request) as response:
            status, answer, headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, answer, headers = error.code, error.read(), error.headers
    if status not in expect:
        raise SystemExit(f"{method} {path}: {status} {answer[:300]!r}")
    return json.loads(answer) if answer else None, headers


def at(hours):
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=hours)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


SALES, ADMIN, MARKETING = token("sales", "sales-1"), token("admin", "admin-1"), token("marketing", "mkt-1")


def entrant(i):
    """Client i registered, onboarded and entered: how long each part took."""
    started = time.monotonic()
    user = f"portal-bench-{i}"
    client, _ = call("POST", "/clients", SALES, {
        "first_name": "Bench", "last_name": f"Trader{i}", "email": f"trader{i}@bench.example",
        "country": "DE", "user_id": user,
        "profile": {"client_type": "individual", "date_of_birth": "1990-01-15",
                    "nationality": "DE", "residence_country": "DE",
                    "source_of_funds": "salary", "pep_declared": False},
    })
    client_id = client["id"]
    for document in ({"type": "passport", "issuing_country": "DE", "number": f"C{i:08d}"},
                     {"type": "proof_of_address", "issuing_country": "DE", "number": f"POA-{i}"}):
        call("POST", f"/clients/{client_id}/documents", SALES, document)
    onboarding, _ = call("POST", f"/clients/{client_id}/onboarding", ADMIN, {"product": "forex"})
    while True:
        run, _ = call("GET", f"/onboardings/{onboarding['id']}", ADMIN)
        if run["status"] != "running":
            break
        time.sleep(0.05)
    if not run.get("account"):
        raise SystemExit(f"onboarding of {client_id} ended {run['status']} without an account: {run}")
    onboarded = time.monotonic()
    call("POST", f"/contests/{CONTEST}/entries", token("client", user), {"login": run["account"]["login"]})
    return onboarded - started, time.monotonic() - onboarded


def main():
    call("POST", "/contests", MARKETING, {
        "id": CONTEST, "version": 1, "name": "Leaderboard Bench Cup", "mode": "live", "currency": "USD",
        "registration": {"from": at(-1), "until": at(2)},
        "period": {"from": at(-1), "until": at(3)},
        "metric": {"kind": "return"}, "rules": {"min_trades": 0},
        "prizes": {"pool": "1000.00", "payment": {"kind": "cash"},
                   "tiers": [{"from_rank": 1, "to_rank": 1, "share": "0.5"},
                             {"from_rank": 2, "to_rank": 6, "amount": "100.00"}]},
    })
    call("POST", f"/contests/{CONTEST}/publish", MARKETING, {})
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        times = list(pool.map(entrant, range(ENTRANTS)))
    took = time.monotonic() - started
    print(f"setup: {ENTRANTS} clients registered, onboarded and entered in {took:.1f} s "
          f"({WORKERS} at a time; onboarding {sum(t[0] for t in times) / len(times) * 1000:.0f} ms, "
          f"entry {sum(t[1] for t in times) / len(times) * 1000:.0f} ms on average)")
    started = time.monotonic()
    call("POST", f"/contests/{CONTEST}/scoring", MARKETING, {})
    while True:
        page, headers = call("GET", f"/contests/{CONTEST}/leaderboard?limit=50")
        if page["snapshot"] >= 1 and page["entrants"] == ENTRANTS:
            break
        time.sleep(0.1)
    print(f"scoring run: snapshot {page['snapshot']} of {page['entrants']} entrants published in "
          f"{time.monotonic() - started:.1f} s; first page {len(page['items'])} rows, "
          f"{len(json.dumps(page))} bytes of JSON")
    print(f"ETAG={headers['ETag']}")


main()
