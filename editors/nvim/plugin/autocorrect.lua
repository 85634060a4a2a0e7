-- plugin/autocorrect.lua: the commands and <Plug> mappings, loaded at startup. Everything else
-- loads on first use; nothing runs until require('autocorrect').setup() (see :help autocorrect).
if vim.g.loaded_autocorrect then return end
vim.g.loaded_autocorrect = 1
if vim.fn.has('nvim-0.7') ~= 1 then
  vim.api.nvim_echo({ { 'autocorrect needs Neovim 0.7 or newer', 'ErrorMsg' } }, true, {})
  return
end

local function ac() return require('autocorrect') end
local cmd = vim.api.nvim_create_user_command

cmd('Autocorrect', function(o) ac().command(o.args) end, {
  nargs = '?', desc = 'autocorrect: enable|disable|toggle|status for this buffer',
  complete = function() return { 'enable', 'disable', 'toggle', 'status' } end,
})
cmd('AutocorrectLearn', function(o) ac().learn(o.args) end,
  { nargs = '?', desc = 'autocorrect: add a word (default: under the cursor) to your dictionary' })
cmd('AutocorrectChoose', function() ac().choose() end,
  { desc = 'autocorrect: choose a correction for the word under the cursor' })

local map = vim.keymap.set
for name, fn in pairs({ accept = 'accept', ['accept-word'] = 'accept_word', ['accept-line'] = 'accept_line',
                        next = 'next', prev = 'prev', dismiss = 'dismiss' }) do
  map('i', '<Plug>(autocorrect-' .. name .. ')', function() ac()[fn]() end, { desc = 'autocorrect: ' .. name })
end
map('n', '<Plug>(autocorrect-learn)', function() ac().learn() end, { desc = 'autocorrect: learn the word' })
map('n', '<Plug>(autocorrect-choose)', function() ac().choose() end, { desc = 'autocorrect: choose a correction' })
map('n', '<Plug>(autocorrect-toggle)', function() ac().toggle() end, { desc = 'autocorrect: toggle in this buffer' })
