-- tests/nvim/correct_spec.lua: autocorrect as you type, taking it back (<BS>, u), suspects and
-- :AutocorrectChoose, :AutocorrectLearn, where corrections apply; against the fake daemon.
local H = require('helpers')

local sock = H.tmp .. '/correct.sock'

local typos = {
  teh = { to = 'the', p = 0.95 },
  wrod = { to = 'word', p = 0.9 },
  recieve = { to = 'receive', p = 0.5, candidates = { 'receive', 'relieve' } },
  Teh = { to = 'The', p = 0.95 },
}

local function start(setup_extra, ft)
  local server = H.fake_server(sock, H.fake_handler(function() return {} end, typos))
  H.cleanup(server.close)
  local setup = vim.tbl_deep_extend('force', { socket = sock, correct = { highlight_ms = 300 } }, setup_extra or {})
  local child = H.child({ setup = setup })
  H.cleanup(function() child:stop() end)
  child:edit(ft or 'text')
  return child, server
end

local function flash_marks(child)
  return child:lua('return #vim.api.nvim_buf_get_extmarks(0, require("autocorrect.correct").ns_flash, 0, -1, {})')
end

H.test('autocorrect replaces a typo when the word ends, highlighted for a while', function()
  local child, server = start()
  child:type('iI saw teh ')
  child:wait('vim.api.nvim_get_current_line() == "I saw the "', 2000, 'the correction')
  local req = server.last('correct')
  H.eq(req.before, 'I saw teh ', 'before of the correct request')
  H.eq(req.session, nil, 'correct requests have no session (never superseded)')
  H.eq(child:lua('return vim.api.nvim_win_get_cursor(0)[2]'), 10, 'cursor after the space')
  H.eq(flash_marks(child), 1, 'highlight on the replaced word')
  child:wait('#vim.api.nvim_buf_get_extmarks(0, require("autocorrect.correct").ns_flash, 0, -1, {}) == 0', 2000,
    'highlight cleared')
  child:type('cat')
  H.eq(child:line(1), 'I saw the cat', 'typing goes on after the fix')
end)

H.test('backspace right after a correction restores what was typed, and the word is left alone', function()
  local child = start()
  child:type('iteh ')
  child:wait('vim.api.nvim_get_current_line() == "the "')
  child:type('<BS>')
  H.eq(child:line(1), 'teh ', 'restored with the space')
  H.eq(child:lua('return vim.api.nvim_win_get_cursor(0)[2]'), 4, 'cursor after the space')
  child:type('and teh ')
  H.sleep(200)
  H.eq(child:line(1), 'teh and teh ', 'not corrected again in this buffer')
  -- a backspace later on is just a backspace
  child:type('wrod ')
  child:wait('vim.api.nvim_get_current_line() == "teh and teh word "')
  child:type('x<BS><BS>')
  H.eq(child:line(1), 'teh and teh word', 'ordinary backspaces')
end)

H.test('u takes a correction back and the word is left alone', function()
  local child = start()
  child:type('iwrod ')
  child:wait('vim.api.nvim_get_current_line() == "word "')
  child:type('<Esc>u')
  H.eq(child:line(1), 'wrod ', 'u undid only the correction')
  child:type('A wrod ')
  H.sleep(200)
  H.eq(child:line(1), 'wrod  wrod ', 'not corrected again')
end)

