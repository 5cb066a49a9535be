-- POST /api/v1/transactions: a new sale of one price at a random location, each with its own
-- Idempotency-Key, as kiosks send them. Arguments: number of locations, price id.
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "report.lua")

local locations, price, sent = 1, "", 0

function init(args)
  locations, price = tonumber(args[1]), args[2]
  math.randomseed(os.time() * 1000 + (number or 0))
end

function request()
  sent = sent + 1
  local body = string.format(
    '{"location_id": %d, "price_id": "%s", "email": "customer%d@example.com", "send_invoice": true}',
    math.random(locations), price, sent)
  local headers = {
    ["Content-Type"] = "application/json",
    ["X-Forwarded-Proto"] = "https",
    -- Kiosks are many clients: each request from its own address (documentation prefix), so the
    -- per-client rate limit is counted (its cache work measured) but never reached.
    ["X-Forwarded-For"] = string.format("2001:db8::%x:%x:%x", number or 0, math.random(65535), sent % 65536),
    ["Idempotency-Key"] = string.format("bench-%d-%d-%d-%d", number or 0, os.time(), math.random(1e9), sent),
  }
  return wrk.format("POST", "/api/v1/transactions", headers, body)
end
