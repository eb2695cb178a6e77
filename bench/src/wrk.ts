/**
 * wrk (https://github.com/wg/wrk, Debian's `wrk`) as the load generator, when it is installed: a C
 * program, so the load takes no Node CPU from the two cores the servers run on. Every run is one
 * `wrk` process with a Lua script written for it:
 *
 * - request jobs: with single-use inputs, the request bodies are written to a file, one a line;
 *   each wrk thread takes its own slice (every T-th line from its id, given in `setup`) in `init`,
 *   and `request()` sends the next one. A thread out of inputs stops (`wrk.thread:stop()`), and the
 *   run counts as exhausted, as autocannon's does. Without inputs the request is static.
 * - flow jobs: each thread alternates by itself. `request()` sends a token POST when its queue holds
 *   a code, else the next authorization GET (the users' cookies in turn, a `state` of its own);
 *   `response()` checks a 302/303 (to the redirect URI, with a code, a `state` this thread sent and
 *   not yet seen back, and `iss` = the issuer) and queues the code; a 200 from the token endpoint
 *   with an access token and an ID token is one completed flow.
 *
 * Only 2xx answers count as successes (`response()` counts them; wrk's own error count has only
 * statuses above 399). `done()` prints one JSON line with the counts and wrk's latency percentiles.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FlowJob, LoadResult, RequestJob } from './load.js'

const WRK = 'wrk'
const RESULT_PREFIX = 'BENCH_RESULT '
/** Seconds: the same per-request timeout as autocannon's and the flow driver's. */
const TIMEOUT = 10

/** The installed wrk's version line (`wrk debian/4.1.0-3 …`), or undefined when there is none. */
export function wrkVersion(): string | undefined {
  const result = spawnSync(WRK, ['-v'], { encoding: 'utf8' })
  if (result.error !== undefined) return undefined
  const line = `${result.stdout}${result.stderr}`.split('\n')[0] ?? ''
  return line.startsWith('wrk ') ? line.replace(/ Copyright.*$/, '').trim() : undefined
}

/** A Lua string literal of `value` (three-digit decimal escapes for quotes, backslashes and every byte outside printable ASCII). */
function lua(value: string): string {
  const escape = (b: number) => (b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c ? String.fromCharCode(b) : `\\${String(b).padStart(3, '0')}`)
  return `"${[...Buffer.from(value, 'utf8')].map(escape).join('')}"`
}

function luaTable(headers: Record<string, string>): string {
  return `{ ${Object.entries(headers)
    .map(([k, v]) => `[${lua(k)}] = ${lua(v)}`)
    .join(', ')} }`
}

/** Shared by both scripts: thread ids, the counters and the JSON `done()` prints. */
const COMMON = `
local threads = {}
local count = 0
function setup(thread)
  thread:set("id", count)
  count = count + 1
  table.insert(threads, thread)
end

ok, non2xx, failed, used, exhausted, first, ranUs = 0, 0, 0, 0, 0, "", 0

-- wrk's own duration is always the whole -d (its main thread sleeps that long), so a thread that
-- stops early notes how long it ran, on the monotonic clock (LuaJIT's FFI).
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]]
local function nowUs()
  local t = ffi.new("bench_timespec")
  ffi.C.clock_gettime(1, t)
  return tonumber(t.tv_sec) * 1e6 + tonumber(t.tv_nsec) / 1e3
end
local startedUs = nowUs()

local function fail(message)
  failed = failed + 1
  if first == "" then first = message end
end

local function quote(s)
  return '"' .. tostring(s):gsub('[%c"\\\\]', function(c) return string.format("\\\\u%04x", c:byte()) end) .. '"'
end

function done(summary, latency, requests)
  local sum = { ok = 0, non2xx = 0, failed = 0, used = 0, exhausted = 0 }
  local firstFailure = ""
  -- The run lasted until its last thread stopped: the whole -d unless every thread ran out early.
  local durationUs = 0
  for _, t in ipairs(threads) do
    for k, _ in pairs(sum) do sum[k] = sum[k] + (t:get(k) or 0) end
    if firstFailure == "" then firstFailure = t:get("first") or "" end
    local ran = t:get("ranUs") or 0
    durationUs = math.max(durationUs, ran > 0 and ran or summary.duration)
  end
  local e = summary.errors
  io.write(string.format('${RESULT_PREFIX}{"requests":%d,"durationUs":%d,"ok":%d,"non2xx":%d,"failed":%d,"socketErrors":%d,"timeouts":%d,"used":%d,"exhausted":%d,"p50":%d,"p99":%d,"mean":%f,"max":%d,"firstFailure":%s}\\n',
    summary.requests, math.min(durationUs, summary.duration), sum.ok, sum.non2xx, sum.failed, e.connect + e.read + e.write, e.timeout, sum.used, sum.exhausted,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max, quote(firstFailure)))
end
`

