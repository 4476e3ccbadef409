-- wrk script: rotates over the tile paths in $TILE_URLS (one path per line), each wrk thread
-- starting at a different offset. Headers given with -H are added by wrk.format.
local urls = {}
for line in io.lines(os.getenv("TILE_URLS")) do
  if #line > 0 then urls[#urls + 1] = line end
end
local i = 0
local counter = 0

setup = function(thread)
  counter = counter + 1
  thread:set("id", counter)
end

init = function(args)
  i = ((id or 1) * 7919) % #urls
end

request = function()
  i = i + 1
  if i > #urls then i = 1 end
  return wrk.format("GET", urls[i])
end
