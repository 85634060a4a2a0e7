-- tests/nvim/setup_spec.lua: options and their validation, the socket path, :help, installing from
-- a packpath, commands, :checkhealth, the completefunc, and behaviour with no daemon; against the
-- fake daemon where one is needed.
local H = require('helpers')

local sock = H.tmp .. '/setup.sock'

local function child(setup)
  local c = H.child({ setup = setup })
  H.cleanup(function() c:stop() end)
  return c
end

H.test('setup validates options and names the wrong key', function()
  local c = child()
  local cases = {
    { { foo = 1 }, "unknown option 'foo'" },
    { { complete = { debounce = 10 } }, "unknown option 'complete.debounce'" },
    { { complete = { debounce_ms = '60' } }, "option 'complete.debounce_ms' must be a number, got string" },
    { { correct = 'yes' }, "option 'correct' must be a table, got string" },
    { { keymaps = { accept = true } }, "option 'keymaps.accept' must be a key (string) or false" },
    { { complete = { position = 'left' } }, "option 'complete.position' must be 'auto', 'inline', 'overlay' or 'eol'" },
    { { filetypes = 'text' }, "option 'filetypes' must be a list, got string" },
    { { correct = { apply_probability = 2 } }, "option 'correct.apply_probability' must be between 0 and 1" },
    { { socket = 5 }, "option 'socket' must be a string, got number" },
    { { start_daemon = 1 }, "option 'start_daemon' must be a boolean, got number" },
  }
  for _, case in ipairs(cases) do
    c:lua('_G.__notes = {}')
    local ok = c:lua('return require("autocorrect").setup(...)', case[1])
    H.eq(ok, false, 'setup result for ' .. vim.inspect(case[1]))
    local notes = c:lua('return _G.__notes')
    H.eq(#notes, 1, 'one message for ' .. vim.inspect(case[1]))
    H.ok(notes[1].msg:find(case[2], 1, true), string.format('message %q should contain %q', notes[1].msg, case[2]))
    H.eq(notes[1].level, vim.log.levels.ERROR, 'level')
  end
  H.eq(c:lua('return require("autocorrect").is_setup()'), false, 'a failed setup changes nothing')
  -- good options merge into the defaults
  H.eq(c:lua('return require("autocorrect").setup(...)', { complete = { debounce_ms = 10 }, keymaps = { next = false } }),
    true, 'valid options')
  local o = c:lua('return require("autocorrect.config").options')
  H.eq(o.complete.debounce_ms, 10, 'set value')
  H.eq(o.complete.max_tokens, 6, 'default kept beside it')
  H.eq(o.keymaps.next, false, 'key switched off')
  H.eq(c:lua('return vim.fn.maparg("<M-]>", "i")'), '', 'no mapping for a key set to false')
  H.ok(c:lua('return vim.fn.maparg("<Tab>", "i")') ~= '', '<Tab> mapped')
  H.eq(c:lua('return require("autocorrect").setup({ daemon_cmd = "autocorrectd --verbose" })'), true, 'string command')
  H.eq(c:lua('return require("autocorrect.config").options.daemon_cmd'), { 'autocorrectd', '--verbose' }, 'split')
end)

H.test('a second setup gives a key back its previous mapping', function()
  local c = child()
  c:cmd('inoremap <M-]> PREV')
  H.eq(c:lua('return require("autocorrect").setup()'), true, 'setup')
  H.eq(c:lua('return require("autocorrect").setup({ keymaps = { next = false } })'), true, 'setup again')
  H.eq(c:lua('return vim.fn.maparg("<M-]>", "i")'), 'PREV', 'restored')
end)

H.test('socket path: option, XDG_RUNTIME_DIR, TMPDIR, /tmp (as the daemon resolves it)', function()
  local c = child()
  local uid = c:lua('return vim.loop.getuid()')
  local path = function(opts, env)
    return c:lua([[
      local opts, env = ...
      for k, v in pairs(env) do vim.env[k] = v ~= '' and v or nil end
      return require('autocorrect.config').socket_path(vim.tbl_deep_extend('force', require('autocorrect.config').defaults, opts))
    ]], opts, env)
  end
  H.eq(path({ socket = '/x/y.sock' }, {}), '/x/y.sock', 'option')
  H.eq(path({}, { XDG_RUNTIME_DIR = '/run/user/7' }), '/run/user/7/autocorrect.sock', 'XDG_RUNTIME_DIR')
  H.eq(path({}, { XDG_RUNTIME_DIR = '', TMPDIR = '/var/tmp' }), '/var/tmp/autocorrect-' .. uid .. '/autocorrect.sock', 'TMPDIR')
  H.eq(path({}, { XDG_RUNTIME_DIR = 'relative', TMPDIR = '' }), '/tmp/autocorrect-' .. uid .. '/autocorrect.sock', '/tmp')
  H.eq(path({}, { XDG_RUNTIME_DIR = '', TMPDIR = '/' .. string.rep('x', 61) }),
    '/tmp/autocorrect-' .. uid .. '/autocorrect.sock', 'a TMPDIR over 60 bytes is ignored')
end)

H.test(':help autocorrect works after helptags; every option is documented', function()
  local doc = H.tmp .. '/helproot/doc'
  vim.fn.mkdir(doc, 'p')
  vim.fn.writefile(vim.fn.readfile(H.rtp .. '/doc/autocorrect.txt'), doc .. '/autocorrect.txt')
  vim.cmd('helptags ' .. vim.fn.fnameescape(doc))
  H.ok(vim.loop.fs_stat(doc .. '/tags'), 'tags generated')
  local c = child()
  c:cmd('set rtp+=' .. H.tmp .. '/helproot')
  for _, tag in ipairs({ 'autocorrect', 'autocorrect.setup()', 'autocorrect-options', ':Autocorrect',
                         ':AutocorrectLearn', ':AutocorrectChoose', '<Plug>(autocorrect-accept)',
                         'autocorrect-health', 'autocorrect-completefunc', 'autocorrect.complete()',
                         'AutocorrectGhost', 'autocorrect-keymaps' }) do
    c:cmd('help ' .. tag)
    H.ok(c:lua('return vim.fn.expand("%:t")') == 'autocorrect.txt', 'help for ' .. tag)
    c:cmd('close')
  end
  -- every option of the defaults appears in the options section
  local text = table.concat(vim.fn.readfile(H.rtp .. '/doc/autocorrect.txt'), '\n')
  local defaults = c:lua('return require("autocorrect.config").defaults')
  for k, v in pairs(defaults) do
    if type(v) == 'table' and not vim.tbl_islist(v) then
      for k2 in pairs(v) do
        H.ok(text:find(k .. '.' .. k2, 1, true) or text:find('%s' .. k2 .. '%s*='), 'option ' .. k .. '.' .. k2 .. ' documented')
      end
    else
      H.ok(text:find(k, 1, true), 'option ' .. k .. ' documented')
    end
  end
  H.ok(text:find('socket%s*=') and text:find('daemon_log'), 'nil defaults documented')
end)

H.test('installs from a packpath (pack/*/start)', function()
  local pack = H.tmp .. '/pp/pack/test/start'
  vim.fn.mkdir(pack, 'p')
  vim.loop.fs_symlink(H.rtp, pack .. '/autocorrect')
  local c = H.child({ plugin = false })
  H.cleanup(function() c:stop() end)
  c:cmd('set packpath^=' .. H.tmp .. '/pp')
  c:cmd('set loadplugins')
  c:cmd('packloadall')
  H.eq(c:lua('return vim.fn.exists(":Autocorrect")'), 2, ':Autocorrect defined by plugin/autocorrect.lua')
  H.eq(c:lua('return require("autocorrect").setup()'), true, 'setup from the packpath copy')
  H.ok(c:lua('return vim.fn.maparg("<Plug>(autocorrect-accept)", "i")') ~= '' or
       c:lua('return #vim.fn.maparg("<Plug>(autocorrect-accept)", "i", false, true)') ~= 0, '<Plug> mapping')
end)

H.test('filetypes: active in text-like buffers, not in code; per-buffer commands', function()
  local c = child({ socket = sock })
  local mode = function(ft)
    c:cmd('enew!')
    c:lua('vim.bo.filetype = ...', ft)
    return c:lua('return require("autocorrect").status().mode')
  end
  H.eq(mode('markdown'), 'all', 'markdown')
  H.eq(mode('gitcommit'), 'all', 'gitcommit')
  H.eq(mode('lua'), vim.NIL, 'lua')
  c:cmd('Autocorrect enable')
  H.eq(c:lua('return require("autocorrect").status().mode'), 'all', 'enabled in a lua buffer')
  H.eq(c:lua('return vim.b.autocorrect_enabled'), true, 'b:autocorrect_enabled')
  c:cmd('Autocorrect toggle')
  H.eq(c:lua('return require("autocorrect").status().mode'), vim.NIL, 'toggled off')
  c:cmd('Autocorrect status')
  local notes = c:lua('return _G.__notes')
  H.ok(notes[#notes].msg:find('autocorrect: off in buffer', 1, true) and notes[#notes].msg:find('daemon:', 1, true),
    'status message: ' .. notes[#notes].msg)
  c:cmd('Autocorrect bogus')
  notes = c:lua('return _G.__notes')
  H.ok(notes[#notes].msg:find("unknown argument 'bogus'", 1, true), 'bad argument reported')
  H.eq(mode('help'), vim.NIL, 'a help buffer is never active')
  c:cmd('enew!')
  c:lua('vim.bo.filetype = "text"; vim.bo.buftype = "nofile"')
  H.eq(c:lua('return require("autocorrect").status().mode'), vim.NIL, 'nofile buffers are left alone')
end)

H.test('no daemon: one warning, typing works, no request attempts while backing off', function()
  local c = child({ socket = H.tmp .. '/nobody.sock' })
  c:edit('text')
  c:type('iThe quick brown fox')
  H.sleep(200)
  c:type(' jumps over the lazy dog')
  H.sleep(200)
  c:type('<Esc>')
  H.eq(c:line(1), 'The quick brown fox jumps over the lazy dog', 'text typed')
  local notes = c:lua('return _G.__notes')
  H.eq(#notes, 1, 'one warning')
  H.ok(notes[1].msg:find('nobody.sock', 1, true), 'the warning names the socket: ' .. notes[1].msg)
  local st = c:lua('return require("autocorrect.client").status()')
  H.eq(st.state, 'idle', 'not connected')
  H.ok(st.stats.failures >= 1 and st.stats.failures <= 2, 'connect attempts backed off: ' .. vim.inspect(st.stats))
  -- the daemon appears: after the backoff the plugin connects
  local server = H.fake_server(H.tmp .. '/nobody.sock', H.fake_handler(function() return { ' found' } end))
  H.cleanup(server.close)
  c:type('A again')
  local ok = vim.wait(8000, function()
    if c:ghost() ~= '' then return true end
    c:type('x<BS>')
    H.sleep(100)
    return false
  end, 50)
  H.ok(ok, 'connected once the daemon is there')
  H.eq(c:ghost(), ' found', 'ghost')
  H.eq(#c:lua('return _G.__notes'), 1, 'still one warning')
end)

H.test('start_daemon with a missing command warns once and names it', function()
  local c = child({ socket = H.tmp .. '/nobody2.sock', start_daemon = true, daemon_cmd = { 'no-such-autocorrectd' } })
  c:edit('text')
  c:type('ihello world')
  H.sleep(200)
  c:type(' more')
  H.sleep(200)
  local notes = c:lua('return _G.__notes')
  H.eq(#notes, 1, 'one warning: ' .. vim.inspect(notes))
  H.ok(notes[1].msg:find('no-such-autocorrectd', 1, true), 'names the command')
end)

H.test(':checkhealth autocorrect with the 0.7 health API', function()
  H.fake_process(sock)
  local c = child({ socket = sock })
  c:cmd('checkhealth autocorrect')
  local text = table.concat(c:lua('return vim.api.nvim_buf_get_lines(0, 0, -1, false)'), '\n')
  H.ok(text:find('OK:? setup%(%) was called') or text:find('OK.-setup%(%) was called'), 'setup line:\n' .. text)
  H.ok(text:find('autocorrectd 0.0-fake', 1, true), 'version:\n' .. text)
  H.ok(text:find('model: fake model', 1, true), 'model:\n' .. text)
  H.ok(text:find('round trip', 1, true), 'round trip:\n' .. text)
  c:stop()
  local c2 = child({ socket = H.tmp .. '/none.sock' })
  c2:cmd('checkhealth autocorrect')
  text = table.concat(c2:lua('return vim.api.nvim_buf_get_lines(0, 0, -1, false)'), '\n')
  H.ok(text:find('ERROR:? no socket at .*none%.sock') or text:find('ERROR.-none%.sock'), 'missing socket reported:\n' .. text)
end)

H.test('completefunc and complete() with the fake daemon', function()
  local job = H.fake_process(sock)
  local c = child({ socket = sock })
  c:edit('text', { 'The quick brown fox' })
  H.eq(c:lua('return require("autocorrect").complete()'), { ' jumps over', ' runs' }, 'complete() in Normal mode')
  c:lua('vim.bo.completefunc = "autocorrect#complete"')
  c:type('A<C-x><C-u>')
  c:wait('vim.fn.pumvisible() == 1', 2000, 'menu')
  local items = c:lua('return vim.tbl_map(function(i) return i.word end, vim.fn.complete_info({ "items" }).items)')
  H.eq(items, { 'fox jumps over', 'fox runs' }, 'items complete the word before the cursor')
  c:type('<C-y><Esc>')
  H.eq(c:line(1), 'The quick brown fox jumps over', 'item inserted')
  -- with no daemon it gives nothing, quickly
  vim.fn.jobstop(job)
  vim.fn.jobwait({ job }, 2000)
  local t0 = vim.loop.hrtime()
  H.eq(c:lua('return require("autocorrect").complete(200)'), {}, 'empty without a daemon')
  H.ok((vim.loop.hrtime() - t0) / 1e6 < 1000, 'returns within the timeout')
end)

-- Only Neovim 0.7 is installed here: the paths for newer versions are checked with the feature
-- they detect stubbed in.
H.test('inline virtual text is used where the feature is detected (stubbed)', function()
  local server = H.fake_server(sock, H.fake_handler(function() return { ' jumps' } end))
  H.cleanup(server.close)
  local c = child({ socket = sock })
  local real = c:lua('return require("autocorrect.ghost").supports_inline()')
  c:lua([[
    local g = require('autocorrect.ghost')
    g.supports_inline = function() return true end
    local set = vim.api.nvim_buf_set_extmark
    _G.__pos = {}
    vim.api.nvim_buf_set_extmark = function(b, ns, r, col, o)
      if ns == g.ns then
        table.insert(_G.__pos, o.virt_text_pos)
        if o.virt_text_pos == 'inline' and not _G.__real_inline then o.virt_text_pos = 'overlay' end
      end
      return set(b, ns, r, col, o)
    end]])
  c:lua('_G.__real_inline = ...', real)
  c:edit('text')
  c:type('ifox')
  c:wait('require("autocorrect").ghost_text() == " jumps"', 2000)
  H.eq(c:lua('return _G.__pos'), { 'inline' }, 'drawn inline')
  H.eq(c:lua('return require("autocorrect").status().ghost_position'), 'inline', 'reported')
end)

H.test(':checkhealth with the vim.health API of Neovim 0.9+ (stubbed)', function()
  H.fake_process(sock)
  local c = child({ socket = sock })
  c:lua([[
    _G.__calls = {}
    local function rec(kind) return function(msg) table.insert(_G.__calls, kind .. ': ' .. msg) end end
    vim.health = { start = rec('start'), ok = rec('ok'), info = rec('info'), warn = rec('warn'), error = rec('error') }
    require('autocorrect.health').check()]])
  local calls = table.concat(c:lua('return _G.__calls'), '\n')
  H.ok(calls:find('start: autocorrect: daemon', 1, true), calls)
  H.ok(calls:find('ok: autocorrectd 0.0-fake', 1, true), calls)
  H.ok(calls:find('ok: round trip', 1, true), calls)
  H.ok(not calls:find('error:', 1, true), calls)
end)