/** Request jobs: a static request, or one pre-made body per request from the inputs file. */
function requestScript(job: RequestJob, inputsFile: string | undefined): string {
  const headers: Record<string, string> = { ...job.headers }
  if (job.method === 'POST') headers['Content-Type'] = 'application/x-www-form-urlencoded'
  const head = `wrk.method = ${lua(job.method)}\nwrk.path = ${lua(job.path)}\nfor k, v in pairs(${luaTable(headers)}) do wrk.headers[k] = v end\n`
  if (inputsFile === undefined) {
    return `${head}${job.method === 'POST' ? `wrk.body = ${lua(job.bodyTemplate)}\n` : ''}${COMMON}
function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 else non2xx = non2xx + 1 end
end
`
  }
  return `${head}${COMMON}
local bodies, nextBody = {}, 1
function init(args)
  local threadCount = tonumber(args[1])
  local i = 0
  for line in io.lines(${lua(inputsFile)}) do
    if i % threadCount == id then bodies[#bodies + 1] = line end
    i = i + 1
  end
end

function request()
  local body = bodies[nextBody]
  if body == nil then
    -- Out of single-use inputs: this thread stops (the figures cover the time it ran); meanwhile a
    -- harmless unknown value, as the autocannon path sends.
    if exhausted == 0 then
      exhausted = 1
      ranUs = nowUs() - startedUs
      wrk.thread:stop()
    end
    return wrk.format(nil, nil, nil, ${lua(job.bodyTemplate.replace('{{value}}', 'exhausted'))})
  end
  nextBody = nextBody + 1
  used = used + 1
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 else non2xx = non2xx + 1 end
end
`
}

/** Flow jobs: authorize with a user's cookie, then exchange the code the redirect carried. */
function flowScript(job: FlowJob, cookiesFile: string, host: string): string {
  const tokenHeaders = { Host: host, Authorization: job.authorization, 'Content-Type': 'application/x-www-form-urlencoded' }
  return `${COMMON}
local cookies, codes, head, tail, sent, n = {}, {}, 1, 0, {}, 0
local prefix = ${lua(`${job.redirectUri}?`)}
local issuer = ${lua(job.issuer)}
local tokenHeaders = ${luaTable(tokenHeaders)}

function init(args)
  for line in io.lines(${lua(cookiesFile)}) do cookies[#cookies + 1] = line end
end

local function decode(s)
  return (s:gsub("%+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function encode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

function request()
  if head <= tail then
    local code = codes[head]
    codes[head] = nil
    head = head + 1
    local h = {}
    for k, v in pairs(tokenHeaders) do h[k] = v end
    return wrk.format("POST", ${lua(job.tokenPath)}, h,
      "grant_type=authorization_code&code=" .. encode(code) .. "&redirect_uri=" .. ${lua(encodeURIComponent(job.redirectUri))} .. "&code_verifier=" .. ${lua(job.codeVerifier)})
  end
  n = n + 1
  used = used + 1
  local state = "s" .. id .. "-" .. n
  sent[state] = true
  local cookie = cookies[(n * count + id) % #cookies + 1]
  return wrk.format("GET", ${lua(job.authorizePath)} .. "&state=" .. state, { Host = ${lua(host)}, Cookie = cookie })
end

function response(status, headers, body)
  if status == 302 or status == 303 then
    local location = headers["location"] or headers["Location"] or ""
    if location:sub(1, #prefix) ~= prefix then return fail("authorize redirected to " .. location:sub(1, 120) .. ", not the redirect URI") end
    local params = {}
    for k, v in location:sub(#prefix + 1):gmatch("([^&=]+)=([^&]*)") do params[decode(k)] = decode(v) end
    if params.code == nil then return fail("authorize redirected without a code") end
    if params.state == nil or not sent[params.state] then return fail("state came back as " .. tostring(params.state) .. ", not one this thread sent") end
    sent[params.state] = nil
    if params.iss ~= issuer then return fail("iss came back as " .. tostring(params.iss) .. ", expected " .. issuer) end
    tail = tail + 1
    codes[tail] = params.code
  elseif status == 200 then
    if body:find('"access_token"', 1, true) and body:find('"id_token"', 1, true) then ok = ok + 1
    else fail("token response without access_token or id_token") end
  else
    non2xx = non2xx + 1
    if first == "" then first = "answered " .. status .. ": " .. body:sub(1, 200) end
  end
end
`
}

