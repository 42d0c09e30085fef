# Mixed output for the run tab snapshots: bold, colours, stderr, a \r progress bar, exit 2.
# stdout and stderr are two pipes, so nothing orders them but the reader: after each part the script
# waits for a line on stdin, which the test sends once the console shows the part (sleeps kept the
# order only while the console read within the sleep, which a busy machine does not promise).
printf '\033[1mbuilding\033[0m 3 targets\n'
printf 'target one \033[32mOK\033[0m\ntarget two \033[32mOK\033[0m\n'
read -r _
echo 'warning: deprecated flag --fast' >&2
read -r _
printf 'target three \033[31;1mFAILED\033[0m\n'
read -r _
printf '\033[31merror\033[0m: 1 of 3 targets failed\n' >&2
read -r _
printf 'progress 10%%\rprogress 60%%\rprogress 100%%\n'
exit 2
