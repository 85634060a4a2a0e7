-- tests/nvim/fake_daemon.lua: the fake daemon of helpers.lua as a process of its own, for tests
-- where the child Neovim waits synchronously (:checkhealth, the completefunc): the test process is
-- blocked in an RPC call then and could not answer. Socket path in env AC_FAKE_SOCKET.
--   AC_FAKE_SOCKET=/tmp/x.sock nvim --headless -u NONE -i NONE -n -c 'luafile tests/nvim/fake_daemon.lua'
local root = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h')
package.path = root .. '/?.lua;' .. package.path
local H = require('helpers')
H.fake_server(vim.env.AC_FAKE_SOCKET, H.fake_handler(function(before)
  if before:match('fox$') then return { ' jumps over', ' runs' } end
  return { ' more' }
end))
