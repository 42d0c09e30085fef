# Mixed output for the run tab snapshots: bold, colours, stderr, a \r progress bar, exit 2.
# The sleeps keep stdout and stderr in one order (they are two pipes).
printf '\033[1mbuilding\033[0m 3 targets\n'
printf 'target one \033[32mOK\033[0m\ntarget two \033[32mOK\033[0m\n'
sleep 0.3
echo 'warning: deprecated flag --fast' >&2
sleep 0.3
printf 'target three \033[31;1mFAILED\033[0m\n'
sleep 0.3
printf '\033[31merror\033[0m: 1 of 3 targets failed\n' >&2
sleep 0.3
printf 'progress 10%%\rprogress 60%%\rprogress 100%%\n'
exit 2
