/** `POST /api/system/restart`: settings are read at start-up; this applies saved ones. */
import type { RouteContext } from "../context.ts";
import { HttpError } from "../http_error.ts";
import type * as Api from "../api_types.ts";
import { type Answer, json } from "../respond.ts";
import { busy } from "./upgrade.ts";

// Upgraders whose node is already restarting: a second request changes nothing.
const restarting = new WeakSet<object>();

/**
 * Answers 202, then the process that runs the node (`fazt server start`)
 * stops it and runs the same program again with the same command line: the
 * node comes back on the same port with the settings stored now. A node
 * embedded in another program cannot do this and says so.
 */
export function restartNode(c: RouteContext): Answer<Api.RestartStarted> {
  const upgrader = c.server.upgrader;
  if (!upgrader?.restart) {
    throw new HttpError(
      409,
      "RESTART_UNAVAILABLE",
      "This node runs embedded in another program and cannot restart itself: restart that program",
    );
  }
  if (busy.has(upgrader)) {
    throw new HttpError(409, "UPGRADE_IN_PROGRESS", "An upgrade is restarting the node already");
  }
  if (!restarting.has(upgrader)) {
    restarting.add(upgrader);
    c.server.log("restart: asked over the API, restarting on the same program");
    upgrader.restart();
  }
  return json({ action: "restarting" }, 202);
}
