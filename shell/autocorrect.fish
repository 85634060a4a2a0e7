# autocorrect.fish: completion and correction of the command line from autocorrectd, for fish >= 3.1.
#
# What it is: two key bindings. Alt-a completes the command line at the cursor with the daemon's
# best completion and lists the others below the prompt; pressing it again right away puts the
# next one in its place (it cycles). Alt-x replaces the line with its spelling corrections. Each
# press runs one short-lived `autocorrect` client (the CLI, which speaks to the daemon) under a
# time budget ($autocorrect_timeout, 0.1 s): with the daemon slow or gone the key gives up quickly
# and the line stays as it was. Nothing runs while you type.
# What it is not: ghost text as you type (fish draws its own history autosuggestions there), or a
# replacement for Tab completion.
#
# Enable:  source /usr/local/share/autocorrect/shell/autocorrect.fish   (in ~/.config/fish/config.fish)
# Settings (variables, read at each keypress; see docs/shell.md):
#   AUTOCORRECT_SOCKET              the daemon's socket (default: as autocorrectd resolves it)
#   autocorrect_cli                 the `autocorrect` program, default: the one on PATH
#   autocorrect_timeout             seconds a keypress may wait for the daemon, 0.1
#   autocorrect_max_tokens          tokens per completion, 8
#   autocorrect_history             1: prefer completions that continue a line of your history
#   autocorrect_history_context     N: send your last N history lines as context (to the local daemon)
#   autocorrect_complete_key, autocorrect_correct_key   key sequences, \ea and \ex (set before sourcing)
# `autocorrect_suggest TEXT` prints the completions of TEXT, one per line (what Alt-a uses).

# The socket autocorrectd uses with the same settings (the CLI is always given the path: without
# one it would load the model itself when no daemon answers, far slower than a keypress may be).
function _autocorrect_socket
    if set -q AUTOCORRECT_SOCKET[1]; and test -n "$AUTOCORRECT_SOCKET"
        echo $AUTOCORRECT_SOCKET
        return
    end
    set -l cfg (set -q XDG_CONFIG_HOME[1]; and echo $XDG_CONFIG_HOME; or echo $HOME/.config)/autocorrect/config.toml
    set -l path
    if test -r $cfg
        for line in (string match -r '^\s*socket_path\s*=.*' <$cfg)
            set path (string replace -r '^\s*socket_path\s*=\s*["\']([^"\']*)["\'].*$' '$1' -- $line)
        end
        set path (string replace -r '^~/' "$HOME/" -- $path)
    end
    if test -n "$path"
        echo $path
    else if set -q XDG_RUNTIME_DIR[1]; and test -n "$XDG_RUNTIME_DIR"
        echo $XDG_RUNTIME_DIR/autocorrect.sock
    else
        set -l tmp /tmp
        set -q TMPDIR[1]; and test -n "$TMPDIR"; and set tmp $TMPDIR
        echo $tmp/autocorrect-(id -u)/autocorrect.sock
    end
end

# Runs the CLI (subcommand and options in $argv[2..]) with $argv[1] on standard input, under the
# time budget. Status: 0 answered, 124 over the budget, 127 no CLI, other: no daemon or an error.
function _autocorrect_cli
    set -l cli autocorrect
    set -q autocorrect_cli[1]; and set cli $autocorrect_cli
    command -q $cli; or test -x "$cli"; or return 127
    set -l sock (_autocorrect_socket)
    test -S "$sock"; or return 2
    set -l budget 0.1
    set -q autocorrect_timeout[1]; and set budget $autocorrect_timeout
    printf '%s\n' $argv[1] | timeout -k 0.1 $budget $cli $argv[2] --socket $sock $argv[3..-1] 2>/dev/null
end

function _autocorrect_say
    printf '\e[2mautocorrect: %s\e[0m\n' $argv[1] >&2
end

function _autocorrect_why
    switch $argv[1]
        case 124
            set -l budget 0.1
            set -q autocorrect_timeout[1]; and set budget $autocorrect_timeout
            _autocorrect_say "no answer within "$budget"s"
        case 127
            _autocorrect_say "the autocorrect command is not on PATH (set autocorrect_cli)"
        case '*'
            _autocorrect_say "the daemon is not running ("(_autocorrect_socket)")"
    end
end

