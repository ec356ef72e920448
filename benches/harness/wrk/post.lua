-- wrk script for POST /v1.0/tenants with a fresh organisation name per request (names are unique,
-- a repeated one would be 409): "Wrk <run tag> <thread> <counter>". Arguments after `--`:
-- the run tag (letters and digits) and the bearer token.
local counter = 0
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  prefix = string.format("Wrk %s %d", args[1] or "run", tid or 0)
  headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. (args[2] or ""),
  }
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"organizationName":"%s %d","contactEmail":"ops@wrk.example","environment":"dev"}',
    prefix, counter)
  return wrk.format("POST", "/v1.0/tenants", headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"stdev":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
