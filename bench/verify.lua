-- wrk: POST /license/verify with a random seeded key and one of its activated sites.
local lines = {}
for line in io.lines(os.getenv("PFC_BENCH_KEYS")) do lines[#lines + 1] = line end
math.randomseed(os.time())
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
request = function()
  local key, site = lines[math.random(#lines)]:match("^(%S+) (%S+)$")
  return wrk.format(nil, nil, nil, "license_key=" .. key .. "&site_url=" .. site)
end
