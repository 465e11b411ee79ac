-- POST /leads with a new person every time (unique email and phone), so each request creates
-- a lead: validation, E.164 parsing, dedupe lookups, scoring, round-robin assignment, and one
-- transaction holding the lead, its audit event, dedupe keys, the counter and the
-- idempotency record.
dofile(os.getenv("BENCH_DIR") .. "/report.lua")

local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

local n = 0
function request()
  n = n + 1
  local body = string.format(
    '{"first_name":"Bench","last_name":"Load","email":"bench-%d-%d@example.com","phone":"+4479%02d%06d",' ..
    '"country":"GB","language":"en","utm_source":"google","utm_medium":"cpc","marketing_consent":true}',
    tid, n, 11 + tid, n % 1000000)
  return wrk.format("POST", "/leads", {
    ["Content-Type"] = "application/json",
    -- Public keys must look random (at least 22 base64url characters).
    ["Idempotency-Key"] = string.format("%08x-%04x-4%03x-a%03x-%08x%04x",
      math.random(0, 0x7fffffff), tid, math.random(0, 0xfff), math.random(0, 0xfff),
      math.random(0, 0x7fffffff), n % 0x10000),
  }, body)
end
