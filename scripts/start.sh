#!/bin/sh
# npm start [-- <nightshift run options>], e.g. npm start -- --demo: what the machine
# lacks (scripts/ensure-deps.js, told about --demo), the local stack, the topics and
# schemas of topology/, then the Nightshift process. npm hands the arguments to this
# script only, not to a prestart step, hence one script.
set -e
node scripts/ensure-deps.js start "$@"
tsx scripts/stack.ts up
tsx src/main.ts topology apply
exec tsx src/main.ts run "$@"
