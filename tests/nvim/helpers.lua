-- tests/nvim/helpers.lua: the test kit for the Neovim plugin.
--
-- The test process is a headless Neovim (tests/nvim/run.lua). Each test drives a CHILD Neovim
-- (`nvim --embed --headless -u NONE`, the plugin on its runtimepath) over RPC: keys go in with
-- nvim_input exactly as if typed, and state comes back with nvim_exec_lua. The child's main loop
-- runs on its own, so timers, autocommands and the socket behave as for a user. A fake daemon
-- (fake_server) runs in this process on a temporary UNIX socket, with a handler per test; the
-- real daemon is used by daemon_spec.lua. Output: one PASS:/FAIL:/SKIP: line per test.
local H = {}

local uv = vim.loop

H.root = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h:h:h')
H.rtp = H.root .. '/editors/nvim'
H.tmp = vim.env.AC_NVIM_TMP or vim.fn.tempname()
vim.fn.mkdir(H.tmp, 'p')

local function out(s)
  io.stdout:write(s .. '\n')
  io.stdout:flush()
end
H.out = out

-- --- assertions ----------------------------------------------------------------------------------

local function fail(msg) error({ ac_fail = msg }, 2) end

function H.eq(got, want, what)
  if not vim.deep_equal(got, want) then
    fail(string.format('%s: got %s, want %s', what or 'value', vim.inspect(got), vim.inspect(want)))
  end
end

function H.ok(cond, what)
  if not cond then fail(what or 'condition failed') end
end

-- --- children -------------------------------------------------------------------------------------

local Child = {}
Child.__index = Child

-- Starts a child Neovim. opts.plugin (default true): put the plugin on the runtimepath and source
-- plugin/autocorrect.lua. opts.setup: a table for setup() (nil: not called). opts.env: extra env.
function H.child(opts)
  opts = opts or {}
  local args = { 'nvim', '--embed', '--headless', '-u', 'NONE', '-i', 'NONE', '-n',
                 '--cmd', 'set noswapfile nomore shortmess+=I lines=30 columns=100' }
  if opts.plugin ~= false then
    vim.list_extend(args, { '--cmd', 'set rtp^=' .. H.rtp, '--cmd', 'runtime plugin/autocorrect.lua' })
  end
  local jopts = { rpc = true }
  if opts.env and next(opts.env) then jopts.env = opts.env end
  local chan = vim.fn.jobstart(args, jopts)
  assert(chan > 0, 'cannot start a child nvim')
  local c = setmetatable({ chan = chan }, Child)
  -- capture notifications so tests can count warnings
  c:lua([[
    _G.__notes = {}
    vim.notify = function(msg, level) table.insert(_G.__notes, { msg = msg, level = level }) end
  ]])
  if opts.setup then
    local ok = c:lua('return require("autocorrect").setup(...)', opts.setup)
    assert(ok == true, 'setup failed: ' .. vim.inspect(c:lua('return _G.__notes')))
  end
  return c
end

-- Runs Lua in the child; returns its value.
function Child:lua(code, ...)
  return vim.rpcrequest(self.chan, 'nvim_exec_lua', code, { ... })
end

function Child:cmd(c)
  return vim.rpcrequest(self.chan, 'nvim_command', c)
end

-- Types keys (the <> notation) as a user would; returns at once.
function Child:input(keys)
  return vim.rpcrequest(self.chan, 'nvim_input', keys)
end

-- Types keys, then waits until the child has handled them (an RPC round trip after them).
function Child:type(keys)
  self:input(keys)
  return self:lua('return 1')
end

function Child:line(row)
  return self:lua('return vim.api.nvim_buf_get_lines(0, ' .. ((row or 0) - 1) .. ', ' .. (row or 0) .. ', false)[1]')
end

function Child:ghost()
  return self:lua('return require("autocorrect").ghost_text()')
end

function Child:mode()
  return vim.rpcrequest(self.chan, 'nvim_get_mode').mode
end

-- Waits until the Lua expression `expr` (evaluated in the child) is truthy; returns its last value.
function Child:wait(expr, timeout_ms, what)
  local v
  local ok = vim.wait(timeout_ms or 2000, function()
    v = self:lua('return ' .. expr)
    return v and v ~= vim.NIL
  end, 5)
  if not ok then fail(string.format('timed out waiting for %s (last value %s)', what or expr, vim.inspect(v))) end
  return v
end

