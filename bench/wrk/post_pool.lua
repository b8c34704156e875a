-- POST a new body on every request, from a pool file that bench/run.py writes:
-- line 1 is the body before the meeting id, line 2 the body after it, and every further
-- line is "<meeting id> <X-Hub-Signature>". Run it with one wrk thread (-t1), because
-- every thread would walk the same pool and repeat its meeting ids.
local prefix, suffix
local ids, signatures = {}, {}
local next_index = 0

function init(args)
   local file = assert(io.open(os.getenv("BENCH_POOL_FILE"), "rb"))
   prefix = file:read("*l")
   suffix = file:read("*l")
   for line in file:lines() do
      local id, signature = line:match("^(%S+) (%S+)$")
      ids[#ids + 1] = id
      signatures[#signatures + 1] = signature
   end
   file:close()
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   -- Past the end of the pool the ids repeat. bench/run.py sizes the pool so that this does
   -- not happen, and afterwards checks the request count against the pool size.
   next_index = next_index % #ids + 1
   wrk.headers["X-Hub-Signature"] = signatures[next_index]
   return wrk.format("POST", nil, nil, prefix .. ids[next_index] .. suffix)
end

dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
