-- One wrk script for every case: method, body and headers come from the environment, and the
-- summary is printed as one JSON line the harness parses. With WRK_REQUESTS (a file of
-- "path<TAB>authorization" lines) each request takes the next line, cycling.
wrk.method = os.getenv("WRK_METHOD") or "GET"
local body = os.getenv("WRK_BODY")
if body and body ~= "" then wrk.body = body end
local auth = os.getenv("WRK_AUTH")
if auth and auth ~= "" then wrk.headers["Authorization"] = auth end
local ctype = os.getenv("WRK_CONTENT_TYPE")
if ctype and ctype ~= "" then wrk.headers["Content-Type"] = ctype end

local list = os.getenv("WRK_REQUESTS")
if list and list ~= "" then
  local paths, auths = {}, {}
  for line in io.lines(list) do
    local path, authorization = line:match("^([^\t]+)\t(.*)$")
    if path then
      paths[#paths + 1] = path
      auths[#auths + 1] = authorization
    end
  end
  local i = 0
  request = function()
    i = i % #paths + 1
    return wrk.format(nil, paths[i], { Authorization = auths[i] })
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"mean":%.1f,"max":%d}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
