-- wrk script for the Marina benchmark. Prints one machine-readable line at the end:
--   WRKJSON {"requests":…,"bytes":…,"duration_us":…,"socket_errors":…,"status_errors":…,"ok":…,"unexpected":…,"p50_us":…,"p99_us":…}
-- Arguments after `--` (in this order, each optional):
--   ok <s1,s2,…>            count responses by status: "ok" has one of these statuses, "unexpected" any other
--                           (-1 for both when not counting; counting makes wrk keep each body, so it is used for
--                           small bodies only, and wrk's own count of statuses ≥ 400 is the fallback)
--   range <length> <size>   a random `Range: bytes=a-b` of <length> bytes inside a <size>-byte blob
--   paths <p1> <p2> …       request targets taken in turn
-- Without `range` or `paths` wrk keeps its fast static request.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local i = 1
  good, bad = 0, 0
  if args[i] == "ok" then
    local wanted = {}
    for s in string.gmatch(args[i + 1], "%d+") do wanted[tonumber(s)] = true end
    response = function(status, headers, body)
      if wanted[status] then good = good + 1 else bad = bad + 1 end
    end
    counting = true
    i = i + 2
  end
  if args[i] == "range" then
    local length, size = tonumber(args[i + 1]), tonumber(args[i + 2])
    math.randomseed(os.time() + math.floor(os.clock() * 1000000))
    request = function()
      local start = math.random(0, size - length)
      local headers = {}
      for k, v in pairs(wrk.headers) do headers[k] = v end
      headers["Range"] = "bytes=" .. start .. "-" .. (start + length - 1)
      return wrk.format(nil, nil, headers)
    end
  elseif args[i] == "paths" then
    local paths, n = {}, 0
    for k = i + 1, #args do paths[#paths + 1] = args[k] end
    request = function()
      n = n + 1
      return wrk.format(nil, paths[(n % #paths) + 1])
    end
  end
end

function done(summary, latency, requests)
  local ok, unexpected = -1, -1
  for _, t in ipairs(threads) do
    if t:get("counting") then
      if ok < 0 then ok, unexpected = 0, 0 end
      ok = ok + t:get("good")
      unexpected = unexpected + t:get("bad")
    end
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"bytes":%d,"duration_us":%d,"socket_errors":%d,"status_errors":%d,"ok":%d,"unexpected":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.bytes, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    ok, unexpected, latency:percentile(50), latency:percentile(99)))
end