-- Lets the child run for ms milliseconds (its timers fire, replies arrive).
function H.sleep(ms)
  vim.wait(ms, function() return false end, 5)
end

function Child:stop()
  pcall(vim.fn.jobstop, self.chan)
end

-- A fresh text buffer in the child (filetype `ft`, default text), in Insert mode.
function Child:edit(ft, lines)
  self:cmd('enew!')
  self:lua('vim.bo.filetype = ...', ft or 'text')
  if lines then self:lua('vim.api.nvim_buf_set_lines(0, 0, -1, false, ...)', lines) end
  self:type('<Esc>')
end

-- --- the fake daemon ----------------------------------------------------------------------------

-- A tiny server speaking the daemon's protocol on a UNIX socket: each request line is decoded,
-- recorded in S.requests, and given to S.handler(msg, reply, S), where reply(tbl) sends tbl (with
-- the request's id) back. S.close() stops it.
function H.fake_server(path, handler)
  os.remove(path)
  local srv = uv.new_pipe(false)
  assert(srv:bind(path))
  local S = { requests = {}, clients = {}, handler = handler, path = path }
  srv:listen(16, function(err)
    assert(not err, err)
    local c = uv.new_pipe(false)
    srv:accept(c)
    S.clients[#S.clients + 1] = c
    local buf = ''
    c:read_start(function(e, chunk)
      if e or not chunk then
        if not c:is_closing() then c:close() end
        return
      end
      buf = buf .. chunk
      while true do
        local nl = buf:find('\n', 1, true)
        if not nl then break end
        local line = buf:sub(1, nl - 1)
        buf = buf:sub(nl + 1)
        vim.schedule(function()
          local msg = vim.json.decode(line)
          S.requests[#S.requests + 1] = msg
          S.handler(msg, function(rep)
            rep.id = msg.id
            if not c:is_closing() then c:write(vim.json.encode(rep) .. '\n') end
          end, S)
        end)
      end
    end)
  end)
  function S.close()
    for _, c in ipairs(S.clients) do
      if not c:is_closing() then c:close() end
    end
    if not srv:is_closing() then srv:close() end
    os.remove(path)
  end
  function S.count(op)
    local n = 0
    for _, r in ipairs(S.requests) do if not op or r.op == op then n = n + 1 end end
    return n
  end
  function S.last(op)
    for i = #S.requests, 1, -1 do
      if not op or S.requests[i].op == op then return S.requests[i] end
    end
  end
  return S
end

-- The fake daemon in a process of its own (fake_daemon.lua) on `path`; stopped after the test.
function H.fake_process(path)
  os.remove(path)
  local job = vim.fn.jobstart({ 'nvim', '--headless', '-u', 'NONE', '-i', 'NONE', '-n',
    '-c', 'luafile ' .. H.root .. '/tests/nvim/fake_daemon.lua' }, { env = { AC_FAKE_SOCKET = path } })
  H.cleanup(function() vim.fn.jobstop(job) end)
  local up = vim.wait(5000, function()
    local st = uv.fs_stat(path)
    return st and st.type == 'socket'
  end, 10)
  H.ok(up, 'the fake daemon process did not start')
  return job
end

-- A handler for the fake daemon: completions from `complete(before, after)` (a list of strings),
-- corrections of the words listed in `typos` (word -> { to, p }), learn, info, health.
function H.fake_handler(complete, typos)
  typos = typos or {}
  return function(msg, reply)
    if msg.op == 'complete' then
      local list = complete(msg.before, msg.after or '') or {}
      local comps = {}
      for _, t in ipairs(list) do comps[#comps + 1] = { text = t, score = -1 } end
      reply({ completions = comps, partial = false })
    elseif msg.op == 'correct' then
      local fixes = {}
      local init = 1
      while true do
        local s, e = msg.before:find("[%a']+", init)
        if not s then break end
        local w = msg.before:sub(s, e)
        local t = typos[w]
        if t and e < #msg.before then
          fixes[#fixes + 1] = { start = s - 1, ['end'] = e, original = w, replacement = t.to,
                                score = math.log(t.p), candidates = t.candidates }
        end
        init = e + 1
      end
      reply({ corrections = fixes, partial = false })
    elseif msg.op == 'learn' then
      reply({ learned = 1 })
    elseif msg.op == 'info' then
      reply({ status = 'ok', version = '0.0-fake', loaded = 'fake model', model = { name = 'fake', n_layer = 2 } })
    elseif msg.op == 'health' then
      reply({ status = 'ok' })
    else
      reply({ error = { code = 'unknown_op', message = 'unknown op' } })
    end
  end
end

-- One request to a daemon at `path` over a fresh connection, from this process; waits up to
-- timeout_ms. Returns the decoded reply or nil and a message.
function H.request(path, msg, timeout_ms)
  local pipe = uv.new_pipe(false)
  local reply, err, buf = nil, nil, ''
  pipe:connect(path, function(cerr)
    if cerr then err = cerr return end
    pipe:read_start(function(rerr, chunk)
      if rerr or not chunk then err = err or rerr or 'closed' return end
      buf = buf .. chunk
      local nl = buf:find('\n', 1, true)
      if nl then reply = buf:sub(1, nl - 1) end
    end)
    pipe:write(vim.json.encode(msg) .. '\n')
  end)
  vim.wait(timeout_ms or 3000, function() return reply ~= nil or err ~= nil end, 2)
  if not pipe:is_closing() then pipe:close() end
  if not reply then return nil, err or 'timeout' end
  return vim.json.decode(reply)
end

-- A proxy on `path` that forwards lines to the daemon at `target` and back. S.hold(fn): while
-- fn(request) is true for a request, its reply is kept in S.held (call S.release()).
function H.proxy(path, target)
  os.remove(path)
  local srv = uv.new_pipe(false)
  assert(srv:bind(path))
  local S = { held = {}, pipes = {}, hold_if = nil }
  srv:listen(16, function()
    local c = uv.new_pipe(false)
    srv:accept(c)
    local up = uv.new_pipe(false)
    S.pipes[#S.pipes + 1] = c
    S.pipes[#S.pipes + 1] = up
    local held_ids = {}
    local cbuf, ubuf = '', ''
    up:connect(target, function(cerr)
      assert(not cerr, cerr)
      up:read_start(function(e, chunk)
        if e or not chunk then return end
        ubuf = ubuf .. chunk
        while true do
          local nl = ubuf:find('\n', 1, true)
          if not nl then break end
          local line = ubuf:sub(1, nl)
          ubuf = ubuf:sub(nl + 1)
          local id = line:match('^{"id":(%d+)')
          if id and held_ids[tonumber(id)] then
            S.held[#S.held + 1] = function() if not c:is_closing() then c:write(line) end end
          elseif not c:is_closing() then
            c:write(line)
          end
        end
      end)
      c:read_start(function(e, chunk)
        if e or not chunk then return end
        cbuf = cbuf .. chunk
        while true do
          local nl = cbuf:find('\n', 1, true)
          if not nl then break end
          local line = cbuf:sub(1, nl)
          cbuf = cbuf:sub(nl + 1)
          local ok, msg = pcall(vim.json.decode, line)
          if ok and S.hold_if and S.hold_if(msg) then held_ids[msg.id] = true end
          up:write(line)
        end
      end)
    end)
  end)
  function S.release()
    for _, f in ipairs(S.held) do f() end
    S.held = {}
  end
  function S.close()
    for _, p in ipairs(S.pipes) do if not p:is_closing() then p:close() end end
    if not srv:is_closing() then srv:close() end
    os.remove(path)
  end
  return S
end

-- --- running tests ------------------------------------------------------------------------------

local tests = {}

function H.test(name, fn) tests[#tests + 1] = { name = name, fn = fn } end

-- Marks the running test as skipped.
function H.skip(why) error({ ac_skip = why }, 2) end

local cleanups = {}
-- Runs fn after the current test, pass or fail.
function H.cleanup(fn) cleanups[#cleanups + 1] = fn end

function H.run()
  local failed = 0
  local only = vim.env.AC_NVIM_ONLY
  for _, t in ipairs(tests) do
    if not only or t.name:find(only, 1, true) then
      local ok, err = xpcall(t.fn, function(e)
        if type(e) == 'table' then return e end
        return { ac_fail = tostring(e) .. '\n' .. debug.traceback('', 2) }
      end)
      for i = #cleanups, 1, -1 do pcall(cleanups[i]) end
      cleanups = {}
      if ok then
        out('PASS: nvim ' .. t.name)
      elseif err.ac_skip then
        out('SKIP: nvim ' .. t.name .. ': ' .. err.ac_skip)
      else
        failed = failed + 1
        out('FAIL: nvim ' .. t.name .. ': ' .. tostring(err.ac_fail):gsub('\n', '\n    '))
      end
    end
  end
  return failed
end

return H
