-- wrk script of bench/http_load.py (one endpoint per run):
--   wrk ... -s bench/http_load.lua URL -- API_KEY METHOD TAG THREADS PATH [PATH ...]
-- Sends the paths in turn with X-API-Key, the threads (THREADS: wrk's -t) interleaved: thread
-- k of n sends paths k, k + n, k + 2n, ..., so no two threads send the same path until the
-- list has gone round; a POST sends a ticket whose title is unique per request (TAG, thread,
-- counter). Counts every response status per thread, and done() prints
-- one line "HTTP_LOAD_RESULT {json}": requests, duration, p50/p95/p99/max latency (µs), the
-- statuses seen and wrk's socket errors (connect, read, write, timeout).

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
  table.insert(threads, thread)
end

local paths, method, tag, stride
local counter = 0

function init(args)
  wrk.headers["X-API-Key"] = args[1]
  wrk.headers["Accept"] = "application/json"
  method, tag, stride = args[2], args[3], tonumber(args[4])
  paths = {}
  for i = 5, #args do paths[#paths + 1] = args[i] end
  if method == "POST" then wrk.headers["Content-Type"] = "application/json" end
  statuses = {}
end

function request()
  counter = counter + 1
  local path = paths[((counter - 1) * stride + thread_id - 1) % #paths + 1]
  if method == "POST" then
    local body = string.format(
      '{"title": "Load ticket %s-%d-%d", "description": "Created by bench.http_load.", "priority": "medium"}',
      tag, thread_id, counter)
    return wrk.format("POST", path, nil, body)
  end
  return wrk.format("GET", path)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses") or {}) do
      counts[code] = (counts[code] or 0) + n
    end
  end
  local parts = {}
  for code, n in pairs(counts) do parts[#parts + 1] = string.format('"%d": %d', code, n) end
  local e = summary.errors
  io.write(string.format(
    'HTTP_LOAD_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "statuses": {%s}, "socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, table.concat(parts, ", "), e.connect, e.read, e.write, e.timeout))
end
