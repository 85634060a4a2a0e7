-- autocorrect/correct.lua: correcting words as you type, undoing that, suspects, learning words.
--
-- When a word ends in Insert mode (a space or punctuation typed after it, or <CR>), one "correct"
-- request goes out with the text up to the cursor; it has no session, so later keystrokes never
-- supersede it. Each correction in the reply is placed back by its byte offsets and used only if
-- the buffer still holds the original word there. The word that just ended is replaced when the
-- fix's probability (exp of its score, a log posterior) reaches `apply_probability`: the change
-- is its own undo step and is highlighted for `highlight_ms`. Other fixes above
-- `suspect_probability` only underline the word (an extmark); :AutocorrectChoose offers their
-- candidates.
--
-- Taking it back: <BS> right after a replacement (the next change deletes the character that
-- ended the word) restores what was typed, including that character; `u` restores it too (seen on
-- TextChanged by a mark at the word). Either way the word is left alone in that buffer from then
-- on. :AutocorrectLearn sends a "learn" request and stops correcting the word everywhere.
local M = {}

local api = vim.api
local config = require('autocorrect.config')
local buffer = require('autocorrect.buffer')
local client = require('autocorrect.client')

M.ns_flash = api.nvim_create_namespace('autocorrect_flash')
M.ns_suspect = api.nvim_create_namespace('autocorrect_suspect')
M.ns_track = api.nvim_create_namespace('autocorrect_track')

-- Words not to correct in any buffer (learned, or kept with :AutocorrectChoose), lower case.
M.global_ignore = {}

local MAX_FIXES = 20 -- recent replacements watched for an undo, per buffer
local WORD_CHAR = "[%w'\128-\255]"

local function get_line(buf, row)
  return api.nvim_buf_get_lines(buf, row - 1, row, false)[1] or ''
end

-- True for a character that ends a word: whitespace and sentence punctuation.
function M.is_delim(c)
  return c ~= nil and c ~= '' and c:match('^[%s%.,;:!%?%)%]}"]$') ~= nil
end

function M.ignored(st, word)
  local w = word:lower()
  return st.ignore[w] or M.global_ignore[w] or false
end

-- Opens a new undo step (`:help undo-break`); only for the current buffer.
local function break_undo()
  vim.cmd('let &undolevels = &undolevels')
end

local function flash(buf, row, c1, c2)
  local ms = config.options.correct.highlight_ms
  if ms <= 0 then return end
  local ok, id = pcall(api.nvim_buf_set_extmark, buf, M.ns_flash, row - 1, c1,
    { end_row = row - 1, end_col = c2, hl_group = 'AutocorrectCorrected', priority = 150 })
  if ok then
    vim.defer_fn(function() pcall(api.nvim_buf_del_extmark, buf, M.ns_flash, id) end, ms)
  end
end

local function drop_fix(buf, st, i)
  local f = table.remove(st.fixes, i)
  if f then pcall(api.nvim_buf_del_extmark, buf, M.ns_track, f.mark) end
end

