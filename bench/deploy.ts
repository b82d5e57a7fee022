/**
 * `deploy`: a 1,000-file, ~20 MB site deployed to a fresh node, then
 * redeployed with one file changed; end to end through the CLI
 * (`fazt deploy DIR`: zip, upload, unpack, hash, compress, store) and through
 * the HTTP API alone (a ZIP built beforehand). Then one 50 MB file (binary,
 * and text) deployed to a fresh node, with the server's peak RSS.
 */
import { repeats } from "./lib/sized.ts";
import { DatabaseSync } from "node:sqlite";
import { alternate, median, newGuard, ratio, round, summariseGuard } from "./lib/alternate.ts";
import { createToken, deployZip, faztCli, profileFazt, startFazt } from "./lib/fazt.ts";
import { profileTables } from "./lib/profile.ts";
import { writtenBytes } from "./lib/proc.ts";
import { atLeast, atMost, fmt } from "./lib/report.ts";
import { binaryFile, cssFile, htmlPage, jsBundle, prng, writeTree, zipFiles } from "./lib/site.ts";
import type { BenchContext, Benchmark, BenchResult, Table, TargetCheck } from "./lib/types.ts";
import { sized } from "./lib/sized.ts";
import { zipFolder } from "../cli/zip_folder.ts";

const MiB = 1024 * 1024;
const NAME = "big";
const CHANGED = "pages/page-0007.html";

/** What the site is made of: [count, folder, extension, average KiB, maker]. */
const KINDS: [number, string, string, number, (size: number, seed: number) => Uint8Array][] = [
  [300, "pages", "html", 16, htmlPage],
  [150, "assets/js", "js", 24, jsBundle],
  [100, "assets/css", "css", 8, cssFile],
  [150, "img", "png", 28, binaryFile],
  [120, "img", "jpg", 28, binaryFile],
  [80, "img", "webp", 28, binaryFile],
  [100, "fonts", "woff2", 16, binaryFile],
];

/** The site, or a tenth of it (`divisor` 10) for a smoke run. */
function buildSite(divisor: number): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const r = prng(42);
  let seed = 1000;
  for (const [count, dir, ext, avgKiB, make] of KINDS) {
    const name = dir === "pages" ? "page" : ext === "woff2" ? "font" : dir.split("/").pop();
    for (let i = 0; i < Math.ceil(count / divisor); i++) {
      const size = Math.round(avgKiB * 1024 * (0.5 + r()));
      files.set(`${dir}/${name}-${String(i).padStart(4, "0")}.${ext}`, make(size, seed++));
    }
  }
  return files;
}

function contents(db: string): { rows: number; bytes: number } {
  const d = new DatabaseSync(db, { readOnly: true });
  try {
    const r = d.prepare("SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS b FROM contents")
      .get() as {
        n: number;
        b: number;
      };
    return { rows: Number(r.n), bytes: Number(r.b) };
  } finally {
    d.close();
  }
}

interface Round {
  deploy_ms: number;
  redeploy_ms: number;
  deploy_mib_s: number;
  /** New rows in `contents` (stored file bodies) made by the redeploy. */
  redeploy_new_contents: number;
  /** Bytes fazt passed to write(2) during the redeploy. */
  redeploy_written_bytes: number;
  /** The same, less the upload itself (which the server spools to a temp file). */
  redeploy_written_beyond_upload: number;
  contents_after_deploy: number;
  files_reported: number;
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const notes: string[] = [];
  const site = buildSite(sized(ctx.opts, 1, 10));
  const bytes = [...site.values()].reduce((s, d) => s + d.byteLength, 0);
  const textBytes = [...site].filter(([p]) => /\.(html|js|css)$/.test(p))
    .reduce((s, [, d]) => s + d.byteLength, 0);
  const dir = `${ctx.tmp}/site`;
  await writeTree(dir, site);
  const changed = new Map(site);
  const edited = new Uint8Array([
    ...site.get(CHANGED)!,
    ...new TextEncoder().encode("<!-- 2 -->\n"),
  ]);
  changed.set(CHANGED, edited);
  let t0 = performance.now();
  const zip1 = await zipFiles(site);
  const zipMs = performance.now() - t0;
  const zip2 = await zipFiles(changed);
  // What `fazt deploy DIR` uploads for the redeploy (stored: the node is on loopback).
  await Deno.writeFile(`${dir}/${CHANGED}`, edited);
  const cliUpload = (await zipFolder(dir, { store: true })).zip.byteLength;
  await Deno.writeFile(`${dir}/${CHANGED}`, site.get(CHANGED)!);
  ctx.log(
    `site: ${site.size} files, ${fmt(bytes / MiB, 1)} MiB (text ${fmt(textBytes / MiB, 1)} MiB), ` +
      `zip ${fmt(zip1.byteLength / MiB, 1)} MiB built in ${fmt(zipMs)} ms`,
  );

