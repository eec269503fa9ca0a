-- POST a fixed form body with client_secret_basic (introspection, RFC 7662).
-- WRK_BODY is the form body and BENCH_BASIC base64("client_id:client_secret"), both
-- set by bench/run.sh per server.
local dir = debug.getinfo(1, 'S').source:match('^@(.*/)') or './'
dofile(dir .. 'report.lua')
wrk.method = 'POST'
wrk.body = assert(os.getenv('WRK_BODY'), 'WRK_BODY unset')
wrk.headers['Content-Type'] = 'application/x-www-form-urlencoded'
wrk.headers['Authorization'] = 'Basic ' .. assert(os.getenv('BENCH_BASIC'), 'BENCH_BASIC unset')
