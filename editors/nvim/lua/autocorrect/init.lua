-- autocorrect: the Neovim client of autocorrectd (local completion and autocorrect as you type).
--
-- Usage (doc/autocorrect.txt has it all):
--     require('autocorrect').setup({ complete = { debounce_ms = 60 } })
--
-- This file wires the pieces together: setup() (options, highlights, autocommands, keys), the
-- Insert-mode change handler that decides between "the ghost still fits" and "ask again after a
-- pause", the completion requests, the :Autocorrect command and the public functions. The pieces:
-- config.lua (options), client.lua (socket), buffer.lua (where and what text), ghost.lua (ghost
-- text), correct.lua (corrections), keymaps.lua (keys), health.lua (:checkhealth autocorrect).
local M = {}

local api = vim.api
local uv = vim.uv or vim.loop -- vim.uv from Neovim 0.10 on
local config = require('autocorrect.config')
local client = require('autocorrect.client')
local buffer = require('autocorrect.buffer')
local ghost = require('autocorrect.ghost')
local correct = require('autocorrect.correct')
local keymaps = require('autocorrect.keymaps')

local did_setup = false
local timer = nil
local group = nil

-- Counters for :Autocorrect status and the tests.
M.stats = { requests = 0, replies = 0, stale = 0, shown = 0 }

function M.is_setup() return did_setup end

local function highlights()
  vim.cmd([[
    highlight default link AutocorrectGhost Comment
    highlight default link AutocorrectCorrected DiffChange
    highlight default AutocorrectSuspect cterm=undercurl gui=undercurl guisp=#d7875f
  ]])
end

local function in_insert()
  return api.nvim_get_mode().mode:sub(1, 1) == 'i'
end

local function snapshot(buf)
  local cur = api.nvim_win_get_cursor(0)
  return { tick = api.nvim_buf_get_changedtick(buf), row = cur[1], col = cur[2], lines = api.nvim_buf_line_count(buf) }
end

local function on_complete_reply(buf, req, reply)
  local st = buffer.peek(buf)
  if not st or st.req ~= req then
    M.stats.stale = M.stats.stale + 1
    return
  end
  st.req = nil
  M.stats.replies = M.stats.replies + 1
  if reply.error or reply.cancelled then return end
  if buf ~= api.nvim_get_current_buf() or not in_insert() then return end
  local cur = api.nvim_win_get_cursor(0)
  if api.nvim_buf_get_changedtick(buf) ~= req.tick or cur[1] ~= req.row or cur[2] ~= req.col then
    M.stats.stale = M.stats.stale + 1 -- the text moved on since the request: not for here
    return
  end
  local items = ghost.items_of(reply)
  if #items > 0 then M.stats.shown = M.stats.shown + 1 end
  ghost.show(buf, st, items, req.row, req.col)
end

-- Asks for suggestions at the cursor of the current buffer, if it is still `buf` in Insert mode.
local function request_completion(buf)
  if not config.options.complete.enabled or buf ~= api.nvim_get_current_buf() or not in_insert() then return end
  if vim.fn.pumvisible() == 1 then return end
  local st = buffer.get(buf)
  local cur = api.nvim_win_get_cursor(0)
  if not buffer.allowed_at(buf, cur[1], cur[2]) then return end
  local ctx = buffer.context(buf, cur[1], cur[2])
  if not ctx.before:match('%S') then return end
  local o = config.options.complete
  local req = { tick = api.nvim_buf_get_changedtick(buf), row = cur[1], col = cur[2] }
  req.id = client.request({
    op = 'complete', session = buffer.session(buf), before = ctx.before, after = ctx.after,
    max_tokens = o.max_tokens, n = o.suggestions, mid_text = ctx.mid_text,
  }, function(reply) on_complete_reply(buf, req, reply) end)
  if req.id then
    M.stats.requests = M.stats.requests + 1
    st.req = req
  end
end

local function schedule_request(buf)
  if not config.options.complete.enabled then return end
  timer:stop()
  timer:start(config.options.complete.debounce_ms, 0, function()
    vim.schedule(function() request_completion(buf) end)
  end)
end

local function forget_request(st)
  if st.req then
    client.forget(st.req.id)
    st.req = nil
  end
end