  let n = 0;
  const fresh = async () => {
    const db = `${ctx.tmp}/node-${n++}.db`;
    const token = await createToken(ctx, db);
    const fazt = await startFazt(ctx, db);
    return { db, token, fazt };
  };

  const viaCli = async (): Promise<Round> => {
    const { db, token, fazt } = await fresh();
    try {
      const deployArgs = [
        "deploy",
        dir,
        "--name",
        NAME,
        "--url",
        fazt.url,
        "--token",
        token,
        "--json",
      ];
      t0 = performance.now();
      const first = JSON.parse((await faztCli(ctx, deployArgs)).stdout);
      const deployMs = performance.now() - t0;
      const before = contents(db);
      const w0 = writtenBytes(fazt.proc.pid);
      await Deno.writeFile(`${dir}/${CHANGED}`, edited);
      t0 = performance.now();
      await faztCli(ctx, deployArgs);
      const redeployMs = performance.now() - t0;
      await Deno.writeFile(`${dir}/${CHANGED}`, site.get(CHANGED)!);
      const written = writtenBytes(fazt.proc.pid) - w0;
      const after = contents(db);
      return {
        deploy_ms: Math.round(deployMs),
        redeploy_ms: Math.round(redeployMs),
        deploy_mib_s: round(bytes / MiB / (deployMs / 1000), 1),
        redeploy_new_contents: after.rows - before.rows,
        redeploy_written_bytes: written,
        redeploy_written_beyond_upload: written - cliUpload,
        contents_after_deploy: before.rows,
        files_reported: Number((first.data ?? first).files),
      };
    } finally {
      await fazt.proc.stop();
    }
  };

  const viaApi = async (): Promise<Round> => {
    const { db, token, fazt } = await fresh();
    try {
      const first = await deployZip(fazt, token, NAME, zip1);
      const before = contents(db);
      const w0 = writtenBytes(fazt.proc.pid);
      const second = await deployZip(fazt, token, NAME, zip2);
      const written = writtenBytes(fazt.proc.pid) - w0;
      const after = contents(db);
      return {
        deploy_ms: Math.round(first.ms),
        redeploy_ms: Math.round(second.ms),
        deploy_mib_s: round(bytes / MiB / (first.ms / 1000), 1),
        redeploy_new_contents: after.rows - before.rows,
        redeploy_written_bytes: written,
        redeploy_written_beyond_upload: written - zip2.byteLength,
        contents_after_deploy: before.rows,
        files_reported: Number(first.body.files),
      };
    } finally {
      await fazt.proc.stop();
    }
  };

  const guard = newGuard(ctx.log, 0.2, repeats(ctx.opts));
  const rounds = await alternate<Round>(
    [{ name: "cli", run: viaCli }, { name: "api", run: viaApi }],
    ctx.opts.pairs,
    (name, i, x) =>
      ctx.log(
        `round ${i + 1} ${name}: deploy ${fmt(x.deploy_ms)} ms (${x.deploy_mib_s} MiB/s), ` +
          `redeploy ${fmt(x.redeploy_ms)} ms, +${x.redeploy_new_contents} stored bodies, ` +
          `${fmt(x.redeploy_written_bytes / 1024)} KiB written ` +
          `(${fmt(x.redeploy_written_beyond_upload / 1024)} KiB beyond spooling the upload)`,
      ),
    guard,
  );

