-- autocorrect/client.lua: the one connection to autocorrectd, over its UNIX socket.
--
-- Newline-delimited JSON both ways (docs/protocol.md), over a libuv pipe (vim.loop): no external
-- Lua library, no process per request, nothing that blocks. Every request gets an id; its reply
-- is matched by id, and a reply whose request is no longer pending (superseded, given up, or from a
-- previous connection) is dropped here. Requests of one session supersede the older ones of that
-- session on the daemon, and here too: the older one's callback never runs.
--
-- Connection life: connected lazily by the first request; when the daemon goes away the pending
-- requests fail and the next request reconnects; failed connects back off (250 ms doubling to 5 s),
-- and while backing off a request returns at once without touching the socket, so typing never
-- waits for a missing daemon. With `start_daemon` the plugin starts the daemon once and waits for
-- its socket; without it the first failure gives one warning and later ones stay quiet.
--
-- This file is not the ghost text nor the corrections: callers give a callback, which runs on the
-- main loop (vim.schedule), at most once, and only for a request that request() said it sent.
local M = {}

local uv = vim.uv or vim.loop -- vim.uv from Neovim 0.10 on

local BACKOFF_MIN_MS = 250
local BACKOFF_MAX_MS = 5000
local QUEUE_MAX = 32         -- requests held while a connection is being made
local SPAWN_POLL_MS = 100    -- how often to try the socket of a daemon we started

local S = {
  path = nil,           -- socket path
  opts = nil,           -- the plugin's options (start_daemon, daemon_cmd, ...)
  pipe = nil,           -- uv pipe when connected
  state = 'idle',       -- 'idle' | 'connecting' | 'connected'
  rbuf = {},            -- chunks of a line not yet complete
  pending = {},         -- id -> { cb, session, t0 }
  session_last = {},    -- session -> id of its newest pending request
  queue = {},           -- lines waiting for the connection: { id, line }
  next_id = 0,
  retry_at = 0,         -- uv.now() before which no connect is tried
  backoff = 0,
  warned = false,       -- the one "no daemon" warning was given
  last_error = nil,     -- the last connect or I/O error (for :checkhealth and status)
  connected_once = false,
  spawned = nil,        -- { pid, started, handle, log } of a daemon we started
  spawn_failed = false,
  generation = 0,       -- bumped on every new connection; callbacks of older ones are void
  stats = { sent = 0, received = 0, dropped = 0, connects = 0, failures = 0 },
}

local function notify(msg, level)
  vim.schedule(function() vim.notify(msg, level or vim.log.levels.WARN) end)
end

-- Sets the socket path and options; closes a connection to another path.
function M.configure(path, opts)
  if S.path and S.path ~= path then M.close() end
  S.path = path
  S.opts = opts
  S.warned = false
  S.retry_at = 0
  S.backoff = 0
end

function M.path() return S.path end

-- A snapshot for :Autocorrect status and :checkhealth.
function M.status()
  local n = 0
  for _ in pairs(S.pending) do n = n + 1 end
  return {
    path = S.path,
    state = S.state,
    pending = n,
    last_error = S.last_error,
    daemon_pid = S.spawned and S.spawned.pid or nil,
    daemon_log = S.spawned and S.spawned.log or nil,
    stats = vim.deepcopy(S.stats),
    retry_in_ms = math.max(0, S.retry_at - uv.now()),
  }
end

