-- tests/nvim/daemon_spec.lua: the plugin against the REAL daemon (build/bin/autocorrectd) with the
-- tiny fixture model (tests/fixtures/tiny) and the shipped dictionary. Each test starts its own
-- daemon on a temporary socket (env AC_NVIM_DAEMON names the binary; tests/sh/test_nvim_daemon.sh
-- sets it). The tiny model writes nonsense, but deterministic nonsense: the tests compare what the
-- plugin shows and inserts with what the daemon answers to the same request.
local H = require('helpers')

local daemon = vim.env.AC_NVIM_DAEMON or (H.root .. '/build/bin/autocorrectd')
local model = H.root .. '/tests/fixtures/tiny'
local config = H.tmp .. '/daemon.toml'
local user_dict = H.tmp .. '/user_dictionary.txt'
local n_sock = 0

local f = assert(io.open(config, 'w'))
f:write(string.format('user_dictionary_path = "%s"\nthreads = 1\nworkers = 2\n', user_dict))
f:close()

local function daemon_cmd()
  return { daemon, '--config', config, '--model', model }
end

-- Starts a daemon on `sock` (a fresh path when nil); returns the socket and a stop function.
local function start_daemon(sock)
  if vim.fn.executable(daemon) ~= 1 then H.skip(daemon .. ' is not built') end
  if not sock then
    n_sock = n_sock + 1
    sock = H.tmp .. '/d' .. n_sock .. '.sock'
  end
  local cmd = daemon_cmd()
  vim.list_extend(cmd, { '--socket', sock })
  local log = {}
  local job = vim.fn.jobstart(cmd, { on_stderr = function(_, d) vim.list_extend(log, d) end })
  H.ok(job > 0, 'cannot start ' .. daemon)
  local up = vim.wait(10000, function()
    local st = vim.loop.fs_stat(sock)
    return st and st.type == 'socket' and H.request(sock, { op = 'health' }, 500) ~= nil
  end, 20)
  if not up then
    vim.fn.jobstop(job)
    H.ok(false, 'the daemon did not come up: ' .. table.concat(log, '\n'))
  end
  local stopped = false
  local function stop()
    if stopped then return end
    stopped = true
    vim.fn.jobstop(job)
    vim.fn.jobwait({ job }, 5000)
  end
  H.cleanup(stop)
  return sock, stop
end

local function child_for(sock, extra)
  local child = H.child({ setup = vim.tbl_deep_extend('force', { socket = sock }, extra or {}) })
  H.cleanup(function() child:stop() end)
  child:edit('text')
  return child
end

