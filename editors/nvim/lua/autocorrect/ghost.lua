-- autocorrect/ghost.lua: suggestions shown as ghost text after the cursor, and accepting them.
--
-- A buffer's ghost (state.ghost) holds the suggestions of one reply, the one shown, and where it is
-- anchored: (row, col) plus the line's text before and after that point, so that typing can be
-- checked against it. It is drawn with one extmark: virt_text_pos 'inline' where this Neovim has
-- it (detected by trying it once on a scratch buffer), else 'overlay' (the ghost and then the rest
-- of the line drawn over the line from the cursor on) or 'eol'; lines after the first, with the
-- `multiline` option, are virt_lines. Typing the ghost's next characters shifts it (no new request);
-- accepting inserts text with nvim_buf_set_text. This file sends no requests: init.lua does.
local M = {}

local api = vim.api
local config = require('autocorrect.config')
local buffer = require('autocorrect.buffer')

M.ns = api.nvim_create_namespace('autocorrect_ghost')

local inline_ok = nil

-- Whether this Neovim draws virt_text_pos = 'inline' (tried once on a scratch buffer).
function M.supports_inline()
  if inline_ok == nil then
    local b = api.nvim_create_buf(false, true)
    inline_ok = pcall(api.nvim_buf_set_extmark, b, M.ns, 0, 0,
      { virt_text = { { 'x', 'Comment' } }, virt_text_pos = 'inline' })
    api.nvim_buf_delete(b, { force = true })
  end
  return inline_ok
end

-- The position in use: the option, with 'auto' (and an unsupported 'inline') resolved.
function M.position()
  local p = config.options.complete.position
  if p == 'auto' or (p == 'inline' and not M.supports_inline()) then
    return M.supports_inline() and 'inline' or 'overlay'
  end
  return p
end

-- Called with (buf) after an accept-all: init.lua sets it to ask for the next suggestion.
M.on_accept_all = nil

local function undraw(buf, g)
  if g and g.mark then
    pcall(api.nvim_buf_del_extmark, buf, M.ns, g.mark)
    g.mark = nil
  end
end

-- `text` with its tabs expanded as they would show from screen column `vcol` on.
local function expand_tabs(buf, text, vcol)
  if not text:find('\t', 1, true) then return text end
  local ts = vim.bo[buf].tabstop
  return (text:gsub('()([^\t]*)\t', function(_, chunk)
    vcol = vcol + vim.fn.strdisplaywidth(chunk)
    local n = ts - vcol % ts
    vcol = vcol + n
    return chunk .. string.rep(' ', n)
  end))
end

local function draw(buf, g)
  local text = g.items[g.index]
  local lines = vim.split(text, '\n', { plain = true })
  local pos = M.position()
  local vt
  if pos == 'overlay' then
    -- overlay covers the line from the cursor: draw the ghost, then the text it covers
    vt = { { lines[1], 'AutocorrectGhost' } }
    if g.after ~= '' and #lines == 1 then
      local vcol = vim.fn.strdisplaywidth(g.before_line .. lines[1])
      vt[2] = { expand_tabs(buf, g.after, vcol), 'Normal' }
    end
  else
    vt = { { lines[1], 'AutocorrectGhost' } }
  end
  local o = { virt_text = vt, virt_text_pos = pos, hl_mode = 'combine', priority = 200 }
  if g.mark then o.id = g.mark end
  if #lines > 1 then
    local vl = {}
    for i = 2, #lines do vl[#vl + 1] = { { lines[i], 'AutocorrectGhost' } } end
    o.virt_lines = vl
  end
  local ok, id = pcall(api.nvim_buf_set_extmark, buf, M.ns, g.row - 1, g.col, o)
  if ok then g.mark = id end
end

-- The ghost of `buf` when one is shown now, else nil.
function M.shown(buf)
  local st = buffer.peek(buf)
  local g = st and st.ghost
  if g and g.mark and not g.hidden then return g end
  return nil
end

-- The text shown as ghost in the current buffer ('' when none): for tests and statuslines.
function M.text(buf)
  local g = M.shown(buf or api.nvim_get_current_buf())
  return g and g.items[g.index] or ''
end

function M.clear(buf, st)
  st = st or buffer.peek(buf)
  if not st or not st.ghost then return end
  undraw(buf, st.ghost)
  st.ghost = nil
end

-- Hides the ghost but keeps it (the popup menu is open).
function M.hide(buf)
  local st = buffer.peek(buf)
  if st and st.ghost then
    undraw(buf, st.ghost)
    st.ghost.hidden = true
  end
end

-- Shows a hidden ghost again if the text and cursor are still where it was anchored.
function M.unhide(buf)
  local st = buffer.peek(buf)
  local g = st and st.ghost
  if not g or not g.hidden or vim.fn.pumvisible() == 1 then return end
  local cur = api.nvim_win_get_cursor(0)
  local line = api.nvim_buf_get_lines(buf, cur[1] - 1, cur[1], false)[1] or ''
  if cur[1] ~= g.row or cur[2] ~= g.col or line:sub(1, g.col) ~= g.before_line or line:sub(g.col + 1) ~= g.after then
    M.clear(buf, st)
    return
  end
  g.hidden = false
  draw(buf, g)
end

