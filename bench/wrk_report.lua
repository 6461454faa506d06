-- wrk script: optional rotation through many tokens (one per line in the file
-- given after "--"; a line "token<TAB>proof" is sent with the DPoP scheme and
-- that DPoP proof; with a second argument "once", the run stops after each
-- line was sent once), and a one-line JSON report for bench/run.py.
local tokens = {}
local next_token = 1
local once = false

function init(args)
  if args[1] then
    for line in io.lines(args[1]) do
      tokens[#tokens + 1] = line
    end
  end
  once = args[2] == "once"
end

function request()
  if #tokens == 0 then
    return wrk.format()
  end
  if once and next_token == #tokens then
    wrk.thread:stop()
  end
  local line = tokens[next_token]
  next_token = next_token % #tokens + 1
  local token, proof = line:match("^([^\t]*)\t(.*)$")
  if proof then
    return wrk.format(nil, nil, { ["Authorization"] = "DPoP " .. token, ["DPoP"] = proof })
  end
  return wrk.format(nil, nil, { ["Authorization"] = "Bearer " .. line })
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"non_2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end