  const summary = (name: string) => {
    const xs = rounds.get(name)!;
    const deployMs = median(xs.map((x) => x.deploy_ms));
    return {
      runs: xs,
      median: {
        deploy_ms: deployMs,
        deploy_mib_s: round(bytes / MiB / (deployMs / 1000), 1),
        redeploy_ms: median(xs.map((x) => x.redeploy_ms)),
        redeploy_new_contents: Math.max(...xs.map((x) => x.redeploy_new_contents)),
        redeploy_written_bytes: median(xs.map((x) => x.redeploy_written_bytes)),
        redeploy_written_beyond_upload: median(xs.map((x) => x.redeploy_written_beyond_upload)),
      },
    };
  };
  const cli = summary("cli");
  const api = summary("api");
  for (const [name, s] of [["cli", cli], ["api", api]] as const) {
    const bad = s.runs.find((x) => x.files_reported !== site.size);
    if (bad) {
      throw new Error(`${name}: fazt reported ${bad.files_reported} files, not ${site.size}`);
    }
  }

  const big = await bigFileRounds(ctx, fresh);

  const tables: Table[] = [];
  let profile: Record<string, unknown> | undefined;
  if (ctx.opts.profile) {
    const db = `${ctx.tmp}/profiled.db`;
    const token = await createToken(ctx, db);
    const p = await profileFazt(ctx, db, (f) => deployZip(f, token, NAME, zip1));
    profile = {
      note: "fazt under --cpu-prof, one API deploy",
      deploy_ms: p.result.ms,
      ...p.summary,
    };
    tables.push(...profileTables("fazt CPU profile of one API deploy", p.summary));
  }

  const targets: TargetCheck[] = [
    atLeast("deploy MiB/s end to end (fazt deploy DIR)", cli.median.deploy_mib_s, 20, " MB/s"),
  ];
  targets[0].note = `HTTP API alone: ${api.median.deploy_mib_s} MiB/s`;
  const bigPeak = Math.max(...big.map((b) => b.median.peak_mb));
  targets.push(
    atMost(`server peak RSS deploying a ${fmt(big[0].bytes / 1e6)} MB file`, bigPeak, 200, " MB"),
  );
  targets.at(-1)!.note = big.map((b) => `${b.kind} ${fmt(b.median.peak_mb)} MB`).join(", ") +
    " (VmHWM of the server process; it idles near 60 MB)";
  const reused = Math.max(cli.median.redeploy_new_contents, api.median.redeploy_new_contents);
  // The upload is spooled to disk (never held in memory), so write(2) sees it
  // once: what counts is what was written beyond it.
  const maxWritten = Math.max(
    ...[...cli.runs, ...api.runs].map((x) => x.redeploy_written_beyond_upload),
  );
  targets.push({
    name: "redeploy: unchanged files not written twice",
    target: "1 new stored body; written beyond the spooled upload << site size",
    actual: `${reused} new; ${fmt(maxWritten / 1024)} KiB written (site ${fmt(bytes / 1024)} KiB)`,
    pass: reused === 1 && maxWritten < bytes * 0.1,
  });
  notes.push(
    "MB here is MiB (2^20 bytes); end to end = `fazt deploy DIR` wall time: CLI start-up, " +
      "zipping, upload, unpacking, hashing, precompression, storing.",
  );

  const row = (label: string, s: typeof cli) => [
    label,
    fmt(s.median.deploy_ms),
    s.median.deploy_mib_s,
    fmt(s.median.redeploy_ms),
    s.median.redeploy_new_contents,
    fmt(s.median.redeploy_written_bytes / 1024),
    fmt(s.median.redeploy_written_beyond_upload / 1024),
    s.runs.map((x) => fmt(x.deploy_ms)).join(" "),
  ];
  return {
    figures: {
      site: {
        files: site.size,
        bytes,
        mib: round(bytes / MiB, 2),
        text_bytes: textBytes,
        binary_bytes: bytes - textBytes,
        kinds: KINDS.map(([count, dir, ext, avg]) => ({ count, dir, ext, avg_kib: avg })),
        zip_bytes: zip1.byteLength,
        zip_build_ms: Math.round(zipMs),
        changed_file: CHANGED,
      },
      cli,
      api,
      ratios: { cli_over_api_ms: ratio(cli.median.deploy_ms, api.median.deploy_ms) },
      big_file: big,
      disturbance: summariseGuard(guard),
      ...(profile ? { profile } : {}),
    },
    tables: [{
      title: `deploy: ${site.size} files, ${fmt(bytes / MiB, 1)} MiB, fresh node each round, ` +
        `${ctx.opts.pairs} alternating rounds, medians`,
      columns: [
        "path",
        "deploy ms",
        "MiB/s",
        "redeploy ms",
        "new bodies",
        "KiB written",
        "beyond upload",
        "deploy ms per round",
      ],
      rows: [row("fazt deploy DIR (CLI)", cli), row("POST /api/deploy (zip)", api)],
    }, {
      title: `deploy: one ${fmt(big[0].bytes / 1e6)} MB file, fresh node each round, ` +
        `${ctx.opts.pairs} rounds, medians (MB = 10^6 bytes)`,
      columns: ["file", "zip MB", "deploy ms", "MiB/s", "RSS before MB", "peak RSS MB", "after MB"],
      rows: big.map((b) => [
        b.kind,
        fmt(b.zip_bytes / 1e6, 1),
        fmt(b.median.deploy_ms),
        b.median.mib_s,
        fmt(b.median.rss_before_mb),
        fmt(b.median.peak_mb),
        fmt(b.median.rss_after_mb),
      ]),
    }, ...tables],
    targets,
    notes,
  };
}

