-- Walks distinct preloaded codes (u0000001, u0000002, ...: python -m bench preloads them) so that every request misses both cache levels
-- (per-process table and Redis): the database lookup + cache fill path.
-- Usage: wrk -s uncached.lua <url> -- <codes to walk> <wrk threads> <first code - 1>
-- Each wrk thread walks its own slice, so no code is requested twice.
local created = 0
local next_code = 0
local last_code = 0

-- Runs in the main script state; thread:set makes `thread_index` a global of that thread's state.
function setup(thread)
  thread:set("thread_index", created)
  created = created + 1
end

function init(args)
  local total = tonumber(args[1]) or 100000
  local threads = tonumber(args[2]) or 1
  local start = tonumber(args[3]) or 0
  local slice = math.floor(total / threads)
  local me = tonumber(thread_index) or 0
  next_code = start + me * slice + 1
  last_code = next_code + slice - 1
end

request = function()
  local code = next_code
  if next_code < last_code then
    next_code = next_code + 1
  end
  return wrk.format("GET", string.format("/u%07d", code))
end
