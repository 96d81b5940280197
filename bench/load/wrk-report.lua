-- wrk script for the Marina benchmark. Prints one machine-readable line at the end:
--   WRKJSON {"requests":…,"bytes":…,"duration_us":…,"socket_errors":…,"status_errors":…,"p50_us":…,"p99_us":…}
-- Arguments after `--` vary the request (without them wrk keeps its fast static request):
--   range <length> <size>   a random `Range: bytes=a-b` of <length> bytes inside a <size>-byte blob
--   paths <p1> <p2> …       request targets taken in turn

function init(args)
  if args[1] == "range" then
    local length, size = tonumber(args[2]), tonumber(args[3])
    math.randomseed(os.time() + math.floor(os.clock() * 1000000))
    request = function()
      local start = math.random(0, size - length)
      local headers = {}
      for k, v in pairs(wrk.headers) do headers[k] = v end
      headers["Range"] = "bytes=" .. start .. "-" .. (start + length - 1)
      return wrk.format(nil, nil, headers)
    end
  elseif args[1] == "paths" then
    local paths, n = {}, 0
    for i = 2, #args do paths[#paths + 1] = args[i] end
    request = function()
      n = n + 1
      return wrk.format(nil, paths[(n % #paths) + 1])
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"bytes":%d,"duration_us":%d,"socket_errors":%d,"status_errors":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.bytes, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
