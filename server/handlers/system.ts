import { VERSION } from "../../version.ts";
import type { RouteContext } from "../context.ts";
import type * as Api from "../api_types.ts";
import { type Answer, json, type JsonAnswer, plainJson } from "../respond.ts";

/** `GET /health`: no auth, plain JSON (not enveloped) so any probe can read it. */
export function health(c: RouteContext): JsonAnswer<Api.Health> {
  return plainJson({
    status: "ok",
    version: VERSION,
    uptime_s: Math.floor((Date.now() - c.server.startedAt) / 1000),
  });
}

/** `GET /api/system` */
export function system(c: RouteContext): Answer<Api.System> {
  const mem = Deno.memoryUsage();
  const { sites, storage, analytics } = c.server;
  return json({
    version: VERSION,
    os: Deno.build.os,
    arch: Deno.build.arch,
    deno: Deno.version.deno,
    pid: Deno.pid,
    uptime_s: Math.floor((Date.now() - c.server.startedAt) / 1000),
    memory: {
      rss_bytes: mem.rss,
      heap_used_bytes: mem.heapUsed,
      idle_trims: c.server.idleTrim?.trims ?? null,
    },
    database: {
      size_bytes: storage.sizeBytes(),
      checkpoint_thread: c.server.checkpointer
        ? { active: c.server.checkpointer.active, runs: c.server.checkpointer.runs }
        : null,
    },
    apps: storage.apps.list().length,
    cache: {
      files: sites.bodies.count,
      bytes: sites.bodies.size,
      max_bytes: sites.bodies.maxBytes,
    },
    // Analytics events refused since start because the buffer was full.
    dropped_events: analytics.dropped,
    analytics: {
      enabled: analytics.enabled,
      buffered_events: analytics.buffered,
      written_events: analytics.written,
      not_stored_events: analytics.notStored,
      refused_events: analytics.refused,
    },
    // Behind a proxy whose forwarding headers are ignored, every client shares one address.
    proxy: {
      trust_proxy: c.server.settings.trust_proxy === 1,
      ignored_forwarding: c.server.forwarding.ignored ?? null,
    },
    backup: c.server.backups?.status() ?? null,
    replication: c.server.replication?.status() ?? null,
    standby: c.server.standby?.status() ?? null,
  });
}