# Prints the completions of $argv[1] (the text before the cursor), in the reply's order; $argv[2]: the text
# after the cursor. Status as _autocorrect_cli's.
function autocorrect_suggest
    set -l text $argv[1]
    set -l max 8
    set -q autocorrect_max_tokens[1]; and set max $autocorrect_max_tokens
    set -l args complete --stop line --max-tokens $max --beams 4
    if test -n "$argv[2]"
        set -a args --after $argv[2]
    end
    if set -q autocorrect_history_context[1]; and test "$autocorrect_history_context" -gt 0 2>/dev/null
        set -l ctx (history --null --max $autocorrect_history_context | string split0 | string match -rv '\n')
        if set -q ctx[1]
            set text (string join \n -- $ctx[-1..1] $text | string collect)
        end
    end
    set -l out (_autocorrect_cli $text $args)
    set -l rc $status
    test $rc -eq 0; or return $rc
    for c in $out
        set c (string replace -ra '[[:cntrl:]]' '' -- $c)
        test -n "$c"; and echo $c
    end
    return 0
end

set -g _autocorrect_alts
set -g _autocorrect_idx 1
set -g _autocorrect_before ''
set -g _autocorrect_after ''
set -g _autocorrect_result ''
set -g _autocorrect_result_pos -1

function _autocorrect_put
    set -l c $_autocorrect_alts[$_autocorrect_idx]
    commandline -r -- "$_autocorrect_before$c$_autocorrect_after"
    commandline -C (math (string length -- "$_autocorrect_before") + (string length -- "$c"))
    set -g _autocorrect_result (commandline | string collect)
    set -g _autocorrect_result_pos (commandline -C)
    if test (count $_autocorrect_alts) -gt 1
        set -l list
        for i in (seq (count $_autocorrect_alts))
            if test $i -eq $_autocorrect_idx
                set -a list "[$_autocorrect_alts[$i]]"
            else
                set -a list " $_autocorrect_alts[$i]"
            end
        end
        echo
        printf '\e[2m%s\e[0m\n' (string join ' ' -- $list)
        commandline -f repaint
    end
end

function _autocorrect_complete
    set -l line (commandline | string collect)
    set -l pos (commandline -C)
    if test "$line" = "$_autocorrect_result"; and test $pos -eq $_autocorrect_result_pos; and test (count $_autocorrect_alts) -gt 1
        set -g _autocorrect_idx (math $_autocorrect_idx % (count $_autocorrect_alts) + 1)
        _autocorrect_put
        return
    end
    set -l before (string sub -l $pos -- "$line")
    set -l after (string sub -s (math $pos + 1) -- "$line")
    string match -qr '\S' -- "$before"; or return
    set -l alts (autocorrect_suggest "$before" "$after")
    set -l rc $status
    if test $rc -ne 0
        echo
        _autocorrect_why $rc
        commandline -f repaint
        return
    end
    if not set -q alts[1]
        echo
        _autocorrect_say "no completion"
        commandline -f repaint
        return
    end
    if test "$autocorrect_history" = 1
        set -l h (history search --prefix --max 1 -- "$before")
        if set -q h[1]; and test "$h[1]" != "$before"
            set -l cont (string sub -s (math (string length -- "$before") + 1) -- "$h[1]")
            for i in (seq (count $alts))
                if string match -q -- "$alts[$i]*" "$cont"; or string match -q -- "$cont*" "$alts[$i]"
                    set alts $alts[$i] $alts[1..(math $i - 1)] $alts[(math $i + 1)..-1]
                    break
                end
            end
        end
    end
    set -g _autocorrect_alts $alts
    set -g _autocorrect_idx 1
    set -g _autocorrect_before $before
    set -g _autocorrect_after $after
    _autocorrect_put
end

function _autocorrect_correct
    set -l line (commandline | string collect)
    string match -qr '\S' -- "$line"; or return
    set -l out (_autocorrect_cli $line correct | string collect)
    set -l rc $status
    echo
    if test $rc -ne 0
        _autocorrect_why $rc
    else if test -z "$out"; or test "$out" = "$line"
        _autocorrect_say "no corrections"
    else
        set -l old (string split ' ' -- $line)
        set -l new (string split ' ' -- $out)
        set -l msg
        if test (count $old) -eq (count $new)
            for i in (seq (count $old))
                test "$old[$i]" != "$new[$i]"; and set -a msg "$old[$i] -> $new[$i]"
            end
        end
        commandline -r -- $out
        if set -q msg[1]
            _autocorrect_say (string join ', ' -- $msg)
        else
            _autocorrect_say corrected
        end
    end
    commandline -f repaint
end

if status is-interactive
    set -l ck \ea
    set -q autocorrect_complete_key[1]; and set ck $autocorrect_complete_key
    set -l xk \ex
    set -q autocorrect_correct_key[1]; and set xk $autocorrect_correct_key
    bind $ck _autocorrect_complete
    bind $xk _autocorrect_correct
    if bind -M insert >/dev/null 2>&1
        bind -M insert $ck _autocorrect_complete
        bind -M insert $xk _autocorrect_correct
    end
end
