-- wrk script for bench/run.py: replays one pre-built request and prints a JSON summary.
--
-- The request comes from the file named by BENCH_REQUEST_FILE, written by run.py:
--   line 1: method, line 2: request target (path?query), then "Name: value" header lines,
--   an empty line, then the body (the rest of the file, byte for byte).
-- wrk builds the request once per thread (no request() callback), so the load generator does no
-- per-request Lua work; it adds Content-Length itself. The done() callback prints one line
-- "BENCH_JSON {...}" with wrk's own counters and latency percentiles (microseconds).

local request_file = os.getenv("BENCH_REQUEST_FILE")
if request_file == nil or request_file == "" then
   error("BENCH_REQUEST_FILE is not set")
end

local f = assert(io.open(request_file, "rb"))
wrk.method = f:read("*l")
wrk.path = f:read("*l")
wrk.headers = {}
while true do
   local line = f:read("*l")
   if line == nil or line == "" then
      break
   end
   local name, value = line:match("^([^:]+):%s*(.*)$")
   if name == nil then
      error("bad header line in " .. request_file .. ": " .. line)
   end
   wrk.headers[name] = value
end
local body = f:read("*a")
f:close()
if body ~= nil and body ~= "" then
   wrk.body = body
else
   wrk.body = nil
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,'
         .. '"non_2xx_3xx":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,'
         .. '"timeouts":%d,"mean_us":%.1f,"stdev_us":%.1f,"min_us":%d,"max_us":%d,'
         .. '"p50_us":%d,"p75_us":%d,"p90_us":%d,"p99_us":%d}\n',
      summary.requests, summary.duration, summary.bytes,
      e.status, e.connect, e.read, e.write, e.timeout,
      latency.mean, latency.stdev, latency.min, latency.max,
      latency:percentile(50), latency:percentile(75), latency:percentile(90),
      latency:percentile(99)))
end