-- What the plugin would show for `before`: the daemon's completions for the plugin's request,
-- cleaned the way the plugin cleans them (first line, no trailing blanks, no blank ones).
local function expected(sock, before)
  local r = assert(H.request(sock, { op = 'complete', before = before, after = '', max_tokens = 6, n = 3 }))
  H.ok(not r.error, 'daemon error: ' .. vim.inspect(r.error))
  local out = {}
  for _, c in ipairs(r.completions or {}) do
    local t = c.text:match('^[^\n]*'):gsub('%s+$', '')
    if t:match('%S') and not vim.tbl_contains(out, t) then out[#out + 1] = t end
  end
  return out
end

H.test('real daemon: ghost text appears after typing', function()
  local sock = start_daemon()
  local child = child_for(sock)
  local want = expected(sock, 'The quick brown fox')
  H.ok(#want > 0, 'the daemon has a completion for the prefix')
  child:type('iThe quick brown fox')
  local g = child:wait('require("autocorrect").ghost_text() ~= "" and require("autocorrect").ghost_text()', 3000,
    'ghost text')
  H.eq(g, want[1], 'ghost text = the daemon\'s best completion')
  H.out('# ghost after "The quick brown fox": ' .. vim.inspect(g))
end)

H.test('real daemon: accept inserts exactly the ghost text', function()
  local sock = start_daemon()
  local child = child_for(sock)
  child:type('iThe quick brown fox')
  local g = child:wait('require("autocorrect").ghost_text() ~= "" and require("autocorrect").ghost_text()', 3000)
  child:type('<Tab>')
  H.eq(child:line(1), 'The quick brown fox' .. g, 'line after accept')
  H.eq(child:lua('return vim.api.nvim_win_get_cursor(0)[2]'), #('The quick brown fox' .. g), 'cursor')
end)

H.test('real daemon: accept word inserts one word', function()
  local sock = start_daemon()
  -- find a prefix and a suggestion of the tiny model with two words or more
  local prefixes = { 'the dog', 'the', 'I saw the', 'She sells', 'the sun', 'The fox', 'a dog', 'the sea' }
  local pick
  for _, p in ipairs(prefixes) do
    for i, t in ipairs(expected(sock, p)) do
      if t:match('^%s*[%w_\'\128-\255]+%s+%S') then
        pick = { prefix = p, index = i, text = t }
        break
      end
    end
    if pick then break end
  end
  H.ok(pick, 'no suggestion of two words for any test prefix')
  local child = child_for(sock)
  child:type('i' .. pick.prefix)
  child:wait('require("autocorrect").ghost_text() ~= ""', 3000)
  for _ = 2, pick.index do child:type('<M-]>') end
  H.eq(child:ghost(), pick.text, 'the chosen suggestion shows')
  child:type('<M-Right>')
  local word = pick.text:match('^%s*[%w_\'\128-\255]+')
  H.eq(child:line(1), pick.prefix .. word, 'one word inserted')
  H.eq(child:ghost(), pick.text:sub(#word + 1), 'the rest still shown')
  H.out(string.format('# accept word: %q + %q, ghost left %q', pick.prefix, word, pick.text:sub(#word + 1)))
end)

H.test('real daemon: stale replies are dropped', function()
  local sock = start_daemon()
  local psock = H.tmp .. '/proxy.sock'
  local proxy = H.proxy(psock, sock)
  H.cleanup(proxy.close)
  -- hold the daemon's reply to the first completion request until the text has moved on
  proxy.hold_if = function(msg) return msg.op == 'complete' and msg.before == 'The quick' end
  local child = child_for(psock)
  child:type('iThe quick')
  vim.wait(3000, function() return #proxy.held > 0 end, 5)
  H.eq(#proxy.held, 1, 'the first reply is held')
  proxy.hold_if = nil
  child:type(' brown fox')
  local want = expected(sock, 'The quick brown fox')
  child:wait('require("autocorrect").ghost_text() ~= ""', 3000)
  H.eq(child:ghost(), want[1], 'ghost for the newer text')
  local dropped0 = child:lua('return require("autocorrect.client").status().stats.dropped')
  proxy.release()
  child:wait('require("autocorrect.client").status().stats.dropped > ' .. dropped0, 2000, 'the old reply arrived')
  H.eq(child:ghost(), want[1], 'the old reply changed nothing')
  H.eq(child:line(1), 'The quick brown fox', 'text unchanged')
end)

H.test('real daemon: autocorrect replaces a typo and backspace restores it', function()
  local sock = start_daemon()
  local child = child_for(sock)
  local r = assert(H.request(sock, { op = 'correct', before = 'I saw teh ', scope = 'last', last_words = 1 }))
  H.ok(r.corrections and r.corrections[1] and r.corrections[1].replacement == 'the',
    'the daemon corrects "teh": ' .. vim.inspect(r))
  child:type('iI saw teh ')
  child:wait('vim.api.nvim_get_current_line() == "I saw the "', 3000, 'correction applied')
  H.eq(child:lua('return vim.api.nvim_win_get_cursor(0)[2]'), 10, 'cursor after the space')
  child:type('<BS>')
  H.eq(child:line(1), 'I saw teh ', 'backspace restored what was typed')
  child:type('cat and teh ')
  H.sleep(300)
  H.eq(child:line(1), 'I saw teh cat and teh ', 'left alone afterwards')
end)

H.test('real daemon: :AutocorrectLearn teaches the daemon the word', function()
  local sock = start_daemon()
  local child = child_for(sock)
  child:cmd('AutocorrectLearn tehx')
  child:wait('(function() for _, n in ipairs(_G.__notes) do if n.msg:find("added", 1, true) then return true end end end)()',
    3000, 'confirmation')
  local r = assert(H.request(sock, { op = 'correct', before = 'I saw tehx ' }))
  H.eq(r.corrections, {}, 'the daemon no longer corrects the learned word')
  local fh = io.open(user_dict)
  H.ok(fh and fh:read('*a'):find('tehx', 1, true), 'written to the user dictionary')
  if fh then fh:close() end
end)

H.test('real daemon: :checkhealth autocorrect reports version, model and round trip', function()
  local sock = start_daemon()
  local child = child_for(sock)
  child:cmd('checkhealth autocorrect')
  local text = table.concat(child:lua('return vim.api.nvim_buf_get_lines(0, 0, -1, false)'), '\n')
  H.ok(text:find('autocorrectd 0%.'), 'version line:\n' .. text)
  H.ok(text:find('model:', 1, true) and text:find('tiny', 1, true), 'model line:\n' .. text)
  H.ok(text:find('round trip', 1, true), 'round trip line:\n' .. text)
  H.ok(not text:find('ERROR', 1, true), 'no errors:\n' .. text)
  for l in text:gmatch('[^\n]+') do
    if l:find('round trip', 1, true) or l:find('autocorrectd', 1, true) then H.out('# ' .. l) end
  end
end)

H.test('real daemon: complete() and the completefunc', function()
  local sock = start_daemon()
  local child = child_for(sock)
  local want = expected(sock, 'The quick brown fox')
  child:lua('vim.api.nvim_buf_set_lines(0, 0, -1, false, { "The quick brown fox" })')
  child:type('<Esc>')
  H.eq(child:lua('return require("autocorrect").complete()'), want, 'complete() in Normal mode')
  child:lua('vim.bo.completefunc = "autocorrect#complete"')
  child:type('A<C-x><C-u>')
  child:wait('vim.fn.pumvisible() == 1', 3000, 'popup menu')
  local items = child:lua('return vim.tbl_map(function(i) return i.word end, vim.fn.complete_info({ "items" }).items)')
  local want_words = expected(sock, 'The quick brown fox')
  H.eq(items[1], 'fox' .. want_words[1], 'first item completes the word')
end)

H.test('real daemon: reconnects after the daemon restarts', function()
  local sock, stop = start_daemon()
  local child = child_for(sock)
  child:type('iThe quick brown fox')
  child:wait('require("autocorrect").ghost_text() ~= ""', 3000)
  stop()
  child:wait('require("autocorrect.client").status().state == "idle"', 3000, 'disconnect seen')
  child:type(' jumps')
  H.sleep(150)
  start_daemon(sock)
  child:type('<BS>')
  local want = expected(sock, 'The quick brown fox jump')
  -- backoff is at most 5 s; keystrokes retry once it has passed
  local ok = vim.wait(8000, function()
    if child:ghost() ~= '' then return true end
    child:type('s<BS>')
    H.sleep(200)
    return false
  end, 50)
  H.ok(ok, 'no ghost after the restart')
  if want[1] then H.eq(child:ghost(), want[1], 'ghost from the new daemon') end
end)

H.test('real daemon: start_daemon starts it on first use', function()
  if vim.fn.executable(daemon) ~= 1 then H.skip(daemon .. ' is not built') end
  local sock = H.tmp .. '/started.sock'
  local child = child_for(sock, { start_daemon = true, daemon_cmd = daemon_cmd(), daemon_log = H.tmp .. '/started.log' })
  H.cleanup(function()
    local pid = child:lua('return require("autocorrect.client").status().daemon_pid')
    if pid and pid ~= vim.NIL then vim.loop.kill(pid, 'sigterm') end
  end)
  child:type('iThe quick brown fox')
  local ok = vim.wait(10000, function()
    if child:ghost() ~= '' then return true end
    child:type('x<BS>')
    H.sleep(100)
    return false
  end, 50)
  H.ok(ok, 'no ghost from the started daemon; log: ' .. (io.open(H.tmp .. '/started.log') or io.stdin):read('*a'))
  H.ok(child:lua('return require("autocorrect.client").status().daemon_pid') ~= vim.NIL, 'pid recorded')
  local warned = child:lua('return #_G.__notes')
  H.eq(warned, 0, 'no warning when the daemon is started')
end)

-- Typing cost with the daemon dead: the same keystrokes, one at a time, in a child without the
-- plugin and in one with it (its daemon killed), alternating; each keystroke's time is the RPC
-- round trip that contains its handling.
H.test('real daemon: with the daemon dead, typing costs no extra time', function()
  local sock, stop = start_daemon()
  local base = H.child({ plugin = false })
  H.cleanup(function() base:stop() end)
  base:edit('text')
  local child = child_for(sock)
  child:type('iwarm up')
  child:wait('require("autocorrect.client").connected()', 3000)
  stop()
  child:wait('not require("autocorrect.client").connected()', 3000)
  base:type('i')
  local text = 'the quick brown fox jumps over the lazy dog and then some more words follow here '
  local tb, tp = {}, {}
  for round = 1, 3 do
    for c in text:gmatch('.') do
      for _, who in ipairs(round % 2 == 1 and { 'b', 'p' } or { 'p', 'b' }) do
        local ch = who == 'b' and base or child
        local t0 = vim.loop.hrtime()
        ch:type(c)
        local dt = (vim.loop.hrtime() - t0) / 1e6
        table.insert(who == 'b' and tb or tp, dt)
      end
    end
  end
  local function stats(t)
    table.sort(t)
    local sum = 0
    for _, v in ipairs(t) do sum = sum + v end
    return sum / #t, t[math.ceil(#t * 0.5)], t[math.ceil(#t * 0.95)]
  end
  local bm, b50, b95 = stats(tb)
  local pm, p50, p95 = stats(tp)
  H.out(string.format('# keystroke handling, daemon dead, %d keys each: without plugin mean %.3f ms (p50 %.3f, p95 %.3f); '
    .. 'with plugin mean %.3f ms (p50 %.3f, p95 %.3f)', #tb, bm, b50, b95, pm, p50, p95))
  local notes = child:lua('return _G.__notes')
  H.ok(#notes <= 1, 'at most one warning: ' .. vim.inspect(notes))
  -- generous: the plugin's handlers must not add a visible delay
  H.ok(p50 < b50 + 2, string.format('median %.3f ms with the plugin vs %.3f ms without', p50, b50))
  H.ok(pm < bm * 3 + 2, string.format('mean %.3f ms with the plugin vs %.3f ms without', pm, bm))
  H.eq(child:lua('return vim.api.nvim_get_current_line()'), 'warm up' .. text:rep(3), 'typed text intact')
end)
