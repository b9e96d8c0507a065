-- POST a small job without labels (no label index rows to write) to the path given as the first argument.
-- wrk -s bench/wrk/post.lua http://127.0.0.1:PORT -- /api/v1/jobs
local path = "/api/v1/jobs"
local n = 0

function init(args)
  if args[1] ~= nil then path = args[1] end
end

function request()
  n = n + 1
  local body = string.format(
    '{"type":"audio.analyze","input":{"episode_id":"ep-%d","language":"en","quality":"high"}}',
    n)
  return wrk.format("POST", path, { ["Content-Type"] = "application/json" }, body)
end
