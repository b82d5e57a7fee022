/**
 * The launchers in a release archive: `fazt` (POSIX sh) and `fazt.cmd`
 * (Windows) run `fazt.js` on the Deno runtime beside them with exactly the
 * flags a bundled node restarts with (`BUNDLE_RUN_FLAGS`), so the program
 * an owner starts and the one an upgrade starts have the same permissions.
 * @module
 */
import { BUNDLE_RUN_FLAGS } from "../lib/program.ts";
import type { ReleaseTarget } from "../lib/release_target.ts";

/** `fazt` for Linux and macOS: sh builtins only, so it runs with an empty PATH. */
export function posixLauncher(version: string, target: ReleaseTarget): string {
  return `#!/bin/sh
# fazt ${version} (${target.id}): runs fazt.js, the program, on the Deno
# runtime beside this file, with the permissions the server needs and no more.
self=$0
# Installed as a symlink (bin/fazt): find the folder the link points into.
while [ -h "$self" ]; do
  link=$(readlink "$self") || break
  case $link in
    /*) self=$link ;;
    *) case $self in */*) self=\${self%/*}/$link ;; *) self=$link ;; esac ;;
  esac
done
case $self in */*) dir=\${self%/*} ;; *) dir=. ;; esac
# Deno would otherwise look for its own updates; fazt works offline.
DENO_NO_UPDATE_CHECK=1
export DENO_NO_UPDATE_CHECK
exec "$dir/${target.runtime}" run ${BUNDLE_RUN_FLAGS.join(" ")} "$dir/fazt.js" "$@"
`;
}

/** `fazt.cmd` for Windows (CRLF line ends, which cmd.exe expects). */
export function windowsLauncher(version: string, target: ReleaseTarget): string {
  return [
    "@echo off",
    `rem fazt ${version} (${target.id}): runs fazt.js on the Deno runtime beside this file,`,
    "rem with the permissions the server needs and no more.",
    "setlocal",
    "set DENO_NO_UPDATE_CHECK=1",
    `"%~dp0${target.runtime}" run ${BUNDLE_RUN_FLAGS.join(" ")} "%~dp0fazt.js" %*`,
    "exit /b %ERRORLEVEL%",
    "",
  ].join("\r\n");
}
