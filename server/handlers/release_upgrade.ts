/**
 * Upgrades from a release feed: `GET /api/upgrade/release` says what the
 * feed offers this node, `POST /api/upgrade` with `{"from": "feed"}` takes
 * it. The artifact is checked (target, signature, size, SHA-256) before its
 * program is staged, then the same swap, restart, health check and roll-back
 * as an uploaded program follow (`upgrade.ts`).
 *
 * A node run from a release archive (`<dir>/fazt` → `<dir>/deno run …
 * <dir>/fazt.js`) swaps `fazt.js` only: the runtime beside it stays, so a
 * release that carries another Deno version is refused here and installed
 * with install.sh (or by unpacking its archive) instead.
 * @module
 */
import { compareVersions } from "../../lib/compatible_version.ts";
import { isReleaseVersion } from "../../lib/release_feed.ts";
import { RELEASE_PUBLIC_KEY } from "../../lib/release_key.ts";
import { releaseUrlProblem } from "../../lib/release_url.ts";
import { VERSION } from "../../version.ts";
import { readJsonObject } from "../json_body.ts";
import type { ReleaseInfo, UpgradeStarted } from "../api_types.ts";
import type { RouteContext } from "../context.ts";
import { HttpError } from "../http_error.ts";
import {
  downloadRelease,
  findRelease,
  programOf,
  type ReleaseCandidate,
} from "../release_candidate.ts";
import { type Answer, json } from "../respond.ts";
import { busy, stage, unavailable, upgrade } from "./upgrade.ts";

/** The answer of `GET /api/upgrade/release`. */
interface FeedRequest {
  version?: string;
  feed?: string;
}

function feedTemplate(c: RouteContext, override: string | undefined): string {
  if (override !== undefined) {
    // Checked with {version} filled in, as it will be read.
    const problem = releaseUrlProblem(override.replaceAll("{version}", "latest"));
    if (problem) throw HttpError.validation("feed", "format", `feed: ${problem}`);
    return override;
  }
  // Read per request: `fazt server config release_feed URL` applies at once.
  const feed = c.server.storage.settings.load().release_feed;
  if (feed === "none") {
    throw new HttpError(
      409,
      "NO_RELEASE_FEED",
      "This node has no release feed: set one with 'fazt server config release_feed URL' " +
        "or pass a feed URL",
    );
  }
  return feed;
}

function releaseKey(c: RouteContext): string {
  const key = c.server.storage.settings.load().release_public_key;
  return key === "builtin" ? RELEASE_PUBLIC_KEY : key;
}

function find(c: RouteContext, req: FeedRequest): Promise<ReleaseCandidate> {
  return findRelease({
    feed: feedTemplate(c, req.feed),
    version: req.version,
    publicKey: releaseKey(c),
    form: c.server.upgrader?.program.form ?? "embedded",
  });
}

function checkVersion(value: unknown): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (!isReleaseVersion(value)) {
    throw HttpError.validation("version", "format", "version must look like 1.2.3");
  }
  return value;
}

/** `GET /api/upgrade/release[?version=V][&feed=URL]`: what the feed offers this node. */
export async function releaseInfo(c: RouteContext): Promise<Answer<ReleaseInfo>> {
  const q = c.url.searchParams;
  const candidate = await find(c, {
    version: checkVersion(q.get("version") ?? undefined),
    feed: q.get("feed") ?? undefined,
  });
  const reason = unavailable(c.server.upgrader) ?? runtimeProblem(c, candidate);
  const info: ReleaseInfo = {
    version: VERSION,
    form: c.server.upgrader?.program.form ?? "embedded",
    target: candidate.target.id,
    feed: candidate.feedUrl,
    available: candidate.feed.version,
    date: candidate.feed.date,
    size: candidate.artifact.size,
    runtime: candidate.artifact.runtime,
    upgrade_available: !reason && compareVersions(candidate.feed.version, VERSION) > 0,
    can_upgrade: !reason,
    ...(reason ? { reason } : {}),
  };
  return json(info);
}