interface WrkOutput {
  requests: number
  durationUs: number
  ok: number
  non2xx: number
  failed: number
  socketErrors: number
  timeouts: number
  used: number
  exhausted: number
  p50: number
  p99: number
  mean: number
  max: number
  firstFailure: string
}

/**
 * Runs `job` under wrk with `threads` threads (at most one per connection), `job.connections`
 * connections, for `job.duration` seconds; answers the same figures as the autocannon path.
 */
export async function runWrk(job: RequestJob | FlowJob, threads: number): Promise<LoadResult> {
  const target = new URL(job.url)
  if (target.protocol !== 'http:' || target.hostname !== '127.0.0.1' || target.port === '') throw new TypeError(`wrk target must be http://127.0.0.1:PORT, got ${job.url}`)
  const dir = mkdtempSync(join(tmpdir(), 'authcode-wrk-'))
  try {
    const t = Math.max(1, Math.min(threads, job.connections))
    let script: string
    if (job.kind === 'flow') {
      if (job.cookies.length === 0) throw new TypeError('flow job without login sessions')
      const cookies = join(dir, 'cookies.txt')
      writeFileSync(cookies, `${job.cookies.join('\n')}\n`)
      script = flowScript(job, cookies, target.host)
    } else if (job.inputs !== undefined) {
      const inputs = join(dir, 'inputs.txt')
      writeFileSync(inputs, `${job.inputs.map((value) => job.bodyTemplate.replace('{{value}}', encodeURIComponent(value))).join('\n')}\n`)
      script = requestScript(job, inputs)
    } else {
      script = requestScript(job, undefined)
    }
    const scriptFile = join(dir, 'job.lua')
    writeFileSync(scriptFile, script)
    // wrk takes whole seconds: a shorter run (the quick warm-up) lasts one.
    const args = ['-t', String(t), '-c', String(job.connections), '-d', `${Math.max(1, Math.round(job.duration))}s`, '--timeout', `${TIMEOUT}s`, '-s', scriptFile, job.url, '--', String(t)]
    const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number | null }>((resolve, reject) => {
      const child = spawn(WRK, args, { stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      let err = ''
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk))
      child.on('error', reject)
      child.on('close', (exit) => resolve({ stdout: out, stderr: err, code: exit }))
    })
    const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX))
    if (code !== 0 || line === undefined) throw new Error(`wrk exited ${String(code)} without a result:\n${stdout}\n${stderr}`)
    const r = JSON.parse(line.slice(RESULT_PREFIX.length)) as WrkOutput
    const seconds = Math.max(r.durationUs / 1e6, 0.001)
    const ms = (us: number) => Math.round(us / 1000)
    return {
      requests: r.requests,
      ok: r.ok,
      non2xx: r.non2xx,
      errors: r.failed + r.socketErrors + r.timeouts,
      seconds,
      rps: r.ok / seconds,
      p50: ms(r.p50),
      p99: ms(r.p99),
      mean: Math.round(r.mean / 10) / 100,
      max: ms(r.max),
      usedInputs: r.used,
      exhausted: r.exhausted > 0,
      ...(r.firstFailure === '' ? {} : { firstFailure: r.firstFailure }),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
