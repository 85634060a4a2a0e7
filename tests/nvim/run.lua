-- tests/nvim/run.lua: runs one spec file (env AC_NVIM_SPEC) in this headless Neovim and exits with
-- status 1 when a test failed. Started by tests/sh/test_nvim*.sh:
--   AC_NVIM_SPEC=tests/nvim/ghost_spec.lua nvim --headless -u NONE -i NONE -n -c 'luafile tests/nvim/run.lua'
local root = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h')
package.path = root .. '/?.lua;' .. package.path
local H = require('helpers')
local spec = vim.env.AC_NVIM_SPEC
local ok, err = pcall(dofile, spec)
local failed
if not ok then
  H.out('FAIL: nvim ' .. tostring(spec) .. ': cannot load: ' .. tostring(err))
  failed = 1
else
  failed = H.run()
end
if failed > 0 then vim.cmd('cquit 1') else vim.cmd('qall!') end
