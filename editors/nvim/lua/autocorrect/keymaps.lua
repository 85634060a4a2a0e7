-- autocorrect/keymaps.lua: the Insert-mode keys of the `keymaps` option, which fall through.
--
-- Each key runs its action (accept, next, dismiss...) when a suggestion shows. When none shows,
-- the key does what it did before setup(): the global Insert-mode mapping it had (a Lua callback,
-- an expression or plain keys, remapped or not, as it was defined), or the key itself. The
-- previous mapping is read with maparg() when the key is mapped and kept here. Buffer-local
-- mappings of the user win over these, as usual. The <Plug> mappings are in plugin/autocorrect.lua.
local M = {}

local api = vim.api

local DESC = 'autocorrect: '
local installed = {} -- lhs -> { prev = maparg dict or nil }

local function termcodes(s)
  return api.nvim_replace_termcodes(s, true, true, true)
end

-- Feeds keys ahead of whatever is already typed; remap: whether mappings apply to them.
local function feed(keys, remap)
  if keys and keys ~= '' then api.nvim_feedkeys(keys, remap and 'mi' or 'ni', false) end
end

-- Runs what `lhs` did before (prev: the maparg() dict, or nil).
function M.fallback(lhs, prev)
  if not prev or vim.tbl_isempty(prev) then
    feed(termcodes(lhs), false)
    return
  end
  local remap = prev.noremap ~= 1
  if type(prev.callback) == 'function' then
    local r = prev.callback()
    if prev.expr == 1 and type(r) == 'string' then
      if prev.replace_keycodes == 1 then r = termcodes(r) end
      feed(r, remap)
    end
    return
  end
  local rhs = (prev.rhs or ''):gsub('<[Ss][Ii][Dd]>', '<SNR>' .. tostring(prev.sid) .. '_')
  if prev.expr == 1 then
    local ok, r = pcall(vim.api.nvim_eval, rhs)
    if ok and type(r) == 'string' then feed(r, remap) end
  else
    feed(termcodes(rhs), remap)
  end
end

-- Maps `lhs` in Insert mode to action(), which returns true when it acted; otherwise the previous
-- meaning of `lhs` runs.
function M.map(lhs, name, action)
  local prev
  local cur = vim.fn.maparg(lhs, 'i', false, true)
  if type(cur) == 'table' and not vim.tbl_isempty(cur) and cur.buffer ~= 1 then
    if (cur.desc or ''):sub(1, #DESC) == DESC then
      prev = installed[lhs] and installed[lhs].prev -- ours from an earlier setup(): keep what it wrapped
    else
      prev = cur
      if prev.callback and type(prev.callback) ~= 'function' then
        -- Neovim 0.7's maparg() gives a Lua callback as a number; nvim_get_keymap has the function
        for _, m in ipairs(api.nvim_get_keymap('i')) do
          if m.lhs == prev.lhs and type(m.callback) == 'function' then prev.callback = m.callback end
        end
      end
    end
  end
  installed[lhs] = { prev = prev, name = name }
  vim.keymap.set('i', lhs, function()
    if not action() then M.fallback(lhs, prev) end
  end, { desc = DESC .. name, silent = true })
end

-- Removes the keys of an earlier setup() and maps the ones in `keys` (the keymaps option).
function M.apply(keys, actions)
  for lhs, it in pairs(installed) do
    local still = false
    for name, k in pairs(keys) do
      if k == lhs and actions[name] then still = true end
    end
    if not still then
      pcall(vim.keymap.del, 'i', lhs)
      installed[lhs] = nil
      local p = it.prev
      if p then -- give the key back its previous mapping
        pcall(vim.keymap.set, 'i', lhs, p.callback or p.rhs, {
          expr = p.expr == 1, remap = p.noremap ~= 1, silent = p.silent == 1, nowait = p.nowait == 1,
          desc = p.desc })
      end
    end
  end
  for name, lhs in pairs(keys) do
    if lhs and actions[name] then M.map(lhs, name, actions[name]) end
  end
end

function M.installed() return installed end

return M