-- Replaces the word at (row, c1..c2) of the current buffer, which holds `orig`, with `rep`.
local function apply(buf, st, row, c1, c2, orig, rep, delim)
  local win = api.nvim_get_current_win()
  local cur0 = api.nvim_win_get_cursor(win)
  break_undo()
  api.nvim_buf_set_text(buf, row - 1, c1, row - 1, c2, { rep })
  local delta = #rep - #orig
  local cur1 = api.nvim_win_get_cursor(win)
  if cur0[1] == row and cur0[2] >= c2 and cur1[2] == cur0[2] then
    pcall(api.nvim_win_set_cursor, win, { row, cur0[2] + delta })
  end
  break_undo()
  flash(buf, row, c1, c1 + #rep)
  st.fixes = st.fixes or {}
  local mark = api.nvim_buf_set_extmark(buf, M.ns_track, row - 1, c1, {})
  st.fixes[#st.fixes + 1] = { mark = mark, row = row, col = c1, original = orig, replacement = rep }
  if #st.fixes > MAX_FIXES then drop_fix(buf, st, 1) end
  local cur = api.nvim_win_get_cursor(win)
  st.last_fix = {
    row = row, c1 = c1, original = orig, replacement = rep, delim = delim,
    tick = api.nvim_buf_get_changedtick(buf),
    line = get_line(buf, row), col_after = cur[2],
    -- <BS> takes it back only when the cursor sits right after the character that ended the word
    bs_ok = delim ~= '\n' and cur[1] == row and cur[2] == c1 + #rep + #delim,
  }
  st.corrections = (st.corrections or 0) + 1
end

local function clear_suspects_at(buf, st, row, c1)
  for _, m in ipairs(api.nvim_buf_get_extmarks(buf, M.ns_suspect, { row - 1, c1 }, { row - 1, c1 }, {})) do
    api.nvim_buf_del_extmark(buf, M.ns_suspect, m[1])
    if st.suspects then st.suspects[m[1]] = nil end
  end
end

local function mark_suspect(buf, st, row, c1, c2, orig, cands)
  clear_suspects_at(buf, st, row, c1)
  local ok, id = pcall(api.nvim_buf_set_extmark, buf, M.ns_suspect, row - 1, c1,
    { end_row = row - 1, end_col = c2, hl_group = 'AutocorrectSuspect', priority = 120 })
  if ok then
    st.suspects = st.suspects or {}
    st.suspects[id] = { original = orig, candidates = cands }
  end
end

-- The candidates of one correction of a reply: its replacement, then any `candidates` (strings
-- or objects with a text) the daemon adds, without duplicates or the original.
local function candidates_of(c)
  local out, seen = {}, {}
  local function add(t)
    if type(t) == 'string' and t ~= '' and t ~= c.original and not seen[t] then
      seen[t] = true
      out[#out + 1] = t
    end
  end
  add(c.replacement)
  if type(c.candidates) == 'table' then
    for _, x in ipairs(c.candidates) do
      add(type(x) == 'table' and (x.text or x.replacement or x.word) or x)
    end
  end
  return out
end

-- Walks the corrections of a reply to a request made with context ctx; word_end is the offset in
-- ctx.before where the word that just ended stops (nil: apply nothing, only mark suspects).
local function on_reply(buf, ctx, word_end, delim, reply)
  if type(reply.corrections) ~= 'table' or not api.nvim_buf_is_valid(buf) then return end
  local st = buffer.get(buf)
  local o = config.options.correct
  for _, c in ipairs(reply.corrections) do
    local s, e = tonumber(c.start), tonumber(c['end'])
    local orig, rep = c.original, c.replacement
    if s and e and type(orig) == 'string' and type(rep) == 'string' and rep ~= orig
        and not M.ignored(st, orig) then
      local r1, c1 = buffer.pos_of(ctx, s)
      local r2, c2 = buffer.pos_of(ctx, e)
      if r1 and r1 == r2 and c2 - c1 == #orig and get_line(buf, r1):sub(c1 + 1, c2) == orig then
        local p = math.exp(tonumber(c.score) or -math.huge)
        -- a word is replaced only in the buffer in front of you, never under the popup menu
        local current = buf == api.nvim_get_current_buf() and vim.fn.pumvisible() == 0
        if e == word_end and p >= o.apply_probability and current then
          apply(buf, st, r1, c1, c2, orig, rep, delim)
        elseif p >= o.suspect_probability then
          mark_suspect(buf, st, r1, c1, c2, orig, candidates_of(c))
        end
      end
    end
  end
end

-- Asks for corrections of the text up to (row, col), where a word ended at offset word_end of the
-- context (the character(s) `delim` follow it).
local function request(buf, row, col, delim)
  local ctx = buffer.context(buf, row, col)
  local word_end = #ctx.before - #delim
  return client.request({ op = 'correct', before = ctx.before, after = ctx.after, scope = 'last', last_words = 1,
                          mid_text = ctx.mid_text },
    function(reply) on_reply(buf, ctx, word_end, delim, reply) end)
end

-- InsertCharPre: remember where a character that ends a word goes (the cursor, before it is
-- inserted); the text change that follows sends the request. Several can pile up when keys come
-- faster than the text-change event (typeahead, a mapping).
function M.on_char(st, char)
  if st.last_fix then st.last_fix.bs_ok = false end -- <BS> is no longer "right after" it
  if M.is_delim(char) then
    local cur = api.nvim_win_get_cursor(0)
    st.word_ends = st.word_ends or {}
    if #st.word_ends < 8 then st.word_ends[#st.word_ends + 1] = { char = char, row = cur[1], col = cur[2] } end
  end
end

local function revert(buf, st, f)
  api.nvim_buf_set_text(buf, f.row - 1, f.c1, f.row - 1, f.c1 + #f.replacement, { f.original .. f.delim })
  api.nvim_win_set_cursor(0, { f.row, f.c1 + #f.original + #f.delim })
  st.ignore[f.original:lower()] = true
  for i = #(st.fixes or {}), 1, -1 do
    local pos = api.nvim_buf_get_extmark_by_id(buf, M.ns_track, st.fixes[i].mark, {})
    if pos[1] == f.row - 1 and pos[2] == f.c1 then drop_fix(buf, st, i) end
  end
  api.nvim_buf_clear_namespace(buf, M.ns_flash, f.row - 1, f.row)
  st.reverts = (st.reverts or 0) + 1
end

-- After a text change in Insert mode (cursor `cur`, changedtick `tick`, `prev` the previous
-- cursor and line count, or nil). Returns true when it changed the text itself (a revert).
function M.on_text_change(buf, st, cur, tick, prev)
  local f = st.last_fix
  if f and tick ~= f.tick then
    st.last_fix = nil
    if f.bs_ok and cur[1] == f.row and cur[2] == f.col_after - #f.delim then
      local line = get_line(buf, cur[1])
      if line == f.line:sub(1, cur[2]) .. f.line:sub(f.col_after + 1) then
        revert(buf, st, f)
        return true
      end
    end
  end
  if st.suspects and next(st.suspects) then M.refresh_suspects(buf, st, cur[1]) end
  local ends = st.word_ends
  st.word_ends = nil
  if not config.options.correct.enabled then return false end
  if ends then
    for _, w in ipairs(ends) do
      local line = get_line(buf, w.row)
      local at = w.col -- the delimiter's column
      if at > 0 and line:sub(at + 1, at + #w.char) == w.char and line:sub(at, at):match(WORD_CHAR)
          and buffer.allowed_at(buf, w.row, at) then
        request(buf, w.row, at + #w.char, w.char)
      end
    end
  end
  if prev and cur[1] > prev.row and api.nvim_buf_line_count(buf) > prev.lines and cur[1] - prev.row <= 3 then
    -- <CR> (InsertCharPre does not see it): each line ended since the last change that ends with
    -- a word had that word end
    for r = prev.row, cur[1] - 1 do
      local line = get_line(buf, r)
      if line:sub(-1):match(WORD_CHAR) and buffer.allowed_at(buf, r, #line) then
        request(buf, r + 1, 0, '\n')
      end
    end
  end
  return false
end

-- Drops the underlines on `row` whose word was edited.
function M.refresh_suspects(buf, st, row)
  local marks = api.nvim_buf_get_extmarks(buf, M.ns_suspect, { row - 1, 0 }, { row - 1, -1 }, { details = true })
  if #marks == 0 then return end
  local line = get_line(buf, row)
  for _, m in ipairs(marks) do
    local s = st.suspects[m[1]]
    local d = m[4] or {}
    if not s or d.end_row ~= m[2] or line:sub(m[3] + 1, d.end_col or 0) ~= s.original then
      api.nvim_buf_del_extmark(buf, M.ns_suspect, m[1])
      st.suspects[m[1]] = nil
    end
  end
end

-- TextChanged (Normal mode): a replacement that `u` took back leaves its word alone from now on.
-- The word is looked for where the mark is, where the mark would be if the undo pushed it past the
-- restored word, and where the fix was made (undo moves or drops marks).
function M.check_reverts(buf, st)
  if not st.fixes then return end
  local n_lines = api.nvim_buf_line_count(buf)
  for i = #st.fixes, 1, -1 do
    local f = st.fixes[i]
    local places = {}
    local pos = api.nvim_buf_get_extmark_by_id(buf, M.ns_track, f.mark, {})
    if #pos > 0 then
      places[#places + 1] = pos
      places[#places + 1] = { pos[1], pos[2] - #f.original }
    end
    places[#places + 1] = { f.row - 1, f.col }
    local state = 'gone'
    for _, p in ipairs(places) do
      if p[1] < n_lines and p[2] >= 0 then
        local line = get_line(buf, p[1] + 1)
        local function word_is(w)
          return line:sub(p[2] + 1, p[2] + #w) == w and not line:sub(p[2] + #w + 1, p[2] + #w + 1):match(WORD_CHAR)
            and (p[2] == 0 or not line:sub(p[2], p[2]):match(WORD_CHAR))
        end
        if word_is(f.original) then
          state = 'reverted'
          break
        elseif word_is(f.replacement) then
          state = 'kept'
        end
      end
    end
    if state == 'reverted' then
      st.ignore[f.original:lower()] = true
      st.reverts = (st.reverts or 0) + 1
      drop_fix(buf, st, i)
    elseif state == 'gone' then
      drop_fix(buf, st, i)
    end
  end
end

local function replace_word(buf, row, c1, c2, orig, new)
  if get_line(buf, row):sub(c1 + 1, c2) ~= orig then
    vim.notify("autocorrect: '" .. orig .. "' changed meanwhile; nothing replaced", vim.log.levels.WARN)
    return
  end
  api.nvim_buf_set_text(buf, row - 1, c1, row - 1, c2, { new })
end

-- Offers the candidates for the word at (row, c1..c2) with vim.ui.select.
local function offer(buf, st, row, c1, c2, orig, cands)
  local items = {}
  for _, c in ipairs(cands) do items[#items + 1] = { kind = 'word', text = c } end
  items[#items + 1] = { kind = 'keep', text = orig }
  items[#items + 1] = { kind = 'learn', text = orig }
  vim.ui.select(items, {
    prompt = string.format("autocorrect: replace '%s' with", orig),
    format_item = function(it)
      if it.kind == 'keep' then return string.format("(keep '%s' in this buffer)", it.text) end
      if it.kind == 'learn' then return string.format("(add '%s' to the dictionary)", it.text) end
      return it.text
    end,
  }, function(choice)
    if not choice then return end
    clear_suspects_at(buf, st, row, c1)
    if choice.kind == 'word' then
      replace_word(buf, row, c1, c2, orig, choice.text)
    elseif choice.kind == 'keep' then
      st.ignore[orig:lower()] = true
    else
      M.learn(orig)
    end
  end)
end

-- The word around byte col of line: start (0-based) and end (exclusive), or nil.
local function word_at(line, col)
  local s, e = col + 1, col
  while s > 1 and line:sub(s - 1, s - 1):match(WORD_CHAR) do s = s - 1 end
  while e < #line and line:sub(e + 1, e + 1):match(WORD_CHAR) do e = e + 1 end
  if e < s then
    -- not on a word: take the one just before the cursor
    return nil
  end
  return s - 1, e
end

-- :AutocorrectChoose: the underlined word under (or before) the cursor, else the word under the
-- cursor asked of the daemon; offers its candidates.
function M.choose()
  local buf = api.nvim_get_current_buf()
  local st = buffer.get(buf)
  local cur = api.nvim_win_get_cursor(0)
  local row, col = cur[1], cur[2]
  local line = get_line(buf, row)
  local best
  for _, m in ipairs(api.nvim_buf_get_extmarks(buf, M.ns_suspect, { row - 1, 0 }, { row - 1, -1 }, { details = true })) do
    local d = m[4] or {}
    local s = st.suspects and st.suspects[m[1]]
    if s and m[3] <= col and line:sub(m[3] + 1, d.end_col or 0) == s.original then
      if not best or m[3] > best[2] then best = { m[1], m[3], d.end_col, s } end
    end
  end
  if best and (col <= best[3] or not word_at(line, col)) then
    offer(buf, st, row, best[2], best[3], best[4].original, best[4].candidates)
    return true
  end
  local c1, c2 = word_at(line, math.min(col, math.max(#line - 1, 0)))
  if not c1 then
    vim.notify('autocorrect: no word under the cursor', vim.log.levels.INFO)
    return false
  end
  local orig = line:sub(c1 + 1, c2)
  local ctx = buffer.context(buf, row, c2)
  ctx.before = ctx.before .. ' '
  local id = client.request({ op = 'correct', before = ctx.before, after = '', scope = 'last', last_words = 1,
                              mid_text = ctx.mid_text }, function(reply)
    if reply.error then
      vim.notify('autocorrect: ' .. tostring(reply.error.message or reply.error.code), vim.log.levels.WARN)
      return
    end
    for _, c in ipairs(type(reply.corrections) == 'table' and reply.corrections or {}) do
      if tonumber(c['end']) == #ctx.before - 1 and c.original == orig then
        offer(buf, st, row, c1, c2, orig, candidates_of(c))
        return
      end
    end
    vim.notify(string.format("autocorrect: no corrections for '%s'", orig), vim.log.levels.INFO)
  end)
  if not id then
    vim.notify('autocorrect: the daemon is not reachable', vim.log.levels.WARN)
  end
  return id ~= nil
end

-- Adds `word` (default: the word under the cursor) to the user dictionary (op "learn") and stops
-- correcting it in this Neovim at once. Returns the request id, or nil.
function M.learn(word)
  if not word or word == '' then word = vim.fn.expand('<cword>') end
  if word == '' or word:find('[%s%c]') or #word > 100 then
    vim.notify("autocorrect: not a word: '" .. word .. "'", vim.log.levels.WARN)
    return nil
  end
  M.global_ignore[word:lower()] = true
  for buf, st in pairs(buffer.all()) do
    if st.suspects and api.nvim_buf_is_valid(buf) then
      for id, s in pairs(st.suspects) do
        if s.original:lower() == word:lower() then
          pcall(api.nvim_buf_del_extmark, buf, M.ns_suspect, id)
          st.suspects[id] = nil
        end
      end
    end
  end
  local id = client.request({ op = 'learn', word = word }, function(reply)
    if reply.error then
      vim.notify(string.format("autocorrect: could not learn '%s': %s", word,
        tostring(reply.error.message or reply.error.code)), vim.log.levels.WARN)
    else
      vim.notify(string.format("autocorrect: added '%s' to your dictionary", word), vim.log.levels.INFO)
    end
  end)
  if not id then
    vim.notify(string.format("autocorrect: the daemon is not reachable; '%s' is left alone in this session only", word),
      vim.log.levels.WARN)
  end
  return id
end

return M
