-- GET the URL given to wrk, with one extra header taken from the environment
-- (BENCH_HEADER_NAME, BENCH_HEADER_VALUE), so that no credential shows in the process list.
local name = os.getenv("BENCH_HEADER_NAME")
if name and name ~= "" then
   wrk.headers[name] = os.getenv("BENCH_HEADER_VALUE")
end

dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