-- TextChangedI and CursorMovedI (one handler: whichever comes first does the work).
local function on_insert_change()
  local buf = api.nvim_get_current_buf()
  if not buffer.mode(buf) then return end
  local st = buffer.get(buf)
  local now = snapshot(buf)
  local last = st.last
  if last and last.tick == now.tick and last.row == now.row and last.col == now.col then return end
  st.last = now
  if not last or last.tick ~= now.tick then
    if correct.on_text_change(buf, st, { now.row, now.col }, now.tick, last) then
      st.last = snapshot(buf) -- a revert moved text and cursor
    elseif ghost.type_through(buf, st, { now.row, now.col }) then
      return
    end
  end
  ghost.clear(buf, st)
  forget_request(st)
  schedule_request(buf)
end

local function on_insert_leave()
  local buf = api.nvim_get_current_buf()
  timer:stop()
  local st = buffer.peek(buf)
  if not st then return end
  ghost.clear(buf, st)
  forget_request(st)
  st.last = nil
  st.word_ends = nil
end

local function autocmds()
  group = api.nvim_create_augroup('autocorrect', { clear = true })
  local function au(ev, fn) api.nvim_create_autocmd(ev, { group = group, callback = fn }) end
  au('InsertCharPre', function()
    local buf = api.nvim_get_current_buf()
    if buffer.mode(buf) then correct.on_char(buffer.get(buf), vim.v.char) end
  end)
  au({ 'TextChangedI', 'CursorMovedI' }, on_insert_change)
  au('InsertLeave', on_insert_leave)
  au({ 'BufLeave', 'WinLeave' }, function()
    local buf = api.nvim_get_current_buf()
    local st = buffer.peek(buf)
    if st then
      ghost.clear(buf, st)
      forget_request(st)
      st.last = nil
    end
  end)
  au('CompleteChanged', function() ghost.hide(api.nvim_get_current_buf()) end)
  au('CompleteDone', function()
    local buf = api.nvim_get_current_buf()
    vim.schedule(function() if api.nvim_buf_is_valid(buf) then ghost.unhide(buf) end end)
  end)
  au('TextChanged', function()
    local buf = api.nvim_get_current_buf()
    local st = buffer.peek(buf)
    if st then
      correct.check_reverts(buf, st)
      if st.suspects and next(st.suspects) then
        correct.refresh_suspects(buf, st, api.nvim_win_get_cursor(0)[1])
      end
    end
  end)
  au({ 'BufWipeout', 'BufDelete' }, function(ev) buffer.forget(ev.buf) end)
  au('ColorScheme', highlights)
  au('VimLeavePre', function() client.close() end)
end

-- The actions of the `keymaps` option: each returns true when it acted.
local actions = {
  accept = function() return ghost.accept('all') end,
  accept_word = function() return ghost.accept('word') end,
  accept_line = function() return ghost.accept('line') end,
  next = function() return ghost.cycle(1) end,
  prev = function() return ghost.cycle(-1) end,
  dismiss = function() return ghost.dismiss() end,
}

-- Configures and starts the plugin. opts: see *autocorrect-options*; nil keeps the defaults.
-- May be called again to change options. On a wrong option it reports one error that names the
-- key, changes nothing and returns false; otherwise returns true.
function M.setup(opts)
  local built, err = config.build(opts)
  if not built then
    vim.notify(err, vim.log.levels.ERROR)
    return false
  end
  config.options = built
  client.configure(config.socket_path(built), built)
  highlights()
  if not timer then timer = uv.new_timer() end
  autocmds()
  keymaps.apply(built.keymaps, actions)
  ghost.on_accept_all = function(buf) schedule_request(buf) end
  did_setup = true
  return true
end

local function ensure_setup()
  if not did_setup then M.setup() end
end

-- Accepting and cycling (the <Plug> mappings call these). Each returns true when it acted.
function M.accept() return ghost.accept('all') end
function M.accept_word() return ghost.accept('word') end
function M.accept_line() return ghost.accept('line') end
function M.next() return ghost.cycle(1) end
function M.prev() return ghost.cycle(-1) end
function M.dismiss() return ghost.dismiss() end

-- The ghost text shown in the current buffer ('' when none).
function M.ghost_text() return ghost.text() end

-- The suggestions for the current line, waiting up to `timeout_ms` (default: the option) for the
-- daemon: a list of strings, each the text that would follow the cursor (in Insert mode) or the end
-- of the line (otherwise). An empty list when the daemon is unreachable or slow.
function M.complete(timeout_ms)
  ensure_setup()
  local buf = api.nvim_get_current_buf()
  local cur = api.nvim_win_get_cursor(0)
  local col = cur[2]
  if not in_insert() then col = #(api.nvim_get_current_line()) end
  local ctx = buffer.context(buf, cur[1], col)
  local reply = client.request_sync({
    op = 'complete', session = buffer.session(buf) .. '-sync', before = ctx.before, after = ctx.after,
    max_tokens = config.options.complete.max_tokens, n = config.options.complete.suggestions,
  }, timeout_ms or config.options.timeout_ms)
  if not reply or reply.error or reply.cancelled then return {} end
  return ghost.items_of(reply)