/** Why a node cannot take this archive's program on the runtime it runs on. */
function runtimeProblem(c: RouteContext, candidate: ReleaseCandidate): string | undefined {
  const { artifact, feed } = candidate;
  if (c.server.upgrader?.program.form !== "bundle" || artifact.runtime === Deno.version.deno) {
    return undefined;
  }
  return `fazt ${feed.version} comes with Deno ${artifact.runtime} and this node runs on Deno ` +
    `${Deno.version.deno}; an upgrade swaps fazt.js only: install it with install.sh`;
}

/**
 * `POST /api/upgrade`: `{"from": "feed", "version"?: V, "feed"?: URL}` (JSON)
 * upgrades from the release feed; any other body is an uploaded program.
 */
export function postUpgrade(c: RouteContext): Promise<Answer<UpgradeStarted>> {
  const type = c.req.headers.get("content-type") ?? "";
  if (/^application\/json\b/i.test(type)) return upgradeFromFeed(c);
  return upgrade(c);
}

async function feedRequest(c: RouteContext): Promise<FeedRequest> {
  const body = await readJsonObject(c.req);
  if (body.from !== "feed") {
    throw HttpError.validation(
      "from",
      "equals",
      'from must be "feed" (or send the program itself as application/octet-stream)',
    );
  }
  for (const key of Object.keys(body)) {
    if (!["from", "version", "feed"].includes(key)) {
      throw HttpError.validation(key, "known", `unknown field '${key}'`);
    }
  }
  if (body.feed !== undefined && typeof body.feed !== "string") {
    throw HttpError.validation("feed", "type", "feed must be a URL");
  }
  return { version: checkVersion(body.version), feed: body.feed };
}

async function upgradeFromFeed(c: RouteContext): Promise<Answer<UpgradeStarted>> {
  const upgrader = c.server.upgrader;
  const reason = unavailable(upgrader);
  if (reason) throw new HttpError(409, "UPGRADE_UNAVAILABLE", reason);
  const req = await feedRequest(c);
  if (busy.has(upgrader!)) {
    throw new HttpError(409, "UPGRADE_IN_PROGRESS", "An upgrade is already running");
  }
  busy.add(upgrader!);
  let applied = false;
  try {
    const candidate = await find(c, req);
    const { feed } = candidate;
    const order = compareVersions(feed.version, VERSION);
    if (order === 0) return json({ action: "already_current", from: VERSION, to: feed.version });
    if (order < 0) {
      // A signature covers a release, not the moment: an old one replayed must not take the node back.
      throw new HttpError(
        409,
        "DOWNGRADE",
        `The release feed offers fazt ${feed.version}, older than ${VERSION}: ` +
          "a node does not go back to an older release",
      );
    }
    const problem = runtimeProblem(c, candidate);
    if (problem) throw new HttpError(409, "RUNTIME_MISMATCH", problem);
    c.server.log(`upgrade: downloading fazt ${feed.version} from ${candidate.artifactUrl}`);
    const program = await programOf(candidate, await downloadRelease(candidate));
    const staged = await stage(upgrader!.program, program, c.server.log);
    if (staged.version !== feed.version) {
      await Deno.remove(staged.path).catch(() => {});
      throw new HttpError(
        502,
        "VERSION_MISMATCH",
        `The program signed as fazt ${feed.version} reports ${staged.version}`,
      );
    }
    c.server.log(`upgrade: fazt ${VERSION} -> ${staged.version} from the release feed, restarting`);
    upgrader!.apply(staged.path, staged.version);
    applied = true;
    return json({ action: "restarting", from: VERSION, to: staged.version }, 202);
  } catch (err) {
    if (err instanceof HttpError) c.server.log(`upgrade refused: ${err.code}: ${err.message}`);
    throw err;
  } finally {
    if (!applied) busy.delete(upgrader!);
  }
}