-- Keeps the suggestions that start with `piece`, minus it, the current one first. False when none
-- is left with anything to show.
local function shift(g, piece)
  local items, seen = {}, {}
  local order = { g.index }
  for i = 1, #g.items do if i ~= g.index then order[#order + 1] = i end end
  for _, i in ipairs(order) do
    local t = g.items[i]
    if #t > #piece and t:sub(1, #piece) == piece then
      local rest = t:sub(#piece + 1)
      if not seen[rest] then
        seen[rest] = true
        items[#items + 1] = rest
      end
    end
  end
  if #items == 0 then return false end
  g.items, g.index = items, 1
  return true
end

-- Cleans a reply's completion texts: first line only unless `multiline`, no empty or blank ones,
-- no duplicates. Returns a list (maybe empty).
function M.items_of(reply)
  local out, seen = {}, {}
  local comps = reply.completions
  if type(comps) ~= 'table' then return out end
  local multi = config.options.complete.multiline
  for _, c in ipairs(comps) do
    local t = type(c) == 'table' and c.text or c
    if type(t) == 'string' then
      if not multi then t = t:match('^[^\n]*') end
      t = t:gsub('%s+$', '')
      if t:match('%S') and not seen[t] then
        seen[t] = true
        out[#out + 1] = t
      end
    end
  end
  return out
end

-- Shows the suggestions `items` at (row, col) of buf, the current buffer in Insert mode.
function M.show(buf, st, items, row, col)
  M.clear(buf, st)
  if #items == 0 then return end
  local line = api.nvim_buf_get_lines(buf, row - 1, row, false)[1] or ''
  local g = {
    items = items, index = 1, row = row, col = col,
    before_line = line:sub(1, col), after = line:sub(col + 1),
  }
  st.ghost = g
  if vim.fn.pumvisible() == 1 then
    g.hidden = true
    return
  end
  draw(buf, g)
end

-- After a text change at cursor `cur` in the current buffer: if the text typed since the ghost was
-- anchored is the ghost's beginning, shift the ghost past it and return true (no new request is
-- needed). Otherwise return false; the caller clears the ghost.
function M.type_through(buf, st, cur)
  local g = st.ghost
  if not g or g.hidden or cur[1] ~= g.row or cur[2] <= g.col then return false end
  local line = api.nvim_buf_get_lines(buf, cur[1] - 1, cur[1], false)[1] or ''
  if line:sub(1, g.col) ~= g.before_line or line:sub(cur[2] + 1) ~= g.after then return false end
  local typed = line:sub(g.col + 1, cur[2])
  if not shift(g, typed) then return false end
  g.col = cur[2]
  g.before_line = line:sub(1, cur[2])
  draw(buf, g)
  return true
end

-- The next word of a ghost text: spaces, then a run of word characters (letters, digits, _, ',
-- any non-ASCII) or of punctuation; or a line break and the indent after it.
local function next_word(text)
  return text:match("^[ \t]*[%w_'\128-\255]+")
    or text:match("^[ \t]*[^%w%s_'\128-\255]+")
    or text:match('^\n[ \t]*')
    or text
end

local function next_line(text)
  return text:match('^[^\n]+') or text:match('^\n[^\n]*') or text
end

-- Accepts the shown ghost of the current buffer: kind 'all', 'word' or 'line'. Inserts the text at
-- the cursor, moves the cursor after it and keeps the rest shown. Returns true when a ghost was
-- shown (and something was inserted), false otherwise (the caller falls back to the key).
function M.accept(kind)
  local buf = api.nvim_get_current_buf()
  local g = M.shown(buf)
  if not g then return false end
  local st = buffer.get(buf)
  local cur = api.nvim_win_get_cursor(0)
  if cur[1] ~= g.row or cur[2] ~= g.col then
    M.clear(buf, st)
    return false
  end
  local text = g.items[g.index]
  local piece = kind == 'word' and next_word(text) or kind == 'line' and next_line(text) or text
  local lines = vim.split(piece, '\n', { plain = true })
  api.nvim_buf_set_text(buf, g.row - 1, g.col, g.row - 1, g.col, lines)
  local row = g.row + #lines - 1
  local col = (#lines == 1 and g.col or 0) + #lines[#lines]
  api.nvim_win_set_cursor(0, { row, col })
  local rest = #piece < #text and shift(g, piece)
  if rest then
    local line = api.nvim_buf_get_lines(buf, row - 1, row, false)[1] or ''
    g.row, g.col = row, col
    g.before_line = line:sub(1, col)
    if #lines > 1 then
      -- the mark moved to the new line's start; draw it afresh
      undraw(buf, g)
    end
    draw(buf, g)
  else
    M.clear(buf, st)
  end
  -- the change and cursor move are ours: the change handler must not treat them as typing
  st.last = { tick = api.nvim_buf_get_changedtick(buf), row = row, col = col }
  if not rest and M.on_accept_all then M.on_accept_all(buf) end
  return true
end

-- Shows the next (dir 1) or previous (dir -1) suggestion. True when a ghost is shown.
function M.cycle(dir)
  local buf = api.nvim_get_current_buf()
  local g = M.shown(buf)
  if not g then return false end
  g.index = (g.index - 1 + dir) % #g.items + 1
  draw(buf, g)
  return true
end

-- Hides the ghost until the next change. True when one was shown.
function M.dismiss()
  local buf = api.nvim_get_current_buf()
  if not M.shown(buf) then return false end
  M.clear(buf)
  return true
end

return M
