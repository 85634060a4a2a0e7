-- autocorrect/health.lua: `:checkhealth autocorrect`.
--
-- Reports the setup, the Neovim features in use, the socket, and the daemon (version and model from
-- op "info", round-trip time of op "health"). Works with the health API of Neovim 0.7/0.8
-- (require('health').report_ok ...) and of 0.9+ (vim.health.ok ...), whichever is there.
local M = {}

local uv = vim.uv or vim.loop

local function api()
  local h = vim.health
  if h and (h.ok or h.report_ok) then
    return {
      start = h.start or h.report_start, ok = h.ok or h.report_ok, info = h.info or h.report_info,
      warn = h.warn or h.report_warn, error = h.error or h.report_error,
    }
  end
  local old = require('health')
  return { start = old.report_start, ok = old.report_ok, info = old.report_info,
           warn = old.report_warn, error = old.report_error }
end

function M.check()
  local h = api()
  local ac = require('autocorrect')
  local config = require('autocorrect.config')
  local client = require('autocorrect.client')
  local ghost = require('autocorrect.ghost')

  h.start('autocorrect: setup')
  if ac.is_setup() then
    h.ok('setup() was called')
  else
    h.warn("setup() was not called: the plugin is idle", { "add require('autocorrect').setup() to your config" })
  end
  local v = vim.version()
  h.info(string.format('Neovim %d.%d.%d; ghost text drawn %s (%s)', v.major, v.minor, v.patch, ghost.position(),
    ghost.supports_inline() and 'inline virtual text available' or 'no inline virtual text in this version'))
  local buf = vim.api.nvim_get_current_buf()
  local st = ac.status(buf)
  h.info(string.format('current buffer %d (filetype %s): %s', buf, st.filetype ~= '' and st.filetype or 'none',
    st.mode == 'all' and 'active' or st.mode == 'code' and 'active in comments and strings' or 'not active'))

  h.start('autocorrect: daemon')
  local opts = config.options
  local path = client.path() or config.socket_path(opts)
  local stat = uv.fs_stat(path)
  if not stat then
    h.error('no socket at ' .. path, { 'start the daemon: autocorrectd', 'or set start_daemon = true',
      'or set socket = "PATH" to where your daemon listens' })
  elseif stat.type ~= 'socket' then
    h.error(path .. ' exists but is not a socket (' .. stat.type .. ')')
  else
    h.ok('socket ' .. path)
  end
  if opts.start_daemon then
    local cmd = opts.daemon_cmd[1]
    if vim.fn.executable(cmd) == 1 then
      h.ok('start_daemon: ' .. vim.fn.exepath(cmd))
    else
      h.error("start_daemon is on but '" .. cmd .. "' is not executable", { 'set daemon_cmd' })
    end
  end
  if not ac.is_setup() then client.configure(path, opts) end
  local timeout = math.max(opts.timeout_ms, 1000)
  local info, err = client.request_sync({ op = 'info' }, timeout)
  if not info then
    h.error('no answer from the daemon: ' .. tostring(err))
    return
  end
  if info.error and info.error ~= vim.NIL then
    h.error('the daemon answered an error: ' .. tostring(info.error.message))
    return
  end
  h.ok(string.format('autocorrectd %s', tostring(info.version)))
  local m = info.model
  if type(m) == 'table' and next(m) then
    local parts = {}
    for _, k in ipairs({ 'path', 'n_layer', 'n_embd', 'n_vocab', 'n_ctx', 'quantization', 'dictionary_words' }) do
      if m[k] ~= nil and m[k] ~= vim.NIL then parts[#parts + 1] = k .. ' ' .. tostring(m[k]) end
    end
    h.ok('model: ' .. (info.loaded and info.loaded ~= vim.NIL and tostring(info.loaded) or '')
      .. (#parts > 0 and (' (' .. table.concat(parts, ', ') .. ')') or ''))
  elseif info.loaded and info.loaded ~= vim.NIL then
    h.ok('model: ' .. tostring(info.loaded))
  else
    h.warn('the daemon reports no model loaded')
  end
  local times = {}
  for _ = 1, 5 do
    local t0 = uv.hrtime()
    local r = client.request_sync({ op = 'health' }, timeout)
    if not r then break end
    times[#times + 1] = (uv.hrtime() - t0) / 1e6
  end
  if #times == 0 then
    h.warn('no answer to "health" requests')
  else
    table.sort(times)
    local ms = times[math.ceil(#times / 2)]
    local msg = string.format('round trip %.2f ms (median of %d)', ms, #times)
    if ms < 20 then h.ok(msg) else h.warn(msg .. ': slow for typing') end
  end
  local probe = client.request_sync({ op = 'complete', before = 'The quick brown', max_tokens = 4 }, timeout)
  if probe and not probe.error and type(probe.completions) == 'table' then
    local t = probe.timings
    h.ok(string.format('a completion took %s ms in the daemon',
      type(t) == 'table' and t.ms and tostring(t.ms) or '?'))
  elseif probe and probe.error then
    h.warn('a completion request failed: ' .. tostring(probe.error.message))
  end
end

return M
