-- GET <prefix><id> round-robin over the ids in a file (one per line); with a third argument, sent as a bearer API key.
-- wrk -s bench/wrk/get.lua http://127.0.0.1:PORT -- /api/v1/jobs/ bench/.results/http-ids.txt [KEY]
local prefix = "/api/v1/jobs/"
local ids = {}
local i = 0

function init(args)
  if args[1] ~= nil then prefix = args[1] end
  if args[2] ~= nil then
    for line in io.lines(args[2]) do
      if #line > 0 then ids[#ids + 1] = line end
    end
  end
  if #ids == 0 then ids[1] = "missing" end
  if args[3] ~= nil then wrk.headers["Authorization"] = "Bearer " .. args[3] end
  -- Threads start at different offsets so they do not ask for the same id in lock step.
  i = math.random(#ids)
end

function request()
  i = (i % #ids) + 1
  return wrk.format("GET", prefix .. ids[i])
end
