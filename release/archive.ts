/**
 * One release archive: `fazt-<version>-<target>/` holding the Deno runtime,
 * the bundled program `fazt.js`, the launcher and a short README, as a
 * `.tar.gz` (a `.zip` for Windows). Unpacked anywhere, `./fazt server start`
 * runs a node with no Deno installed.
 * @module
 */
import { gzip } from "node:zlib";
import { writeZip } from "../lib/zip_writer.ts";
import { archiveName, type ReleaseTarget } from "../lib/release_target.ts";
import { tarBytes } from "../lib/tar.ts";
import { ESBUILD_VERSION } from "../lib/esbuild_package.ts";
import { DENO_RUNTIME_VERSION } from "./deno_runtime.ts";
import { posixLauncher, windowsLauncher } from "./launcher.ts";

export interface ArchiveInput {
  version: string;
  target: ReleaseTarget;
  /** The bundled program (`deno bundle` of main.ts). */
  bundle: Uint8Array;
  /** The target's `deno` executable. */
  runtime: Uint8Array;
  /**
   * esbuild's executable for the target (its file name and bytes): a node
   * compiles apps' server code with it. Releases always carry it; archives
   * made only to test refusals may leave it out.
   */
  esbuild?: { file: string; bytes: Uint8Array };
  /** Modification time of every entry, in seconds (the release date: same input, same bytes). */
  mtime: number;
  /** gzip level (default 9: ~3 % smaller than 6, and built once per release). */
  level?: number;
}

// Deno's licence: the archive redistributes its executable.
/** fazt's own licence, from the repository's root. */
const FAZT_LICENSE = new URL("../LICENSE", import.meta.url);

const DENO_LICENSE = `MIT License

Copyright 2018-2025 the Deno authors

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of
the Software, and to permit persons to whom the Software is furnished to do so,
subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS
FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
`;

// esbuild's licence: the archive redistributes its executable.
const ESBUILD_LICENSE = `MIT License

Copyright (c) 2020 Evan Wallace

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
`;

function readme(version: string, target: ReleaseTarget): string {
  const fazt = target.os === "windows" ? "fazt.cmd" : "./fazt";
  return `fazt ${version} for ${target.id}

  ${fazt} server start     start a node (its data: ~/.fazt/data.db)
  ${fazt} --help           every command

This folder is the whole program: ${target.runtime} (the Deno ${DENO_RUNTIME_VERSION}
runtime, from npm; its licence is in LICENSE-deno.txt), fazt.js (fazt itself,
under the MIT licence in LICENSE)
and the launcher ${fazt.replace("./", "")}, which runs fazt.js on that runtime
with the server's permissions. ${
    target.os === "windows" ? "esbuild.exe" : "esbuild"
  } (esbuild ${ESBUILD_VERSION}, from npm;
LICENSE-esbuild.txt) compiles apps' server code at deploy. Keep the files
together. A node upgrades by replacing fazt.js beside it ('fazt upgrade'); it
needs write access here.
`;
}

/** The archive's file name and bytes. */
export async function buildArchive(
  input: ArchiveInput,
): Promise<{ name: string; bytes: Uint8Array<ArrayBuffer> }> {
  const { version, target } = input;
  const name = archiveName(version, target);
  const top = name.replace(/\.(tar\.gz|zip)$/, "");
  const enc = new TextEncoder();
  const windows = target.os === "windows";
  const launcher = windows
    ? { path: `${top}/fazt.cmd`, data: enc.encode(windowsLauncher(version, target)), mode: 0o755 }
    : { path: `${top}/fazt`, data: enc.encode(posixLauncher(version, target)), mode: 0o755 };
  const files = [
    launcher,
    { path: `${top}/fazt.js`, data: input.bundle, mode: 0o644 },
    { path: `${top}/README.txt`, data: enc.encode(readme(version, target)), mode: 0o644 },
    { path: `${top}/LICENSE`, data: await Deno.readFile(FAZT_LICENSE), mode: 0o644 },
    { path: `${top}/LICENSE-deno.txt`, data: enc.encode(DENO_LICENSE), mode: 0o644 },
    { path: `${top}/${target.runtime}`, data: input.runtime, mode: 0o755 },
  ];
  if (input.esbuild) {
    files.push(
      { path: `${top}/${input.esbuild.file}`, data: input.esbuild.bytes, mode: 0o755 },
      { path: `${top}/LICENSE-esbuild.txt`, data: enc.encode(ESBUILD_LICENSE), mode: 0o644 },
    );
  }
  if (windows) {
    const bytes = await writeZip(files.map((f) => ({ ...f, compress: true })));
    return { name, bytes };
  }
  const tar = tarBytes([{ path: `${top}/`, mode: 0o755 }, ...files], input.mtime);
  const bytes = await new Promise<Uint8Array<ArrayBuffer>>((resolve, reject) =>
    gzip(
      tar,
      { level: input.level ?? 9 },
      (err, out) => err ? reject(err) : resolve(new Uint8Array(out)),
    )
  );
  return { name, bytes };
}
