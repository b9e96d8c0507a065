-- POST a small job (the same shape the in-process benchmarks create) to the path given as the first argument;
-- a second argument "nolabels" leaves the labels out (no label index rows to write).
-- wrk -s bench/wrk/post.lua http://127.0.0.1:PORT -- /api/v1/jobs [nolabels]
local path = "/api/v1/jobs"
local labels = true
local n = 0

function init(args)
  if args[1] ~= nil then path = args[1] end
  if args[2] == "nolabels" then labels = false end
end

function request()
  n = n + 1
  local tail = "}"
  if labels then
    tail = string.format(',"labels":{"user":"u%d","series_id":"s%d"}}', n % 1000, n % 100)
  end
  local body = string.format('{"type":"audio.analyze","input":{"episode_id":"ep-%d","language":"en","quality":"high"}', n) .. tail
  return wrk.format("POST", path, { ["Content-Type"] = "application/json" }, body)
end
