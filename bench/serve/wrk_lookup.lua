-- wrk_lookup.lua - wrk script for bench/serve/run.sh, the cross-check of
-- serve_load's requests/s:
--   wrk -t2 -c64 -d20s -s bench/serve/wrk_lookup.lua http://127.0.0.1:PORT -- SAMPLE [PATH]
-- SAMPLE: banked hashes, one hex hash per line (serve_load_bank --sample).
-- PATH: /m/raw_lookup (default) or /m/lookup. The requests cycle through
-- every sample hash (exact matches) alternating with as many random hashes
-- (no matches), all built once in init() so request() costs nothing.

local reqs = {}
local n = 0
local i = 0

local function random_hex()
  local t = {}
  for k = 1, 64 do
    local d = math.random(0, 15)
    t[k] = string.sub("0123456789abcdef", d + 1, d + 1)
  end
  return table.concat(t)
end

function init(args)
  local file = args[1]
  local path = args[2] or "/m/raw_lookup"
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
  for line in io.lines(file) do
    if #line == 64 then
      n = n + 1
      reqs[n] = wrk.format("GET", path .. "?signal_type=pdq&signal=" .. line)
      n = n + 1
      reqs[n] = wrk.format("GET", path .. "?signal_type=pdq&signal=" .. random_hex())
    end
  end
  if n == 0 then
    error("no hashes in " .. tostring(file))
  end
  i = math.random(1, n)
end

function request()
  i = i % n + 1
  return reqs[i]
end