end

-- 'completefunc' / 'omnifunc' (through autoload/autocorrect.vim): the word before the cursor is
-- completed with the daemon's continuations, waiting up to `timeout_ms` for them.
local cf_start = 0
function M.completefunc(findstart, base)
  ensure_setup()
  local line = api.nvim_get_current_line()
  local col = api.nvim_win_get_cursor(0)[2]
  if findstart == 1 then
    local word = line:sub(1, col):match("[%w_'\128-\255]*$") or ''
    cf_start = col - #word
    return cf_start
  end
  local buf = api.nvim_get_current_buf()
  local row = api.nvim_win_get_cursor(0)[1]
  local ctx = buffer.context(buf, row, math.min(cf_start, #line))
  ctx.before = ctx.before .. base
  local reply = client.request_sync({
    op = 'complete', session = buffer.session(buf) .. '-sync', before = ctx.before, after = '',
    max_tokens = config.options.complete.max_tokens, n = math.max(config.options.complete.suggestions, 5),
  }, config.options.timeout_ms)
  local out = {}
  if reply and not reply.error and not reply.cancelled then
    for _, t in ipairs(ghost.items_of(reply)) do
      out[#out + 1] = { word = base .. t, menu = '[autocorrect]' }
    end
  end
  return out
end

-- Per-buffer switches. buf: a buffer number, 0 or nil for the current one.
local function bufnr(buf)
  return (buf == nil or buf == 0) and api.nvim_get_current_buf() or buf
end

function M.enable(buf)
  ensure_setup()
  buffer.set_switch(bufnr(buf), true)
end

function M.disable(buf)
  buf = bufnr(buf)
  buffer.set_switch(buf, false)
  local st = buffer.peek(buf)
  if st then
    ghost.clear(buf, st)
    forget_request(st)
  end
end

function M.toggle(buf)
  buf = bufnr(buf)
  if buffer.mode(buf) then M.disable(buf) else M.enable(buf) end
end

function M.enabled(buf) return buffer.mode(bufnr(buf)) ~= nil end

-- A table describing the state of the plugin and of buffer buf (default: the current one).
function M.status(buf)
  buf = bufnr(buf)
  local st = buffer.peek(buf) or {}
  return {
    setup = did_setup,
    buffer = buf,
    mode = buffer.mode(buf),
    switch = buffer.switch(buf),
    filetype = vim.bo[buf].filetype,
    session = buffer.session(buf),
    ghost_position = ghost.position(),
    client = client.status(),
    stats = vim.deepcopy(M.stats),
    corrections = st.corrections or 0,
    reverts = st.reverts or 0,
  }
end

function M.learn(word)
  ensure_setup()
  return correct.learn(word)
end

function M.choose()
  ensure_setup()
  return correct.choose()
end

-- :Autocorrect [enable|disable|toggle|status]
function M.command(arg)
  ensure_setup()
  arg = arg ~= '' and arg or 'status'
  if arg == 'enable' then
    M.enable()
  elseif arg == 'disable' then
    M.disable()
  elseif arg == 'toggle' then
    M.toggle()
  elseif arg ~= 'status' then
    vim.notify("autocorrect: unknown argument '" .. arg .. "' (enable, disable, toggle or status)",
      vim.log.levels.ERROR)
    return
  end
  local s = M.status()
  local c = s.client
  local where = s.mode == 'all' and 'on' or s.mode == 'code' and 'on in comments and strings' or 'off'
  local lines = {
    string.format('autocorrect: %s in buffer %d (filetype %s%s)', where, s.buffer,
      s.filetype ~= '' and s.filetype or 'none', s.switch ~= nil and (', switched ' .. (s.switch and 'on' or 'off')) or ''),
    string.format('daemon: %s at %s%s', c.state, c.path or '?', c.last_error and ('; last error: ' .. c.last_error) or ''),
    string.format('requests %d, replies %d, stale %d; corrections %d, taken back %d; ghost text %s',
      s.stats.requests, s.stats.replies, s.stats.stale, s.corrections, s.reverts, s.ghost_position),
  }
  vim.notify(table.concat(lines, '\n'), vim.log.levels.INFO)
end

return M
