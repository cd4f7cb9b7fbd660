-- wrk script: POST a multipart upload (task, params, file) and print the latency summary as one JSON line.
-- Usage: VISIONQ_BENCH_FILE=img.png VISIONQ_BENCH_TASK=noop wrk -s bench/wrk_upload.lua URL/predict
local boundary = "visionqbenchboundary"
local f = assert(io.open(os.getenv("VISIONQ_BENCH_FILE"), "rb"))
local file = f:read("*a")
f:close()
local task = os.getenv("VISIONQ_BENCH_TASK") or "noop"

local function part(name, value, extra)
  return "--" .. boundary .. "\r\nContent-Disposition: form-data; name=\"" .. name .. "\"" .. (extra or "") .. "\r\n\r\n" .. value .. "\r\n"
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
wrk.body = part("task", task) .. part("params", "{}")
  .. "--" .. boundary .. "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.png\"\r\nContent-Type: image/png\r\n\r\n"
  .. file .. "\r\n--" .. boundary .. "--\r\n"

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status
    + summary.errors.timeout
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": %d, "p50_us": %d, "p99_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, errors, latency:percentile(50), latency:percentile(99), latency.mean))
end