H.test('a late reply still fixes the word and keeps the cursor in place', function()
  local child, server = start()
  local held = {}
  local base = server.handler
  server.handler = function(msg, reply, S)
    if msg.op == 'correct' then held[#held + 1] = function() base(msg, reply, S) end else base(msg, reply, S) end
  end
  child:type('iteh ')
  vim.wait(1000, function() return #held > 0 end, 5)
  child:type('quick')
  held[1]()
  child:wait('vim.api.nvim_get_current_line() == "the quick"')
  H.eq(child:lua('return vim.api.nvim_win_get_cursor(0)[2]'), 9, 'cursor still at the end')
  child:type('!')
  H.eq(child:line(1), 'the quick!', 'typing continues at the right place')
end)

H.test('a word ending with punctuation or <CR> is corrected; capitals kept', function()
  local child = start()
  child:type('iTeh end wrod.')
  child:wait('vim.api.nvim_get_current_line() == "The end word."')
  child:type('<CR>and teh')
  child:type('<CR>')
  child:wait('vim.api.nvim_buf_get_lines(0, 1, 2, false)[1] == "and the"', 2000, 'fix before <CR>')
  child:type('wrod<CR>x') -- keys faster than the text-change event
  child:wait('vim.api.nvim_buf_get_lines(0, 2, 3, false)[1] == "word"', 2000, 'fix before <CR> in typeahead')
end)

H.test('less confident fixes are underlined; :AutocorrectChoose replaces', function()
  local child = start()
  child:type('iI recieve mail ')
  child:wait('#vim.api.nvim_buf_get_extmarks(0, require("autocorrect.correct").ns_suspect, 0, -1, {}) == 1',
    2000, 'underline')
  H.eq(child:line(1), 'I recieve mail ', 'not replaced')
  local m = child:lua([[
    return vim.api.nvim_buf_get_extmarks(0, require('autocorrect.correct').ns_suspect, 0, -1, { details = true })[1] ]])
  H.eq({ m[3], m[4].end_col, m[4].hl_group }, { 2, 9, 'AutocorrectSuspect' }, 'underline range and group')
  -- choose the second candidate through a stubbed vim.ui.select
  child:lua([[
    vim.ui.select = function(items, opts, on_choice)
      _G.__offered = {}
      for _, it in ipairs(items) do table.insert(_G.__offered, opts.format_item(it)) end
      on_choice(items[2], 2)
    end]])
  child:type('<Esc>0w')
  child:cmd('AutocorrectChoose')
  H.eq(child:lua('return _G.__offered'), { 'receive', 'relieve', "(keep 'recieve' in this buffer)",
    "(add 'recieve' to the dictionary)" }, 'offered')
  H.eq(child:line(1), 'I relieve mail ', 'replaced with the choice')
  H.eq(child:lua('return #vim.api.nvim_buf_get_extmarks(0, require("autocorrect.correct").ns_suspect, 0, -1, {})'), 0,
    'underline gone')
end)

H.test('editing an underlined word removes the underline', function()
  local child = start()
  child:type('irecieve ')
  child:wait('#vim.api.nvim_buf_get_extmarks(0, require("autocorrect.correct").ns_suspect, 0, -1, {}) == 1')
  child:type('<Esc>0lxi')
  child:type('<Esc>')
  H.eq(child:lua('return #vim.api.nvim_buf_get_extmarks(0, require("autocorrect.correct").ns_suspect, 0, -1, {})'), 0,
    'underline removed after the edit')
end)

H.test(':AutocorrectLearn sends the word and stops correcting it', function()
  local child, server = start()
  child:type('irecieve ')
  child:wait('#vim.api.nvim_buf_get_extmarks(0, require("autocorrect.correct").ns_suspect, 0, -1, {}) == 1')
  child:type('<Esc>0')
  child:cmd('AutocorrectLearn')
  H.sleep(100)
  local req = server.last('learn')
  H.ok(req, 'a learn request was sent')
  H.eq(req.word, 'recieve', 'learned word')
  H.eq(child:lua('return #vim.api.nvim_buf_get_extmarks(0, require("autocorrect.correct").ns_suspect, 0, -1, {})'), 0,
    'underline removed')
  local notes = child:lua('return _G.__notes')
  H.ok(notes[#notes].msg:find("added 'recieve'", 1, true), 'confirmation: ' .. vim.inspect(notes))
  child:cmd('AutocorrectLearn teh')
  H.sleep(100)
  H.eq(server.last('learn').word, 'teh', 'explicit word')
  child:type('A teh ')
  H.sleep(200)
  H.eq(child:line(1), 'recieve  teh ', 'a learned word is not corrected')
end)

H.test('no corrections outside the filetypes; comments only with code = true', function()
  local child, server = start(nil, 'lua')
  child:type('ilocal teh = 1 ')
  H.sleep(200)
  H.eq(server.count(), 0, 'nothing sent in a lua buffer by default')
  child:stop()
  local child2 = start({ code = true }, 'lua')
  child2:cmd('syntax on')
  child2:lua('vim.bo.filetype = "lua"')
  child2:type('ilocal teh = 1 -- see teh ')
  child2:wait('vim.api.nvim_get_current_line() == "local teh = 1 -- see the "', 2000, 'comment corrected')
end)

H.test('per-buffer switch and correct.enabled = false', function()
  local child = start()
  child:cmd('Autocorrect disable')
  child:type('iteh ')
  H.sleep(200)
  H.eq(child:line(1), 'teh ', 'disabled buffer')
  child:type('<Esc>')
  child:cmd('Autocorrect toggle')
  child:type('Ateh ')
  child:wait('vim.api.nvim_get_current_line() == "teh the "', 2000, 'enabled again')
  child:stop()
  local child2 = start({ correct = { enabled = false } })
  child2:type('iteh ')
  H.sleep(200)
  H.eq(child2:line(1), 'teh ', 'correct.enabled = false')
end)

-- No treesitter parser is installed here: the treesitter path is checked with the highlighter
-- and its captures stubbed (the 0.9+ get_captures_at_pos, then the 0.7 node walk).
H.test('code = true: comments found by treesitter captures (stubbed)', function()
  local child = start({ code = true }, 'c')
  child:lua([[
    local buf = vim.api.nvim_get_current_buf()
    _G.__kind = 'comment'
    vim.treesitter.highlighter.active[buf] = { tree = {} }
    vim.treesitter.get_captures_at_pos = function() return { { capture = _G.__kind } } end]])
  child:type('iint teh = 1; ')
  child:wait('vim.api.nvim_get_current_line() == "int the = 1; "', 2000, 'corrected where the capture is a comment')
  child:lua('_G.__kind = "variable"')
  child:type('teh ')
  H.sleep(200)
  H.eq(child:line(1), 'int the = 1; teh ', 'left alone where the capture is code')
  -- the older API: walk up from the node at the position
  child:lua([[
    vim.treesitter.get_captures_at_pos = nil
    local buf = vim.api.nvim_get_current_buf()
    local function node(t, parent) return { type = function() return t end, parent = function() return parent end } end
    vim.treesitter.highlighter.active[buf].tree.named_node_for_range = function()
      return node('identifier', node(_G.__kind, node('translation_unit')))
    end]])
  child:type('<CR>teh ')
  H.sleep(200)
  H.eq(child:line(2), 'teh ', 'code by the node walk')
  child:lua('_G.__kind = "string_literal"')
  child:type('teh ')
  child:wait('vim.api.nvim_get_current_line() == "teh the "', 2000, 'string by the node walk')
end)
