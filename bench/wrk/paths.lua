-- GET a random path from the file named by the first script argument (one path a line).
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "report.lua")

local paths = {}

function init(args)
  for line in io.lines(args[1]) do
    if line ~= "" then paths[#paths + 1] = line end
  end
  math.randomseed(os.time() * 1000 + (number or 0))
end

function request()
  return wrk.format("GET", paths[math.random(#paths)])
end
