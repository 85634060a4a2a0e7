" autoload/autocorrect.vim: 'completefunc' and 'omnifunc' for autocorrect (see :help autocorrect-completefunc).
"   setlocal completefunc=autocorrect#complete    then <C-x><C-u> in Insert mode
function! autocorrect#complete(findstart, base) abort
  return luaeval('require("autocorrect").completefunc(_A[1], _A[2])', [a:findstart, a:base])
endfunction
