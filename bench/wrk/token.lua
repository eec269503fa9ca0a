-- Client-credentials grant, client_secret_basic (RFC 6749 §4.4 / §2.3.1).
-- BENCH_BASIC is base64("client_id:client_secret"), set by bench/run.sh.
local dir = debug.getinfo(1, 'S').source:match('^@(.*/)') or './'
dofile(dir .. 'report.lua')
wrk.method = 'POST'
wrk.body = 'grant_type=client_credentials&scope=api%3A%2F%2Fanalytics%2F.default'
wrk.headers['Content-Type'] = 'application/x-www-form-urlencoded'
wrk.headers['Authorization'] = 'Basic ' .. assert(os.getenv('BENCH_BASIC'), 'BENCH_BASIC unset')
