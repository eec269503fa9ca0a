-- POST introspection requests, each with the next token of a file (one per line), so
-- that no token comes back before thousands of others: every request misses
-- Portvakt's verified-token cache (4,096 entries per tenant). WRK_TOKENS is the file
-- and BENCH_BASIC base64("client_id:client_secret"), both set by bench/run.sh. Each
-- wrk thread starts at a different place in the list.
local dir = debug.getinfo(1, 'S').source:match('^@(.*/)') or './'
dofile(dir .. 'report.lua')
local tokens = {}
local file = assert(os.getenv('WRK_TOKENS'), 'WRK_TOKENS unset')
for line in io.lines(file) do
  if #line > 0 then tokens[#tokens + 1] = 'token=' .. line end
end
assert(#tokens > 0, 'no tokens in WRK_TOKENS')
local i = 0
local headers = {
  ['Content-Type'] = 'application/x-www-form-urlencoded',
  ['Authorization'] = 'Basic ' .. assert(os.getenv('BENCH_BASIC'), 'BENCH_BASIC unset'),
}
local started = 0
function setup(thread)
  thread:set('offset', started * 7919)
  started = started + 1
end
function init(_args)
  i = (tonumber(offset) or 0) % #tokens
end
function request()
  i = i % #tokens + 1
  return wrk.format('POST', nil, headers, tokens[i])
end