interface BigRound {
  deploy_ms: number;
  mib_s: number;
  rss_before_mb: number;
  /** VmHWM of the server process after the deploy: its peak since it started. */
  peak_mb: number;
  rss_after_mb: number;
}

interface BigFile {
  kind: string;
  bytes: number;
  zip_bytes: number;
  runs: BigRound[];
  median: BigRound;
}

/**
 * One large file (50 MB; 2 MB in a smoke run) deployed to a fresh node per
 * round, binary (stored) and text (deflated, over compress_max_bytes): the
 * server's peak resident memory, which whole-file buffering made ~650 MB.
 */
async function bigFileRounds(
  ctx: BenchContext,
  fresh: () => Promise<{ db: string; token: string; fazt: Awaited<ReturnType<typeof startFazt>> }>,
): Promise<BigFile[]> {
  const bytes = sized(ctx.opts, 50_000_000, 2_000_000);
  const kinds: [string, string, () => Uint8Array][] = [
    ["binary", "video.bin", () => binaryFile(bytes, 7)],
    ["text", "data.js", () => jsBundle(bytes, 8)],
  ];
  const out: BigFile[] = [];
  for (const [kind, path, make] of kinds) {
    const zip = await zipFiles(new Map([[path, make()]]));
    const runs: BigRound[] = [];
    for (let i = 0; i < ctx.opts.pairs; i++) {
      const { fazt, token } = await fresh();
      try {
        const mb = (kb: number) => round((kb * 1024) / 1e6, 1);
        const before = fazt.proc.memory();
        const r = await deployZip(fazt, token, "bigfile", zip);
        if (Number(r.body.bytes) !== bytes) {
          throw new Error(`${kind}: stored ${r.body.bytes} bytes`);
        }
        const after = fazt.proc.memory();
        const x = {
          deploy_ms: Math.round(r.ms),
          mib_s: round(bytes / MiB / (r.ms / 1000), 1),
          rss_before_mb: mb(before.rss_kb),
          peak_mb: mb(after.hwm_kb),
          rss_after_mb: mb(after.rss_kb),
        };
        ctx.log(
          `${kind} ${fmt(bytes / 1e6)} MB file, round ${i + 1}: ${x.deploy_ms} ms, ` +
            `RSS ${x.rss_before_mb} MB before, peak ${x.peak_mb} MB, ${x.rss_after_mb} MB after`,
        );
        runs.push(x);
      } finally {
        await fazt.proc.stop();
      }
    }
    const med = (f: (x: BigRound) => number) => median(runs.map(f));
    out.push({
      kind,
      bytes,
      zip_bytes: zip.byteLength,
      runs,
      median: {
        deploy_ms: med((x) => x.deploy_ms),
        mib_s: med((x) => x.mib_s),
        rss_before_mb: med((x) => x.rss_before_mb),
        peak_mb: med((x) => x.peak_mb),
        rss_after_mb: med((x) => x.rss_after_mb),
      },
    });
  }
  return out;
}

export const deployBench: Benchmark = {
  name: "deploy",
  description:
    "1,000-file ~20 MB site: deploy MB/s, redeploy with one file changed; a 50 MB file: peak RSS",
  tools: { required: [], optional: [] },
  run,
};
