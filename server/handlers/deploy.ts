import { APP_NAME_RULE, appNameProblem } from "../../lib/app_name.ts";
import { boundaryOf, MultipartError, readMultipart } from "../../lib/multipart.ts";
import type { RouteContext } from "../context.ts";
import { deployArchive } from "../deployer.ts";
import { appUrl } from "../hosts.ts";
import { HttpError } from "../http_error.ts";
import { requestHost } from "../request_host.ts";
import type * as Api from "../api_types.ts";
import { type Answer, json } from "../respond.ts";
import { boundedBody, Spool, spoolDir } from "../upload.ts";

/** Checks an app name; `blog.example.com` is accepted as `blog`. */
export function normalizeAppName(raw: unknown, domain: string, field = "name"): string {
  if (typeof raw !== "string" || raw.trim() === "") {
    throw HttpError.validation(field, "required", `${field} is required`);
  }
  let name = raw.trim().toLowerCase();
  if (name.endsWith(`.${domain}`)) name = name.slice(0, -domain.length - 1);
  const problem = appNameProblem(name);
  if (problem) throw HttpError.validation(field, problem, `Invalid app name: ${APP_NAME_RULE}`);
  return name;
}

/** The app name and the spooled ZIP of a deploy request, in either accepted shape. */
interface DeployInput {
  name: string;
  field: string;
  zip: Spool;
}

/**
 * Reads a deploy request's body straight into a spool file (multipart: its
 * `file` part), never holding the upload in memory, refusing with 413 as
 * soon as it passes `max_upload_bytes`.
 */
async function deployInput(c: RouteContext): Promise<DeployInput> {
  const { req, url, server } = c;
  const type = (req.headers.get("content-type") ?? "").toLowerCase();
  const max = server.settings.max_upload_bytes;
  const dir = spoolDir(server.storage.db.path);
  if (type.startsWith("multipart/form-data")) {
    // The original header: a multipart boundary is case-sensitive (browsers mix case).
    const boundary = boundaryOf(req.headers.get("content-type")!);
    if (!boundary) throw new HttpError(400, "BAD_REQUEST", "The multipart body could not be read");
    const zip = await Spool.open(dir, max);
    const fields = new Map<string, string>();
    let gotFile = false;
    try {
      // Multipart adds a little framing around the file.
      await readMultipart(boundedBody(req, max + 64 * 1024), boundary, (part) => {
        if (part.filename !== undefined) {
          if (part.name !== "file" || gotFile) return () => {};
          gotFile = true;
          return (chunk) => zip.write(chunk);
        }
        // The first part of a name counts, as FormData.get gives it.
        if (fields.has(part.name)) return () => {};
        fields.set(part.name, "");
        const decoder = new TextDecoder();
        let text = "";
        return (chunk) => {
          text += decoder.decode(chunk, { stream: true });
          if (text.length > 64 * 1024) throw new MultipartError("a field is too long");
          fields.set(part.name, text);
        };
      });
    } catch (err) {
      await zip.remove();
      if (err instanceof MultipartError) {
        throw new HttpError(400, "BAD_REQUEST", "The multipart body could not be read");
      }
      throw err;
    }
    if (!gotFile) {
      await zip.remove();
      throw HttpError.validation("file", "required", "file (a ZIP archive) is required");
    }
    return { name: fields.get("site_name") ?? fields.get("name") ?? "", zip, field: "site_name" };
  }
  if (type.startsWith("application/zip") || type.startsWith("application/octet-stream")) {
    const name = url.searchParams.get("name") ?? "";
    normalizeAppName(name, server.settings.domain); // refused before the upload is read
    const zip = await Spool.open(dir, max);
    try {
      for await (const chunk of boundedBody(req, max)) await zip.write(chunk);
    } catch (err) {
      await zip.remove();
      throw err;
    }
    return { name, zip, field: "name" };
  }
  throw new HttpError(
    415,
    "UNSUPPORTED_MEDIA_TYPE",
    "Send multipart/form-data (site_name, file) or an application/zip body with ?name=",
  );
}

/** `POST /api/deploy` */
export async function deploy(c: RouteContext): Promise<Answer<Api.Deployed>> {
  const input = await deployInput(c);
  try {
    return await deployFrom(c, input);
  } finally {
    await input.zip.remove();
  }
}

async function deployFrom(c: RouteContext, input: DeployInput): Promise<Answer<Api.Deployed>> {
  const domain = c.server.settings.domain;
  const name = normalizeAppName(input.name, domain, input.field);
  const draft = ["1", "true"].includes(c.url.searchParams.get("draft") ?? "");
  const outcome = await deployArchive(c.server, name, input.zip.source(), {
    deployedBy: c.principal?.token.name,
    draft,
  });
  const url = appUrl(name, c.url, requestHost(c.req), domain);
  // The version's own host: where a draft can be looked at before it is promoted.
  const preview_url = appUrl(
    `${name}--v${outcome.version}`,
    c.url,
    requestHost(c.req),
    domain,
  );
  return json({ ...outcome, url, preview_url }, 201);
}
