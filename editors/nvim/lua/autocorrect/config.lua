-- autocorrect/config.lua: the options, their defaults, their validation and the socket path.
--
-- This file is data and checks only: it holds no state of the running plugin apart from the
-- current options (M.options), and it does no I/O except reading environment variables.
-- The defaults below are the documented ones (doc/autocorrect.txt, *autocorrect-options*); keep
-- the two in step.
local M = {}

-- The documented defaults. A nested table is a group of options; setup() merges the user's
-- options into a deep copy of this table, key by key.
M.defaults = {
  -- UNIX socket of autocorrectd. nil: the daemon's own default, $XDG_RUNTIME_DIR/autocorrect.sock,
  -- else $TMPDIR (or /tmp)/autocorrect-$UID/autocorrect.sock.
  socket = nil,
  -- Start the daemon when nobody listens on the socket.
  start_daemon = false,
  -- The daemon's command line (a list, or a string split on spaces); `--socket PATH` is added
  -- when `socket` is set.
  daemon_cmd = { 'autocorrectd' },
  -- Where a daemon started by the plugin writes its log. nil: stdpath('cache')/autocorrect-daemon.log.
  daemon_log = nil,
  -- Milliseconds to wait for a daemon the plugin started (the model loads in that time).
  daemon_timeout_ms = 10000,
  -- Filetypes where the plugin completes and corrects everything you type.
  filetypes = { 'text', 'markdown', 'gitcommit', 'hgcommit', 'mail', 'rst', 'tex', 'plaintex',
                'asciidoc', 'org', 'norg', 'typst', 'txt' },
  -- In every other filetype, work inside comments and strings (treesitter captures where a parser
  -- is active, else syntax groups). false: only the filetypes above.
  code = false,
  -- Milliseconds a synchronous call (complete(), the completefunc, :checkhealth) waits for a reply.
  timeout_ms = 300,
  complete = {
    enabled = true,
    -- Milliseconds of quiet after a keystroke before a suggestion is asked for.
    debounce_ms = 60,
    -- Tokens per suggestion (the daemon caps it with its max_tokens).
    max_tokens = 6,
    -- Suggestions asked for; <Plug>(autocorrect-next) cycles through them.
    suggestions = 3,
    -- Context sent before the cursor: at most this many lines above, and at most this many bytes.
    context_lines = 30,
    context_bytes = 2000,
    -- Show and accept suggestions that run over several lines (else only up to the line end).
    multiline = false,
    -- Where ghost text goes: 'auto' ('inline' where this Neovim has it, else 'overlay'),
    -- 'inline', 'overlay' or 'eol'.
    position = 'auto',
  },
  correct = {
    enabled = true,
    -- A word that just ended is replaced when the daemon's probability for the fix is at least this.
    apply_probability = 0.8,
    -- Below that, down to this, the word is underlined; :AutocorrectChoose offers the candidates.
    suspect_probability = 0.3,
    -- Milliseconds the replaced word stays highlighted.
    highlight_ms = 1000,
  },
  -- Insert-mode keys. Each is a key (string) or false (no mapping). A key acts only while a
  -- suggestion shows; otherwise it does what it did before (your own mapping, or the key itself).
  keymaps = {
    accept = '<Tab>',
    accept_word = '<M-Right>',
    accept_line = '<M-C-Right>',
    next = '<M-]>',
    prev = '<M-[>',
    dismiss = '<C-]>',
  },
}

-- Options whose value may be nil in the defaults, with the types they accept.
local nilable = {
  socket = { 'string' },
  daemon_log = { 'string' },
}

-- Options that accept more than their default's type.
local extra_types = {
  daemon_cmd = { 'string' },
  ['keymaps.accept'] = { 'boolean' },
  ['keymaps.accept_word'] = { 'boolean' },
  ['keymaps.accept_line'] = { 'boolean' },
  ['keymaps.next'] = { 'boolean' },
  ['keymaps.prev'] = { 'boolean' },
  ['keymaps.dismiss'] = { 'boolean' },
}