-- Fails every pending and queued request (their callbacks get an error reply).
local function fail_all(code, message)
  local cbs = {}
  for id, p in pairs(S.pending) do cbs[#cbs + 1] = { id, p.cb } end
  for _, q in ipairs(S.queue) do
    cbs[#cbs + 1] = { q.id, q.cb }
  end
  S.pending, S.session_last, S.queue = {}, {}, {}
  if #cbs == 0 then return end
  vim.schedule(function()
    for _, c in ipairs(cbs) do
      pcall(c[2], { id = c[1], error = { code = code, message = message } })
    end
  end)
end

local function drop_connection(why)
  local pipe = S.pipe
  S.pipe = nil
  S.state = 'idle'
  S.rbuf = {}
  S.generation = S.generation + 1
  if pipe and not pipe:is_closing() then
    pipe:read_stop()
    pipe:close()
  end
  S.last_error = why
  fail_all('disconnected', why or 'the connection to autocorrectd closed')
end

function M.close()
  drop_connection('closed')
  S.retry_at = 0
  S.backoff = 0
end

-- One complete line from the daemon: find its request and hand the reply over.
local function dispatch(line)
  local ok, msg = pcall(vim.json.decode, line)
  if not ok or type(msg) ~= 'table' then
    S.stats.dropped = S.stats.dropped + 1
    return
  end
  local p = S.pending[msg.id]
  if not p then
    S.stats.dropped = S.stats.dropped + 1 -- a reply nobody waits for: superseded or given up
    return
  end
  S.pending[msg.id] = nil
  if p.session and S.session_last[p.session] == msg.id then S.session_last[p.session] = nil end
  S.stats.received = S.stats.received + 1
  msg._rtt_ms = (uv.hrtime() - p.t0) / 1e6
  vim.schedule(function() p.cb(msg) end)
end

local function on_read(gen)
  return function(err, chunk)
    if gen ~= S.generation then return end
    if err or not chunk then
      drop_connection(err or 'autocorrectd closed the connection')
      -- the daemon went away (restart, crash): the next request reconnects at once
      S.retry_at, S.backoff = 0, 0
      return
    end
    local start = 1
    while true do
      local nl = chunk:find('\n', start, true)
      if not nl then break end
      local piece = chunk:sub(start, nl - 1)
      local line
      if #S.rbuf > 0 then
        S.rbuf[#S.rbuf + 1] = piece
        line = table.concat(S.rbuf)
        S.rbuf = {}
      else
        line = piece
      end
      dispatch(line)
      start = nl + 1
    end
    if start <= #chunk then S.rbuf[#S.rbuf + 1] = chunk:sub(start) end
  end
end

local function write_line(id, line)
  local ok, err = pcall(S.pipe.write, S.pipe, line, function(werr)
    if werr then
      vim.schedule(function() drop_connection('write failed: ' .. tostring(werr)) end)
    end
  end)
  if not ok or err == nil then
    -- luv returns nil plus a message when the write cannot even be queued
    S.pending[id] = nil
    return false
  end
  S.stats.sent = S.stats.sent + 1
  return true
end

local spawn_daemon -- forward

local function on_connect_failed(err)
  S.state = 'idle'
  S.last_error = tostring(err)
  S.stats.failures = S.stats.failures + 1
  fail_all('unavailable', 'cannot connect to autocorrectd at ' .. tostring(S.path) .. ': ' .. tostring(err))
  local opts = S.opts or {}
  if S.spawned and uv.now() - S.spawned.started < (opts.daemon_timeout_ms or 10000) then
    S.retry_at = uv.now() + SPAWN_POLL_MS -- our daemon is still loading its model
    return
  end
  S.backoff = math.min(math.max(S.backoff * 2, BACKOFF_MIN_MS), BACKOFF_MAX_MS)
  S.retry_at = uv.now() + S.backoff
  if opts.start_daemon and not S.spawned and not S.spawn_failed then
    if spawn_daemon() then
      S.retry_at = uv.now() + SPAWN_POLL_MS
      return
    end
  end
  if not S.warned then
    S.warned = true
    notify(string.format('autocorrect: no daemon at %s (%s). Start `autocorrectd`, or set start_daemon = true. '
      .. 'The plugin stays quiet and retries in the background.', tostring(S.path), tostring(err)))
  end
end

-- Starts connecting unless connected, connecting or backing off. Never blocks.
function M.connect()
  if S.state ~= 'idle' or not S.path then return end
  if uv.now() < S.retry_at then return end
  S.state = 'connecting'
  local pipe = uv.new_pipe(false)
  local ok, err = pcall(pipe.connect, pipe, S.path, function(cerr)
    if cerr then
      pipe:close()
      vim.schedule(function() on_connect_failed(cerr) end)
      return
    end
    S.generation = S.generation + 1
    S.pipe, S.state, S.rbuf = pipe, 'connected', {}
    S.backoff, S.retry_at, S.last_error = 0, 0, nil
    S.connected_once = true
    S.stats.connects = S.stats.connects + 1
    pipe:read_start(on_read(S.generation))
    local queue = S.queue
    S.queue = {}
    for _, q in ipairs(queue) do
      S.pending[q.id] = { cb = q.cb, session = q.session, t0 = q.t0 }
      write_line(q.id, q.line)
    end
  end)
  if not ok then
    pcall(pipe.close, pipe)
    vim.schedule(function() on_connect_failed(err) end)
  end
end

-- True when connected now.
function M.connected() return S.state == 'connected' end

-- Sends one request (a table; its `id` is set here). cb(reply) runs later on the main loop, exactly
-- once, unless a newer request of the same session supersedes it (then never). Returns the id, or
-- nil when nothing was sent because the daemon is unreachable right now (cb never runs).
function M.request(msg, cb)
  if not S.path then return nil end
  if S.state == 'idle' then
    if uv.now() < S.retry_at then return nil end
    M.connect()
  end
  if S.state == 'idle' then return nil end
  S.next_id = S.next_id + 1
  local id = S.next_id
  msg.id = id
  local ok, line = pcall(vim.json.encode, msg)
  if not ok then return nil end
  line = line .. '\n'
  local session = msg.session
  if session then
    local old = S.session_last[session]
    if old then
      -- superseded: its reply (or the daemon's "cancelled") will find nobody waiting
      S.pending[old] = nil
      for i, q in ipairs(S.queue) do
        if q.id == old then table.remove(S.queue, i) break end
      end
    end
    S.session_last[session] = id
  end
  local t0 = uv.hrtime()
  if S.state == 'connected' then
    S.pending[id] = { cb = cb, session = session, t0 = t0 }
    if not write_line(id, line) then return nil end
  else
    if #S.queue >= QUEUE_MAX then table.remove(S.queue, 1) end
    S.queue[#S.queue + 1] = { id = id, line = line, cb = cb, session = session, t0 = t0 }
  end
  return id
end

-- Forgets a pending request: its callback will not run.
function M.forget(id)
  if id then S.pending[id] = nil end
end

-- Sends a request and waits up to timeout_ms for its reply, running the event loop meanwhile.
-- Returns the reply, or nil and a message. For :checkhealth, the completefunc and complete().
function M.request_sync(msg, timeout_ms)
  local deadline = uv.now() + timeout_ms
  if S.state == 'idle' and uv.now() >= S.retry_at then M.connect() end
  if S.state == 'connecting' then
    vim.wait(timeout_ms, function() return S.state ~= 'connecting' end, 2)
  end
  local reply
  local id = M.request(msg, function(r) reply = r end)
  if not id then
    return nil, 'autocorrectd is not reachable at ' .. tostring(S.path)
      .. (S.last_error and (' (' .. S.last_error .. ')') or '')
  end
  local left = math.max(1, deadline - uv.now())
  vim.wait(left, function() return reply ~= nil end, 2)
  if not reply then
    M.forget(id)
    return nil, string.format('no reply within %d ms', timeout_ms)
  end
  return reply
end

-- Starts the daemon (option daemon_cmd), detached, with its log in a file. True when started.
spawn_daemon = function()
  local opts = S.opts or {}
  local cmd = vim.deepcopy(opts.daemon_cmd or { 'autocorrectd' })
  if vim.fn.executable(cmd[1]) ~= 1 then
    S.spawn_failed = true
    notify(string.format("autocorrect: start_daemon is on, but '%s' is not an executable command "
      .. '(set daemon_cmd, or put autocorrectd on your PATH)', cmd[1]))
    S.warned = true
    return false
  end
  if opts.socket and opts.socket ~= '' then
    cmd[#cmd + 1] = '--socket'
    cmd[#cmd + 1] = S.path
  end
  local log = opts.daemon_log or (vim.fn.stdpath('cache') .. '/autocorrect-daemon.log')
  vim.fn.mkdir(vim.fn.fnamemodify(log, ':h'), 'p')
  local fd = uv.fs_open(log, 'a', 384) -- 0600
  local null = uv.fs_open('/dev/null', 'r', 0)
  local args = {}
  for i = 2, #cmd do args[#args + 1] = cmd[i] end
  local handle, pid
  handle, pid = uv.spawn(cmd[1], { args = args, detached = true, stdio = { null, fd, fd } },
    function(code, signal)
      if S.spawned and S.spawned.pid == pid then
        local early = uv.now() - S.spawned.started < (opts.daemon_timeout_ms or 10000)
        S.spawned.exited = code
        if early and code ~= 0 then
          S.spawn_failed = true
          notify(string.format('autocorrect: the daemon it started exited with status %d (signal %d); see %s',
            code, signal, log), vim.log.levels.ERROR)
        end
        S.spawned = nil
      end
      if handle and not handle:is_closing() then handle:close() end
    end)
  if fd then uv.fs_close(fd) end
  if null then uv.fs_close(null) end
  if not handle then
    S.spawn_failed = true
    notify('autocorrect: cannot start ' .. cmd[1] .. ': ' .. tostring(pid), vim.log.levels.ERROR)
    return false
  end
  handle:unref() -- the daemon outlives this Neovim; other editors and shells share it
  S.spawned = { pid = pid, started = uv.now(), handle = handle, log = log }
  return true
end

-- For tests: forget backoff and warnings as if freshly configured.
function M._reset()
  M.close()
  S.warned, S.spawn_failed, S.spawned = false, false, nil
  S.stats = { sent = 0, received = 0, dropped = 0, connects = 0, failures = 0 }
end

return M
