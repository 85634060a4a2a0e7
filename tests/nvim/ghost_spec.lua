-- tests/nvim/ghost_spec.lua: ghost text, accepting, cycling, typing through, stale replies, the
-- <Tab> fall-through, the popup menu, debounce, reconnecting; against the fake daemon.
local H = require('helpers')

local sock = H.tmp .. '/ghost.sock'

-- Completions the fake daemon gives: keyed by the end of `before`.
local function completer(before)
  if before:match('fox$') then return { ' jumps over', ' runs away', ' sleeps' } end
  if before:match('fox jumps over$') then return { ' the lazy dog' } end
  if before:match('multi$') then return { ' line one\nline two' } end
  if before:match('quick$') then return { ' brown fox' } end
  return {}
end

local function start(setup_extra, pre)
  local server = H.fake_server(sock, H.fake_handler(completer))
  H.cleanup(server.close)
  local setup = vim.tbl_deep_extend('force', { socket = sock }, setup_extra or {})
  local child = H.child({ setup = not pre and setup or nil })
  H.cleanup(function() child:stop() end)
  if pre then
    child:lua(pre)
    assert(child:lua('return require("autocorrect").setup(...)', setup))
  end
  child:edit('text')
  return child, server
end

H.test('ghost text appears after typing', function()
  local child, server = start()
  child:type('iThe quick brown fox')
  local g = child:wait('require("autocorrect").ghost_text() ~= "" and require("autocorrect").ghost_text()', 2000, 'ghost text')
  H.eq(g, ' jumps over', 'ghost text')
  local req = server.last('complete')
  H.eq(req.before, 'The quick brown fox', 'before')
  H.eq(req.after, '', 'after')
  local pid = child:lua('return vim.loop.os_getpid()')
  H.eq(req.session, string.format('nvim-%d-%d', pid, child:lua('return vim.api.nvim_get_current_buf()')), 'session')
  -- drawn as an extmark after the cursor, in the ghost highlight
  local marks = child:lua([[
    local ns = require('autocorrect.ghost').ns
    return vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })]])
  H.eq(#marks, 1, 'number of ghost extmarks')
  H.eq(marks[1][3], #'The quick brown fox', 'extmark column')
  H.eq(marks[1][4].virt_text[1][1], ' jumps over', 'virt_text')
  H.eq(marks[1][4].virt_text[1][2], 'AutocorrectGhost', 'highlight')
  local pos = child:lua('return require("autocorrect.ghost").position()')
  local inline = child:lua('return require("autocorrect.ghost").supports_inline()')
  H.eq(pos, inline and 'inline' or 'overlay', 'position follows the detected feature')
  H.eq(child:line(1), 'The quick brown fox', 'the buffer holds only what was typed')
end)

H.test('accept inserts exactly the ghost text', function()
  local child = start()
  child:type('iThe quick brown fox')
  child:wait('require("autocorrect").ghost_text() == " jumps over"')
  child:type('<Tab>')
  H.eq(child:line(1), 'The quick brown fox jumps over', 'line after <Tab>')
  H.eq(child:lua('return vim.api.nvim_win_get_cursor(0)[2]'), #'The quick brown fox jumps over', 'cursor after the insert')
  H.eq(child:mode(), 'i', 'still in Insert mode')
  -- and the next suggestion comes for the new text
  local g = child:wait('require("autocorrect").ghost_text() ~= "" and require("autocorrect").ghost_text()')
  H.eq(g, ' the lazy dog', 'next suggestion')
end)

H.test('accept word inserts one word and keeps the rest', function()
  local child, server = start()
  child:type('iThe quick brown fox')
  child:wait('require("autocorrect").ghost_text() == " jumps over"')
  local n = server.count('complete')
  child:type('<M-Right>')
  H.eq(child:line(1), 'The quick brown fox jumps', 'line after accept word')
  H.eq(child:ghost(), ' over', 'the rest stays shown')
  child:type('<M-Right>')
  H.eq(child:line(1), 'The quick brown fox jumps over', 'line after the second accept word')
  H.sleep(150)
  -- the first accept-word needed no request; the second finished the suggestion and asked anew
  H.eq(server.count('complete'), n + 1, 'requests after two accept-words')
end)

H.test('accept line takes up to the line end; multiline ghost', function()
  local child = start({ complete = { multiline = true } })
  child:type('imulti')
  child:wait('require("autocorrect").ghost_text() ~= ""')
  H.eq(child:ghost(), ' line one\nline two', 'multiline ghost')
  local vl = child:lua([[
    local m = vim.api.nvim_buf_get_extmarks(0, require('autocorrect.ghost').ns, 0, -1, { details = true })[1]
    return m[4].virt_lines]])
  H.eq(vl[1][1][1], 'line two', 'second line as virt_lines')
  child:type('<M-C-Right>')
  H.eq(child:lua('return vim.api.nvim_buf_get_lines(0, 0, -1, false)'), { 'multi line one' }, 'after accept line')
  H.eq(child:ghost(), '\nline two', 'rest of the ghost')
  child:type('<Tab>')
  H.eq(child:lua('return vim.api.nvim_buf_get_lines(0, 0, -1, false)'), { 'multi line one', 'line two' }, 'after accept')
  H.eq(child:lua('return vim.api.nvim_win_get_cursor(0)'), { 2, 8 }, 'cursor')
end)

H.test('next and previous suggestion, dismiss', function()
  local child = start()
  child:type('iThe quick brown fox')
  child:wait('require("autocorrect").ghost_text() == " jumps over"')
  child:type('<M-]>')
  H.eq(child:ghost(), ' runs away', 'next')
  child:type('<M-]>')
  H.eq(child:ghost(), ' sleeps', 'next again')
  child:type('<M-]>')
  H.eq(child:ghost(), ' jumps over', 'wraps around')
  child:type('<M-[>')
  H.eq(child:ghost(), ' sleeps', 'previous wraps')
  child:type('<Tab>')
  H.eq(child:line(1), 'The quick brown fox sleeps', 'accepts the one shown')
  child:type(' and')
  H.sleep(120)
  child:type('<C-]>')
  H.eq(child:ghost(), '', 'no ghost after dismiss')
  H.eq(child:line(1), 'The quick brown fox sleeps and', 'dismiss changes no text')
end)

H.test('typing through the ghost shifts it without a new request', function()
  local child, server = start()
  child:type('iThe quick brown fox')
  child:wait('require("autocorrect").ghost_text() == " jumps over"')
  local n = server.count('complete')
  child:type(' j')
  H.eq(child:ghost(), 'umps over', 'ghost after typing " j"')
  child:type('u')
  H.eq(child:ghost(), 'mps over', 'ghost after typing "u"')
  H.sleep(150)
  H.eq(server.count('complete'), n, 'no request while typing through')
  H.eq(child:ghost(), 'mps over', 'still shown')
  -- a different character drops it and asks again
  child:type('x')
  H.eq(child:ghost(), '', 'cleared on a mismatch')
  H.sleep(150)
  H.eq(server.count('complete'), n + 1, 'one new request after the mismatch')
end)

H.test('typing through keeps the suggestions that still match', function()
  local child = start()
  child:type('iThe quick brown fox')
  child:wait('require("autocorrect").ghost_text() == " jumps over"')
  child:type(' r')
  H.eq(child:ghost(), 'uns away', 'switched to the suggestion that matches')
end)

H.test('debounce: a burst of keys sends one request', function()
  local child, server = start({ complete = { debounce_ms = 80 } })
  child:type('i')
  local n = server.count('complete')
  for c in ('hello world'):gmatch('.') do
    child:type(c)
    H.sleep(10)
  end
  H.sleep(250)
  H.eq(server.count('complete'), n + 1, 'requests for a burst')
  H.eq(server.last('complete').before, 'hello world', 'the request has the whole burst')
end)

H.test('stale replies are dropped', function()
  local child, server = start()
  -- hold the reply to the first request until the text has moved on
  local held = {}
  local base = H.fake_handler(completer)
  server.handler = function(msg, reply, S)
    if msg.op == 'complete' and msg.before == 'The quick' then
      held[#held + 1] = function() reply({ completions = { { text = ' STALE', score = 0 } } }) end
    else
      base(msg, reply, S)
    end
  end
  child:type('iThe quick')
  vim.wait(1000, function() return #held > 0 end, 5)
  H.eq(#held, 1, 'first request held')
  child:type(' brown fox')
  child:wait('require("autocorrect").ghost_text() == " jumps over"')
  held[1]()
  H.sleep(100)
  H.eq(child:ghost(), ' jumps over', 'the stale reply did not replace the ghost')
  -- a stale reply for the same text position but an older request is dropped too
  child:type('<Esc>0Di')
  child:type('The quick')
  vim.wait(1000, function() return #held > 1 end, 5)
  child:type('<Left>') -- the cursor moved: the pending reply is for an earlier state
  held[2]()
  H.sleep(100)
  H.ok(child:ghost() ~= ' STALE', 'old reply after a cursor move is dropped')
  local stats = child:lua('return require("autocorrect").status().stats')
  H.ok(stats.stale + child:lua('return require("autocorrect.client").status().stats.dropped') >= 2,
    'stale replies counted: ' .. vim.inspect(stats))
end)

H.test('<Tab> falls through to the previous mapping when no ghost shows', function()
  local child = start(nil, [[vim.cmd('inoremap <Tab> XYZ')]])
  child:type('iabc<Tab>')
  H.eq(child:line(1), 'abcXYZ', 'previous mapping ran')
  -- with a ghost it accepts instead
  child:type('<C-u>The quick')
  child:wait('require("autocorrect").ghost_text() == " brown fox"')
  child:type('<Tab>')
  H.eq(child:line(1), 'The quick brown fox', 'accepted')
end)

H.test('<Tab> inserts a tab without a previous mapping; expr mappings fall through too', function()
  local child = start()
  child:type('i<Tab>x')
  H.eq(child:line(1), '\tx', 'plain tab')
  child:stop()
  local child2 = start(nil, [[
    vim.cmd([=[inoremap <expr> <Tab> pumvisible() ? "\<C-n>" : "EXPR"]=])
    vim.keymap.set('i', '<C-]>', function() return 'LUA' end, { expr = true })]])
  child2:type('i<Tab>')
  H.eq(child2:line(1), 'EXPR', 'expr mapping')
  child2:type('<C-]>')
  H.eq(child2:line(1), 'EXPRLUA', 'Lua expr mapping behind dismiss')
end)

H.test('ghost hides while the popup menu is open', function()
  local child = start()
  child:lua([[vim.api.nvim_buf_set_lines(0, 0, -1, false, { 'fox foxglove foxtrot', '' })]])
  child:type('GA')
  child:type('The quick brown fox')
  child:wait('require("autocorrect").ghost_text() == " jumps over"')
  child:type('<C-p>') -- keyword completion opens the popup menu
  child:wait('vim.fn.pumvisible() == 1', 1000, 'popup menu')
  H.eq(child:ghost(), '', 'ghost hidden while the menu shows')
  local marks = child:lua('return #vim.api.nvim_buf_get_extmarks(0, require("autocorrect.ghost").ns, 0, -1, {})')
  H.eq(marks, 0, 'no ghost extmark under the menu')
end)

H.test('reconnects after the daemon restarts', function()
  local child, server = start()
  child:type('iThe quick brown fox')
  child:wait('require("autocorrect").ghost_text() == " jumps over"')
  server.close()
  child:wait('require("autocorrect.client").status().state == "idle"', 2000, 'disconnect seen')
  local server2 = H.fake_server(sock, H.fake_handler(function() return { ' again' } end))
  H.cleanup(server2.close)
  child:type(' x')
  child:wait('require("autocorrect").ghost_text() == " again"', 3000, 'ghost from the new daemon')
  H.eq(child:lua('return require("autocorrect.client").status().stats.connects'), 2, 'connections made')
end)

H.test('ghost is cleared on leaving Insert mode', function()
  local child = start()
  child:type('iThe quick brown fox')
  child:wait('require("autocorrect").ghost_text() == " jumps over"')
  child:type('<Esc>')
  H.eq(child:ghost(), '', 'no ghost in Normal mode')
  local marks = child:lua('return #vim.api.nvim_buf_get_extmarks(0, require("autocorrect.ghost").ns, 0, -1, {})')
  H.eq(marks, 0, 'extmark removed')
end)

H.test('overlay position (forced) draws the ghost and the covered text', function()
  local child = start({ complete = { position = 'overlay' } })
  child:lua([[vim.api.nvim_buf_set_lines(0, 0, -1, false, { 'The quick brown fox!' })]])
  child:type('0f!i')
  child:wait('require("autocorrect").ghost_text() == " jumps over"')
  local m = child:lua([[
    return vim.api.nvim_buf_get_extmarks(0, require('autocorrect.ghost').ns, 0, -1, { details = true })[1][4] ]])
  H.eq(m.virt_text_pos, 'overlay', 'position')
  H.eq(m.virt_text[1][1], ' jumps over', 'ghost part')
  H.eq(m.virt_text[2][1], '!', 'covered text redrawn after it')
  child:type('<Tab>')
  H.eq(child:line(1), 'The quick brown fox jumps over!', 'accepted mid-line')
end)

H.test('overlay position expands tabs in the covered text', function()
  local child = start({ complete = { position = 'overlay' } })
  child:lua([[vim.bo.tabstop = 8; vim.api.nvim_buf_set_lines(0, 0, -1, false, { 'fox\tend' })]])
  child:type('0f\ti')
  child:wait('require("autocorrect").ghost_text() == " jumps over"')
  local vt = child:lua([[
    return vim.api.nvim_buf_get_extmarks(0, require('autocorrect.ghost').ns, 0, -1, { details = true })[1][4].virt_text ]])
  -- "fox jumps over" is 14 columns wide: the tab then reaches column 16
  H.eq(vt[2][1], '  end', 'tab expanded from where the ghost ends')
end)