-- Values checked beyond their type: returns nil when fine, else what is wrong.
local checks = {
  ['complete.position'] = function(v)
    local ok = { auto = true, inline = true, overlay = true, eol = true }
    if not ok[v] then return "must be 'auto', 'inline', 'overlay' or 'eol'" end
  end,
  ['complete.suggestions'] = function(v) if v < 1 or v > 16 then return 'must be 1 to 16' end end,
  ['complete.max_tokens'] = function(v) if v < 1 or v > 64 then return 'must be 1 to 64' end end,
  ['complete.debounce_ms'] = function(v) if v < 0 then return 'must be >= 0' end end,
  ['complete.context_lines'] = function(v) if v < 0 then return 'must be >= 0' end end,
  ['complete.context_bytes'] = function(v) if v < 16 then return 'must be >= 16' end end,
  ['correct.apply_probability'] = function(v) if v < 0 or v > 1 then return 'must be between 0 and 1' end end,
  ['correct.suspect_probability'] = function(v) if v < 0 or v > 1 then return 'must be between 0 and 1' end end,
  timeout_ms = function(v) if v < 1 then return 'must be >= 1' end end,
  filetypes = function(v)
    for _, ft in ipairs(v) do
      if type(ft) ~= 'string' then return 'must be a list of filetype names (strings)' end
    end
  end,
  daemon_cmd = function(v)
    if type(v) == 'table' then
      if #v == 0 then return 'must not be empty' end
      for _, a in ipairs(v) do
        if type(a) ~= 'string' then return 'must be a list of strings' end
      end
    elseif v == '' then
      return 'must not be empty'
    end
  end,
}

local function is_list(t)
  return type(t) == 'table' and (next(t) == nil or t[1] ~= nil)
end

-- Merges `user` into `into` (a copy of `dflt`), checking every key. Returns nil on success, else
-- the message of the first problem, which names the option by its full dotted name.
local function merge(into, dflt, user, prefix)
  if type(user) ~= 'table' then
    return string.format("autocorrect: option '%s' must be a table, got %s", prefix:sub(1, -2), type(user))
  end
  -- visit keys in a stable order, so the message names the same key every time
  local keys = {}
  for k in pairs(user) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(keys) do
    local v = user[k]
    local name = prefix .. tostring(k)
    local d = dflt[k]
    if type(k) ~= 'string' or (d == nil and not nilable[name]) then
      return string.format("autocorrect: unknown option '%s'", name)
    end
    local want = d ~= nil and type(d) or nilable[name][1]
    local ok_type = type(v) == want
    for _, t in ipairs(extra_types[name] or (d == nil and nilable[name]) or {}) do
      ok_type = ok_type or type(v) == t
    end
    if want == 'table' and not is_list(d) and type(v) == 'table' then
      local err = merge(into[k], d, v, name .. '.')
      if err then return err end
    elseif not ok_type then
      return string.format("autocorrect: option '%s' must be a %s, got %s", name,
        want == 'table' and (is_list(d) and 'list' or 'table') or want, type(v))
    else
      if type(v) == 'boolean' and extra_types[name] and v == true then
        return string.format("autocorrect: option '%s' must be a key (string) or false", name)
      end
      local why = checks[name] and checks[name](v)
      if why then
        return string.format("autocorrect: option '%s' %s (got %s)", name, why, vim.inspect(v))
      end
      into[k] = type(v) == 'table' and vim.deepcopy(v) or v
    end
  end
  return nil
end

-- The options in force (the defaults until setup() succeeds).
M.options = vim.deepcopy(M.defaults)

-- Builds the options from the user's table (nil: the defaults). Returns the options, or nil and a
-- message naming the first wrong key. Does not change M.options: setup() does that.
function M.build(user)
  local opts = vim.deepcopy(M.defaults)
  if user == nil then return opts end
  local err = merge(opts, M.defaults, user, '')
  if err then return nil, err end
  if type(opts.daemon_cmd) == 'string' then
    opts.daemon_cmd = vim.split(opts.daemon_cmd, '%s+', { trimempty = true })
  end
  if opts.correct.suspect_probability > opts.correct.apply_probability then
    return nil, "autocorrect: option 'correct.suspect_probability' must not exceed 'correct.apply_probability'"
  end
  return opts
end

-- The socket path the daemon listens on by default (src/server/config.c ac_socket_path_resolve):
-- socket_path from the options, else $XDG_RUNTIME_DIR/autocorrect.sock when XDG_RUNTIME_DIR is an
-- absolute path, else $TMPDIR/autocorrect-$UID/autocorrect.sock when TMPDIR is absolute and at
-- most 60 bytes, else /tmp/autocorrect-$UID/autocorrect.sock.
function M.socket_path(opts)
  opts = opts or M.options
  if opts.socket and opts.socket ~= '' then
    return vim.fn.expand(opts.socket)
  end
  local xdg = vim.env.XDG_RUNTIME_DIR
  if xdg and xdg:sub(1, 1) == '/' then
    return xdg .. '/autocorrect.sock'
  end
  local tmp = vim.env.TMPDIR
  if not tmp or tmp:sub(1, 1) ~= '/' or #tmp > 60 then tmp = '/tmp' end
  local uv = vim.uv or vim.loop
  local uid = uv.getuid and uv.getuid() or tonumber(vim.fn.system('id -u'))
  return string.format('%s/autocorrect-%d/autocorrect.sock', tmp, uid)
end

return M
