-- autocorrect/buffer.lua: per-buffer state, where the plugin is active, and the text it sends.
--
-- State: one table per buffer (M.get), dropped when the buffer is wiped. Where: a buffer is active
-- when its per-buffer switch (b:autocorrect_enabled, set by :Autocorrect enable|disable|toggle)
-- says so, else when its filetype is one of the `filetypes` option (everywhere in it) or, with the
-- `code` option, in comments and strings of any other filetype. Context: the text before and after
-- the cursor that a request carries, with the map from the daemon's byte offsets back to buffer
-- positions. This file draws nothing and sends nothing.
local M = {}

local api = vim.api
local config = require('autocorrect.config')

local states = {}
local uv = vim.uv or vim.loop -- vim.uv from Neovim 0.10 on
local pid = uv.os_getpid and uv.os_getpid() or vim.fn.getpid()

-- The state table of buffer `buf` (created on first use). Fields are owned by the modules that
-- use them: ghost (ghost.lua), fixes/suspects/ignore (correct.lua), last/req (init.lua).
function M.get(buf)
  local st = states[buf]
  if not st then
    st = { ignore = {} }
    states[buf] = st
  end
  return st
end

-- The state if it exists, else nil (no allocation on the typing path of inactive buffers).
function M.peek(buf) return states[buf] end

function M.forget(buf) states[buf] = nil end

function M.all() return states end

-- The daemon's session name of a buffer: "nvim-<pid>-<bufnr>".
function M.session(buf)
  return string.format('nvim-%d-%d', pid, buf)
end

local function ft_set()
  local opts = config.options
  if M._ft_list ~= opts.filetypes then
    M._ft_list = opts.filetypes
    M._ft = {}
    for _, ft in ipairs(opts.filetypes) do M._ft[ft] = true end
  end
  return M._ft
end

-- The per-buffer switch: true, false, or nil when unset.
function M.switch(buf)
  local ok, v = pcall(api.nvim_buf_get_var, buf, 'autocorrect_enabled')
  if not ok or v == nil then return nil end
  return v == true or v == 1
end

function M.set_switch(buf, on)
  if on == nil then
    pcall(api.nvim_buf_del_var, buf, 'autocorrect_enabled')
  else
    api.nvim_buf_set_var(buf, 'autocorrect_enabled', on)
  end
end

-- How the plugin works in `buf`: 'all' (everywhere), 'code' (comments and strings only) or nil
-- (not at all). Cheap: a few option reads.
function M.mode(buf)
  if not api.nvim_buf_is_valid(buf) then return nil end
  local bo = vim.bo[buf]
  if bo.buftype ~= '' and bo.buftype ~= 'acwrite' then return nil end
  if not bo.modifiable or bo.readonly then return nil end
  local sw = M.switch(buf)
  if sw == false then return nil end
  if sw == true then return 'all' end
  if ft_set()[bo.filetype] then return 'all' end
  if config.options.code and bo.filetype ~= '' then return 'code' end
  return nil
end

local function is_prose_name(name)
  name = name:lower()
  return name:find('comment', 1, true) ~= nil or name:find('string', 1, true) ~= nil
end

-- Treesitter's view of (row, col) (0-based): true or false, or nil when no parser is active.
local function ts_in_prose(buf, row, col)
  local ts = vim.treesitter
  if not ts then return nil end
  local hl = ts.highlighter and ts.highlighter.active and ts.highlighter.active[buf]
  if not hl then return nil end
  if ts.get_captures_at_pos then
    local ok, caps = pcall(ts.get_captures_at_pos, buf, row, col)
    if ok then
      for _, c in ipairs(caps) do
        if is_prose_name(c.capture) then return true end
      end
      return false
    end
  end
  local parser = hl.tree
  if not parser or not parser.named_node_for_range then return nil end
  local ok, node = pcall(parser.named_node_for_range, parser, { row, col, row, col })
  if not ok then return nil end
  while node do
    if is_prose_name(node:type()) then return true end
    node = node:parent()
  end
  return false
end

-- The syntax groups at (row, col) (0-based) of the current buffer.
local function syn_in_prose(row, col)
  for _, id in ipairs(vim.fn.synstack(row + 1, col + 1)) do
    if is_prose_name(vim.fn.synIDattr(id, 'name')) or is_prose_name(vim.fn.synIDattr(vim.fn.synIDtrans(id), 'name')) then
      return true
    end
  end
  return false
end

-- Whether the plugin may act at (row 1-based, col 0-based bytes) of `buf`: always in 'all' mode;
-- in 'code' mode only inside a comment or string (looked up at the character before col).
function M.allowed_at(buf, row, col)
  local mode = M.mode(buf)
  if mode == 'all' then return true end
  if mode ~= 'code' then return false end
  local c = math.max(col - 1, 0)
  local t = ts_in_prose(buf, row - 1, c)
  if t ~= nil then return t end
  if buf ~= api.nvim_get_current_buf() then return false end
  return syn_in_prose(row - 1, c)
end

-- Moves a byte index forward to the start of a UTF-8 character.
local function char_start(s, i)
  while i <= #s do
    local b = s:byte(i)
    if b < 0x80 or b >= 0xC0 then break end
    i = i + 1
  end
  return i
end

-- The text around (row 1-based, col 0-based bytes) that a request sends:
--   before: up to `context_lines` lines above and the current line up to the cursor, joined with
--           "\n", at most `context_bytes` bytes (whole lines are dropped from the top first, so
--           the start stays put while you type and the daemon's prefix cache keeps working);
--   after:  the rest of the current line.
-- Returns { before, after, row, col, first, starts, mid_text } where starts[r] is the offset in
-- `before` of column 0 of buffer row r (negative for a first line that was cut) and mid_text tells
-- that `before` does not start at the top of the buffer.
function M.context(buf, row, col, copts)
  copts = copts or config.options.complete
  local first = math.max(1, row - copts.context_lines)
  local lines = api.nvim_buf_get_lines(buf, first - 1, row, false)
  local line = lines[#lines] or ''
  local after = line:sub(col + 1)
  lines[#lines] = line:sub(1, col)
  local total = 0
  for _, l in ipairs(lines) do total = total + #l + 1 end
  total = total - 1
  local limit = copts.context_bytes
  local drop_lines = 0
  while total > limit and drop_lines < #lines - 1 do
    drop_lines = drop_lines + 1
    total = total - #lines[drop_lines] - 1
  end
  local cut = 0
  local keep = {}
  for i = drop_lines + 1, #lines do keep[#keep + 1] = lines[i] end
  if total > limit then
    -- one line longer than the limit: cut its start, on a character boundary
    cut = char_start(keep[1], total - limit + 1) - 1
    keep[1] = keep[1]:sub(cut + 1)
  end
  first = first + drop_lines
  local starts = {}
  local off = -cut
  for i, l in ipairs(keep) do
    starts[first + i - 1] = off
    off = off + #l + (i == 1 and cut or 0) + 1
  end
  return { before = table.concat(keep, '\n'), after = after, row = row, col = col, first = first, starts = starts,
           mid_text = first > 1 or cut > 0 }
end

-- The buffer position (row 1-based, col 0-based) of byte offset `off` of ctx.before, or nil.
function M.pos_of(ctx, off)
  if off < 0 or off > #ctx.before then return nil end
  for r = ctx.row, ctx.first, -1 do
    local s = ctx.starts[r]
    if s and off >= math.max(s, 0) then return r, off - s end
  end
  return nil
end

return M
