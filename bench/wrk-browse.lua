-- Browsers for the HTTP-heavy benchmark capture (wrk -s; one Lua state per wrk thread, each
-- connection keep-alive as browsers keep theirs). One visit = a page, then what a browser asks
-- for it: a first-time visitor fetches the CSS, JS, font, icons and the page's visible images; a
-- returning one (70 %) has them cached and revalidates a few (If-None-Match -> 304); then the
-- page's XHR calls to the JSON API, an analytics beacon, sometimes a cart POST or a login,
-- and now and then a missing image (404). Deterministic: the same mix every recording.
math.randomseed(20261126)
local queue = {}
local UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
local cookie = "sid=4f1c2a9be07d; theme=dark; _ga=GA1.1.1873463512.1732600000; consent=analytics%2Cfunctional"

local function get(path, accept, extra)
  local h = {
    ["Host"] = "shop.local",
    ["User-Agent"] = UA,
    ["Accept"] = accept,
    ["Accept-Language"] = "en-US,en;q=0.9",
    ["Accept-Encoding"] = "gzip, deflate, br",
    ["Cookie"] = cookie,
  }
  if extra then for k, v in pairs(extra) do h[k] = v end end
  queue[#queue + 1] = wrk.format("GET", path, h)
end

local function post(path, ctype, body)
  queue[#queue + 1] = wrk.format("POST", path, {
    ["Host"] = "shop.local",
    ["User-Agent"] = UA,
    ["Accept"] = "application/json",
    ["Content-Type"] = ctype,
    ["Origin"] = "http://shop.local",
    ["Cookie"] = cookie,
  }, body)
end

local function etag(path)
  return string.format('"%x-%x"', #path, string.byte(path, #path - 4))
end

local function visit()
  local page = math.random(0, 199)
  local returning = math.random() < 0.7
  get(page == 0 and "/" or ("/page/" .. page), "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
  local statics = { "/static/main.3f9a1c.css", "/static/app.8d2e4b.js", "/static/vendor.1c77e0.js",
    "/static/fonts/inter.woff2", "/favicon.ico" }
  if returning then
    for i = 1, 2 do
      local p = statics[math.random(1, #statics)]
      get(p, "*/*", { ["If-None-Match"] = etag(p) })
    end
  else
    for _, p in ipairs(statics) do get(p, "*/*") end
    for i = 0, 5 do get("/static/icons/i" .. math.random(0, 23) .. ".svg", "image/avif,image/webp,*/*") end
  end
  -- Images above the fold; the rest load lazily when scrolled to, which most visits do not.
  for k = 0, math.random(1, 4) do
    get("/img/p" .. page .. "-" .. (k % 8) .. ".jpg", "image/avif,image/webp,image/apng,*/*;q=0.8")
  end
  if math.random() < 0.25 then get("/img/p" .. page .. "-missing.jpg", "image/avif,image/webp,*/*") end
  local api = { "/api/products/" .. math.random(1, 5000), "/api/products?category=" .. math.random(1, 40) .. "&page=1",
    "/api/cart", "/api/users/" .. math.random(1, 5000), "/api/recommendations?product=" .. page,
    "/api/search?q=blue+shoes" }
  for i = 1, math.random(2, 5) do
    get(api[math.random(1, #api)], "application/json", { ["X-Requested-With"] = "XMLHttpRequest" })
  end
  post("/api/events", "text/plain;charset=UTF-8",
    '{"type":"pageview","page":' .. page .. ',"ts":1732600000,"ref":"https://search.example/"}')
  if math.random() < 0.15 then
    post("/api/cart/items", "application/json", '{"sku":"SKU-' .. math.random(1, 99999) .. '","qty":1}')
  end
  if math.random() < 0.03 then
    post("/login", "application/x-www-form-urlencoded", "user=alice%40example.com&password=hunter2&remember=1")
  end
end

request = function()
  if #queue == 0 then visit() end
  return table.remove(queue, 1)
end
