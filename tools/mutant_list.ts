/**
 * The mutants `deno task mutants` tries: realistic one-line bugs in the code
 * that guards the node (auth, sessions, archive intake, static serving,
 * version storage). Each is found by its code text, so a small refactor
 * elsewhere in the file leaves it valid; when the text is gone the mutant is
 * reported as stale, never counted as killed. Keep `find` unique in its file.
 *
 * Archive intake is `server/archive.ts` (limits, names) over
 * `lib/zip_reader.ts` (the format, declared sizes, checksums).
 * @module
 */

export interface Mutant {
  /** Short stable name, shown in reports and accepted by `--only`. */
  id: string;
  /** The file the code lives in; if it moved, the text is looked for elsewhere. */
  file: string;
  /** Exact code text, occurring once. */
  find: string;
  replace: string;
}

export interface Area {
  name: string;
  /** The test files that should catch a bug here; only these run per mutant. */
  tests: string[];
  mutants: Mutant[];
}

const m = (id: string, file: string, find: string, replace: string): Mutant => ({
  id,
  file,
  find,
  replace,
});

const AUTH = "server/auth.ts";
const ORIGIN = "server/request_origin.ts";
const COOKIE = "server/session_cookie.ts";
const LOGIN = "server/handlers/login.ts";
const SESSIONS = "storage/sessions.ts";
const ARCHIVE = "server/archive.ts";
const READER = "lib/zip_reader.ts";
const DEPLOYER = "server/deployer.ts";
const STATIC = "server/static_site.ts";
const FINGERPRINT = "server/fingerprint.ts";
const APPS = "storage/apps.ts";

export const AREAS: Area[] = [
  {
    name: "auth",
    tests: [
      "tests/auth_test.ts",
      "tests/admin_session_test.ts",
      "tests/token_failures_test.ts",
      "tests/cookie_tossing_test.ts",
    ],
    mutants: [
      m(
        "read-is-public",
        AUTH,
        `if (policy === "public") return undefined;`,
        `if (policy === "public" || policy === "read") return undefined;`,
      ),
      m(
        "cookie-rescues-bearer",
        AUTH,
        `if (!header && sessions) {`,
        `if (sessions) {`,
      ),
      m(
        "bearer-regex-unanchored",
        AUTH,
        "/^Bearer\\s+(\\S+)\\s*$/i",
        "/Bearer\\s+(\\S+)/i",
      ),
      m(
        "scope-check-negated",
        AUTH,
        `if (!scopeAllows(token.scope, policy)) {`,
        `if (scopeAllows(token.scope, policy)) {`,
      ),
      m(
        "scope-check-dropped",
        AUTH,
        `if (!scopeAllows(token.scope, policy)) {`,
        `if (!scopeAllows(token.scope, "read")) {`,
      ),
      m(
        "revoked-token-accepted",
        AUTH,
        `if (!token) {`,
        `if (token === null) {`,
      ),
      m(
        "session-writes-skip-origin",
        AUTH,
        `if (isStateChanging(req.method)) checkOrigin(req, check.origin, true);`,
        `if (req.method === "POST") checkOrigin(req, check.origin, true);`,
      ),
      m(
        "session-origin-lenient",
        AUTH,
        `checkOrigin(req, check.origin, true);`,
        `checkOrigin(req, check.origin, false);`,
      ),
      m(
        "expired-session-accepted",
        AUTH,
        `if (!session) {`,
        `if (session === null) {`,
      ),
      m(
        "token-guard-never-blocks",
        AUTH,
        `if (wait > 0) {`,
        `if (wait < 0) {`,
      ),
      m(
        "token-failures-not-counted",
        AUTH,
        `guard?.failures.fail(guard.client);`,
        `void guard;`,
      ),
      m(
        "only-first-session-cookie",
        AUTH,
        `for (const secret of secrets) {`,
        `for (const secret of secrets.slice(0, 1)) {`,
      ),
      m(
        "no-challenge-header",
        AUTH,
        `throw new HttpError(401, "UNAUTHORIZED", "Authentication required", { headers: CHALLENGE });`,
        `throw new HttpError(401, "UNAUTHORIZED", "Authentication required");`,
      ),
    ],
  },
  {
    name: "sessions",
    tests: [
      "tests/admin_session_test.ts",
      "storage/sessions_test.ts",
      "tests/login_race_test.ts",
      "tests/cookie_tossing_test.ts",
      "server/session_cookie_test.ts",
    ],
    mutants: [
      m(
        "origin-prefix-match",
        ORIGIN,
        `if (origin.toLowerCase() === expected) return;`,
        `if (origin.toLowerCase().startsWith(expected)) return;`,
      ),
      m(
        "origin-same-site-accepted",
        ORIGIN,
        `if (site === "same-origin" || (site === null && !strict)) return;`,
        `if (site === "same-origin" || site === "same-site" || (site === null && !strict)) return;`,
      ),
      m(
        "origin-missing-accepted",
        ORIGIN,
        `if (site === "same-origin" || (site === null && !strict)) return;`,
        `if (site === "same-origin" || site === null) return;`,
      ),
      m(
        "delete-is-safe",
        ORIGIN,
        `new Set(["GET", "HEAD", "OPTIONS"])`,
        `new Set(["GET", "HEAD", "OPTIONS", "DELETE"])`,
      ),
      m(
        "proxy-trusted-without-setting",
        ORIGIN,
        `return settings.trust_proxy === 1 && isLoopback(remote);`,
        `return settings.trust_proxy === 1 || isLoopback(remote);`,
      ),
      m(
        "forwarded-first-entry",
        "server/client_address.ts",
        `const last = forwarded.split(",").map((s) => s.trim()).filter(Boolean).at(-1);`,
        `const last = forwarded.split(",").map((s) => s.trim()).filter(Boolean).at(0);`,
      ),
      m(
        "https-header-untrusted",
        ORIGIN,
        `return viaTrustedProxy(remote, settings) &&\n    req.headers.get("x-forwarded-proto")`,
        `return true &&\n    req.headers.get("x-forwarded-proto")`,
      ),
      m(
        "cookie-not-httponly",
        COOKIE,
        "Max-Age=${maxAgeS}; HttpOnly; SameSite=Strict",
        "Max-Age=${maxAgeS}; SameSite=Strict",
      ),
      m(
        "cookie-samesite-lax",
        COOKIE,
        "Max-Age=${maxAgeS}; HttpOnly; SameSite=Strict",
        "Max-Age=${maxAgeS}; HttpOnly; SameSite=Lax",
      ),
      m(
        "cleared-cookie-lingers",
        COOKIE,
        "`${name}=; Path=/; Max-Age=0;",
        "`${name}=; Path=/; Max-Age=60;",
      ),
      m(
        "idle-hours-as-minutes",
        COOKIE,
        `idleMs: settings.session_idle_hours * HOUR,`,
        `idleMs: settings.session_idle_hours * 60_000,`,
      ),
      m(
        "max-days-as-hours",
        COOKIE,
        `maxMs: settings.session_max_days * 24 * HOUR,`,
        `maxMs: settings.session_max_days * HOUR,`,
      ),
      m(
        "cookie-name-suffix",
        COOKIE,
        `else if (name === SESSION_COOKIE) plain`,
        `else if (name.endsWith(SESSION_COOKIE)) plain`,
      ),
      m(
        "host-case-kept",
        ORIGIN,
        `const host = requestHost(req).trim().toLowerCase();`,
        `const host = requestHost(req).trim();`,
      ),
      m(
        "cookie-value-with-equals",
        COOKIE,
        `plain.push(part.slice(eq + 1).trim());`,
        `plain.push(part.slice(eq).trim());`,
      ),
      m(
        "login-skips-origin",
        LOGIN,
        `checkOrigin(c.req, ownOrigin(c.req, secure), false);`,
        `void ownOrigin(c.req, secure);`,
      ),
      m(
        "attempt-limit-off-by-one",
        SESSIONS,
        `if (row && row.failures >= max) {`,
        `if (row && row.failures > max) {`,
      ),
      m(
        "malformed-login-counted",
        LOGIN,
        `storage.loginAttempts.release(ip);`,
        ``,
      ),
      m(
        "https-cookie-not-host-prefixed",
        COOKIE,
        `return secure ? HOST_SESSION_COOKIE : SESSION_COOKIE;`,
        `return SESSION_COOKIE;`,
      ),
      m(
        "login-never-blocked",
        SESSIONS,
        `if (row && row.failures >= max) {`,
        `if (row && row.failures >= max + 1000) {`,
      ),
      m(
        "login-any-user-name",
        LOGIN,
        `safeEqual(username, owner.username) && passwordOk`,
        `passwordOk`,
      ),
      m(
        "login-needs-one-field",
        LOGIN,
        `if (!username || !password) {`,
        `if (!username && !password) {`,
      ),
      m(
        "logout-inverted",
        LOGIN,
        `if (secrets.length > 0) {`,
        `if (secrets.length === 0) {`,
      ),
      m(
        "login-success-keeps-count",
        LOGIN,
        `storage.loginAttempts.reset(ip);`,
        ``,
      ),
      m(
        "attempts-left-off-by-one",
        LOGIN,
        `Math.max(0, LOGIN_MAX_FAILURES - taken.attempts)`,
        `Math.max(0, LOGIN_MAX_FAILURES - taken.attempts + 1)`,
      ),
      m(
        "cookie-lives-idle-time",
        LOGIN,
        `Math.floor(life.maxMs / 1000)`,
        `Math.floor(life.idleMs / 1000)`,
      ),
      m(
        "logout-skips-origin",
        LOGIN,
        `checkOrigin(c.req, ownOrigin(c.req, secure), true);`,
        `void ownOrigin(c.req, secure);`,
      ),
      m(
        "logout-keeps-session",
        LOGIN,
        `ended = c.server.storage.sessions.delete(secret) || ended;`,
        `ended = true;`,
      ),
      m(
        "revoke-result-negated",
        LOGIN,
        `if (!c.server.storage.sessions.revoke(c.params.id)) {`,
        `if (c.server.storage.sessions.revoke(c.params.id)) {`,
      ),
      m(
        "current-session-negated",
        LOGIN,
        `current: s.id === own`,
        `current: s.id !== own`,
      ),
      m(
        "session-ignores-idle",
        SESSIONS,
        `expires_at: Math.min(now + life.idleMs, now + life.maxMs),`,
        `expires_at: now + life.maxMs,`,
      ),
      m(
        "user-agent-unbounded",
        SESSIONS,
        `user_agent: userAgent ? userAgent.slice(0, 300) : null,`,
        `user_agent: userAgent ? userAgent : null,`,
      ),
      m(
        "short-handle",
        SESSIONS,
        `id: row.id_hash.slice(0, 16),`,
        `id: row.id_hash.slice(0, 12),`,
      ),
      m(
        "expiry-boundary",
        SESSIONS,
        `if (row.expires_at <= now) {`,
        `if (row.expires_at < now) {`,
      ),
      m(
        "no-sliding",
        SESSIONS,
        `if (now - row.last_seen_at >= SLIDE_EVERY_MS && !this.#db.readOnly) {`,
        `if (now - row.last_seen_at >= SLIDE_EVERY_MS * 1000 && !this.#db.readOnly) {`,
      ),
      m(
        "slides-past-cap",
        SESSIONS,
        `row.expires_at = Math.min(now + life.idleMs, row.created_at + life.maxMs);`,
        `row.expires_at = now + life.idleMs;`,
      ),
      m(
        "delete-always-true",
        SESSIONS,
        `return this.#db.run("DELETE FROM sessions WHERE id_hash = ?", sha256Hex(secret)).changes > 0;`,
        `return this.#db.run("DELETE FROM sessions WHERE id_hash = ?", sha256Hex(secret)).changes >= 0;`,
      ),
      m(
        "revoke-any-handle",
        SESSIONS,
        `if (!/^[0-9a-f]{16}$/.test(id)) return false;`,
        `if (!/^[0-9a-f]*$/.test(id)) return false;`,
      ),
      m(
        "list-shows-expired",
        SESSIONS,
        `WHERE expires_at > ? ORDER BY last_seen_at DESC`,
        `WHERE expires_at < ? OR 1 ORDER BY last_seen_at DESC`,
      ),
      m(
        "expired-never-purged",
        SESSIONS,
        `this.#purgeExpired(now);`,
        ``,
      ),
      m(
        "block-one-late",
        SESSIONS,
        `if (ends <= now || row.failures < max) return 0;`,
        `if (ends <= now || row.failures <= max) return 0;`,
      ),
      m(
        "block-for-whole-window",
        SESSIONS,
        `return ends - now;`,
        `return windowMs;`,
      ),
      m(
        "window-never-restarts",
        SESSIONS,
        `"DELETE FROM login_attempts WHERE window_start <= ?", now - windowMs`,
        `"DELETE FROM login_attempts WHERE window_start <= ?", now - 2 * windowMs`,
      ),
      m(
        "failures-not-added",
        SESSIONS,
        `ON CONFLICT (ip) DO UPDATE SET failures = failures + 1`,
        `ON CONFLICT (ip) DO UPDATE SET failures = 1`,
      ),
    ],
  },
  {
    name: "archive",
    tests: [
      "server/archive_test.ts",
      "lib/zip_reader_test.ts",
      "tests/deploy_test.ts",
      "tests/intake_test.ts",
    ],
    mutants: [
      m(
        "backslash-allowed",
        ARCHIVE,
        `if (name.includes("\\\\")) return "contains a backslash";`,
        ``,
      ),
      m(
        "drive-letter-allowed",
        ARCHIVE,
        "/^[A-Za-z]:/.test(name)",
        "/^[A-Za-z]:\\//.test(name)",
      ),
      m(
        "leading-slash-allowed",
        ARCHIVE,
        `if (name.startsWith("/") || /^[A-Za-z]:/.test(name))`,
        `if (/^[A-Za-z]:/.test(name))`,
      ),
      m(
        "folder-entry-refused",
        ARCHIVE,
        `const segments = name.replace(/\\/$/, "").split("/");`,
        `const segments = name.split("/");`,
      ),
      m(
        "local-name-unchecked",
        READER,
        `if (!sameBytes(name, entry.rawName)) {`,
        `if (false) {`,
      ),
      m(
        "declared-size-unchecked",
        READER,
        `if (out > entry.size) {`,
        `if (out > entry.size + 1e9) {`,
      ),
      m(
        "declared-count-unchecked",
        READER,
        `if (count > dir.declaredEntries) fail(`,
        `if (count > dir.declaredEntries * 1000) fail(`,
      ),
      m(
        "trailing-bytes-allowed",
        READER,
        `if (u32(tail, i) === EOCD && i + 22 + u16(tail, i + 20) === tail.byteLength) {`,
        `if (u32(tail, i) === EOCD) {`,
      ),
      m(
        "zip64-extra-order",
        READER,
        `if (size === MAX32) size = next();
    if (compressedSize === MAX32) compressedSize = next();`,
        `if (compressedSize === MAX32) compressedSize = next();
    if (size === MAX32) size = next();`,
      ),
      m(
        "entry-count-unbounded",
        ARCHIVE,
        `if (dir.declaredEntries > most) {`,
        `if (dir.declaredEntries > most * 1000) {`,
      ),
      m(
        "overlap-allowed",
        ARCHIVE,
        `if (sorted[i].localOffset < end) {`,
        `if (false) {`,
      ),
      m(
        "unknown-method-accepted",
        ARCHIVE,
        `if (e.method !== METHOD_STORED && e.method !== METHOD_DEFLATED) {`,
        `if (false) {`,
      ),
      m(
        "nested-ds-store-kept",
        ARCHIVE,
        ` || path.endsWith("/.DS_Store");`,
        `;`,
      ),
      m(
        "dotdot-allowed",
        ARCHIVE,
        `if (segments.includes("..")) return "has a '..' segment";`,
        ``,
      ),
      m(
        "empty-segment-allowed",
        ARCHIVE,
        `segments.some((s) => s === "" || s === ".")`,
        `segments.some((s) => s === ".")`,
      ),
      m(
        "control-chars-allowed",
        ARCHIVE,
        "if (/[\\x00-\\x1f\\x7f]/.test(name)) return",
        "if (/[\\x00]/.test(name)) return",
      ),
      m(
        "macosx-kept",
        ARCHIVE,
        `path.startsWith("__MACOSX/") ||`,
        `path === "__MACOSX/" ||`,
      ),
      m(
        "api-folder-stripped",
        ARCHIVE,
        `if (first === "api") return 0;`,
        ``,
      ),
      m(
        "top-folder-prefix",
        ARCHIVE,
        `paths.every((p) => p.startsWith(first + "/"))`,
        `paths.every((p) => p.startsWith(first))`,
      ),
      m(
        "budget-off-by-one",
        ARCHIVE,
        `if (declaredBytes > limits.maxUnpackedBytes) {`,
        `if (declaredBytes > limits.maxUnpackedBytes + 1) {`,
      ),
      m(
        "ratio-any-size",
        ARCHIVE,
        `if (e.size > RATIO_FLOOR && e.size > e.compressedSize * limits.maxRatio) {`,
        `if (e.size > e.compressedSize * limits.maxRatio) {`,
      ),
      m(
        "ratio-never",
        ARCHIVE,
        `if (e.size > RATIO_FLOOR && e.size > e.compressedSize * limits.maxRatio) {`,
        `if (e.size > RATIO_FLOOR && e.size > e.size * limits.maxRatio) {`,
      ),
      m(
        "crc-unchecked",
        READER,
        `if (crc !== entry.crc32) fail(`,
        `if (false) fail(`,
      ),
      m(
        "staged-contents-kept",
        DEPLOYER,
        `server.storage.apps.dropContents([...staged]);`,
        ``,
      ),
      m(
        "duplicates-allowed",
        ARCHIVE,
        `seen.add(path);`,
        ``,
      ),
      m(
        "limit-errors-become-corrupt",
        ARCHIVE,
        `function unreadable(err: unknown): never {\n  if (err instanceof ZipFormatError) {`,
        `function unreadable(err: unknown): never {\n  if (err instanceof ZipFormatError || err instanceof HttpError) {`,
      ),
      m(
        "symlinks-allowed",
        ARCHIVE,
        `if (e.symlink) refuse(`,
        `if (e.symlink && e.directory) refuse(`,
      ),
      m(
        "encrypted-allowed",
        ARCHIVE,
        `if (e.encrypted) refuse(`,
        `if (e.encrypted && e.directory) refuse(`,
      ),
      m(
        "max-files-off-by-one",
        ARCHIVE,
        `if (kept.length > limits.maxFiles) {`,
        `if (kept.length > limits.maxFiles + 1) {`,
      ),
      m(
        "empty-archive-allowed",
        ARCHIVE,
        `if (kept.length === 0) refuse(`,
        `if (kept.length < 0) refuse(`,
      ),
      m(
        "junk-counted-as-file",
        ARCHIVE,
        `if (e.directory || isJunk(e.name)) continue;`,
        `if (e.directory) continue;`,
      ),
    ],
  },
  {
    name: "static",
    tests: [
      "server/static_site_test.ts",
      "server/fingerprint_test.ts",
      "tests/serving_test.ts",
      "tests/conditional_test.ts",
    ],
    mutants: [
      m(
        "spa-flag-ignored",
        STATIC,
        `(r.site.spa ? files.get("__spa-fallback.html") ?? files.get("index.html") : undefined)`,
        `undefined`,
      ),
      m(
        "spa-flag-always-on",
        STATIC,
        `(r.site.spa ? files.get("__spa-fallback.html")`,
        `(true ? files.get("__spa-fallback.html")`,
      ),
      m(
        "spa-react-router-fallback-ignored",
        STATIC,
        `files.get("__spa-fallback.html") ?? files.get("index.html")`,
        `files.get("index.html")`,
      ),
      m(
        "digit-hash-without-letter",
        FINGERPRINT,
        `if (digit) return letter;`,
        `if (digit) return true;`,
      ),
      m(
        "words-are-hashes",
        FINGERPRINT,
        `return !s.split(/[-_]/).every((part) => part === "" || WORD.test(part));`,
        `return true;`,
      ),
      m(
        "hex-all-letters",
        FINGERPRINT,
        `if (HEX.test(s)) return /\\d/.test(s) && /[a-f]/.test(s);`,
        `if (HEX.test(s)) return true;`,
      ),
      m(
        "qualifier-ignored",
        FINGERPRINT,
        `if (qualifier && isHash(rest.slice(0, qualifier.index))) return true;`,
        ``,
      ),
      m(
        "astro-variant-ignored",
        FINGERPRINT,
        `return astro !== null && isShortHash(astro[1]);`,
        `return false;`,
      ),
      m(
        "any-separator",
        FINGERPRINT,
        `if (stem[i] !== "." && stem[i] !== "-") continue;`,
        ``,
      ),
      m(
        "any-method-served",
        STATIC,
        `if (r.req.method !== "GET" && r.req.method !== "HEAD") {`,
        `if (r.req.method !== "GET" && r.req.method !== "HEAD" && r.req.method !== "POST") {`,
      ),
      m(
        "percent-names-undecoded",
        STATIC,
        `if (path.includes("%")) {`,
        `if (path.includes("%2")) {`,
      ),
      m(
        "root-not-index",
        STATIC,
        `if (path === "" || path.endsWith("/")) return files.get(path + "index.html");`,
        `if (path.endsWith("/")) return files.get(path + "index.html");`,
      ),
      m(
        "backslash-path-served",
        STATIC,
        `if (path.includes("\\0") || path.includes("\\\\")) return undefined;`,
        `if (path.includes("\\0")) return undefined;`,
      ),
      m(
        "dotdot-path-served",
        STATIC,
        `if (path.includes("..") && path.split("/").some((s) => s === "..")) return undefined;`,
        ``,
      ),
      m(
        "no-folder-index",
        STATIC,
        `?? files.get(path + "/index.html");`,
        `;`,
      ),
      m(
        "spa-for-assets",
        STATIC,
        `if (spa && (extensionOf(path) === "" || extensionOf(path) === "html")) {`,
        `if (spa) {`,
      ),
      m(
        "spa-not-for-html",
        STATIC,
        `(extensionOf(path) === "" || extensionOf(path) === "html")`,
        `(extensionOf(path) === "")`,
      ),
      m(
        "head-404-is-200",
        STATIC,
        `return new Response(null, {
      status,
      headers: [...file.headers(encoding), ["content-length"`,
        `return new Response(null, {
      status: 200,
      headers: [...file.headers(encoding), ["content-length"`,
      ),
      m(
        "custom-404-is-200",
        STATIC,
        `if (custom) return respond(r, custom, 404);`,
        `if (custom) return respond(r, custom, 200);`,
      ),
      m(
        "304-for-404",
        STATIC,
        `if (status === 200 && isNotModified(h, file)) {`,
        `if (isNotModified(h, file)) {`,
      ),
      m(
        "range-on-head",
        STATIC,
        `const range = status === 200 && req.method === "GET" ? h.get("range") : null;`,
        `const range = status === 200 ? h.get("range") : null;`,
      ),
      m(
        "if-range-ignored",
        STATIC,
        `if (range !== null && ifRangeHolds(h.get("if-range"), file)) {`,
        `if (range !== null) {`,
      ),
      m(
        "range-end-exclusive",
        STATIC,
        `sites.slice(file, span.start, span.end + 1)`,
        `sites.slice(file, span.start, span.end)`,
      ),
      m(
        "416-without-size",
        STATIC,
        "`bytes */${file.meta.size}`",
        "`bytes */*`",
      ),
      m(
        "head-identity-length",
        STATIC,
        `["content-length", String(file.sizeOf(encoding))]`,
        `["content-length", String(file.meta.size)]`,
      ),
      m(
        "br-without-variant",
        STATIC,
        `if (ok.br && file.meta.br_size != null) return "br";`,
        `if (ok.br) return "br";`,
      ),
      m(
        "q-zero-accepted",
        STATIC,
        `const ok = q === undefined || Number(q.slice(2)) > 0;`,
        `const ok = q === undefined || Number(q.slice(2)) >= 0;`,
      ),
      m(
        "star-ignored",
        STATIC,
        `if (name.trim() === "*") star = ok;`,
        ``,
      ),
      m(
        "coding-case-sensitive",
        STATIC,
        `const [name, ...params] = part.trim().toLowerCase().split(";");`,
        `const [name, ...params] = part.trim().split(";");`,
      ),
      m(
        "range-needs-if-range",
        STATIC,
        `if (ifRange === null) return true;`,
        `if (ifRange === null) return false;`,
      ),
      m(
        "empty-range-read-as-suffix",
        STATIC,
        `if (!m || (m[1] === "" && m[2] === "")) return null;`,
        `if (!m) return null;`,
      ),
      m(
        "inm-falls-through-to-ims",
        STATIC,
        `return inm.split(",").some((t) => tags.includes(t.trim().replace(/^W\\//, "")));`,
        `if (inm.split(",").some((t) => tags.includes(t.trim().replace(/^W\\//, "")))) return true;`,
      ),
      m(
        "inm-star-ignored",
        STATIC,
        `if (inm.trim() === "*") return true;`,
        ``,
      ),
      m(
        "inm-weak-ignored",
        STATIC,
        `tags.includes(t.trim().replace(/^W\\//, ""))`,
        `tags.includes(t.trim())`,
      ),
      m(
        "ims-strictly-after",
        STATIC,
        `Date.parse(file.lastModified) <= since`,
        `Date.parse(file.lastModified) < since`,
      ),
      m(
        "ims-inverted",
        STATIC,
        `Date.parse(file.lastModified) <= since`,
        `Date.parse(file.lastModified) >= since`,
      ),
      m(
        "if-range-weak-accepted",
        STATIC,
        `if (v.startsWith('"')) return v === file.etags.identity;`,
        `if (v.replace(/^W\\//, "").startsWith('"')) return v.replace(/^W\\//, "") === file.etags.identity;`,
      ),
      m(
        "if-range-any-date",
        STATIC,
        `return v === file.lastModified;`,
        `return !Number.isNaN(Date.parse(v));`,
      ),
      m(
        "range-regex-unanchored",
        STATIC,
        "/^bytes=(\\d*)-(\\d*)$/",
        "/^bytes=(\\d*)-(\\d*)/",
      ),
      m(
        "suffix-end-past-file",
        STATIC,
        `start = Math.max(0, size - suffix);
    end = size - 1;`,
        `start = Math.max(0, size - suffix);
    end = size;`,
      ),
      m(
        "suffix-not-clamped",
        STATIC,
        `start = Math.max(0, size - suffix);`,
        `start = size - suffix;`,
      ),
      m(
        "end-not-clamped",
        STATIC,
        `Math.min(Number(m[2]), size - 1)`,
        `Number(m[2])`,
      ),
      m(
        "one-byte-range-ignored",
        STATIC,
        `if (m[2] !== "" && Number(m[2]) < start) return null;`,
        `if (m[2] !== "" && Number(m[2]) <= start) return null;`,
      ),
      m(
        "start-at-size-satisfiable",
        STATIC,
        `if (start >= size || size === 0) return "unsatisfiable";`,
        `if (start > size || size === 0) return "unsatisfiable";`,
      ),
    ],
  },
  {
    name: "versions",
    tests: [
      "storage/apps_test.ts",
      "tests/deploy_test.ts",
      "tests/drafts_test.ts",
      "tests/apps_api_test.ts",
    ],
    mutants: [
      m(
        "version-outside-transaction",
        APPS,
        `return this.db.transaction(() => {\n      const now = Date.now();`,
        `return ((fn: () => { app: AppRecord; version: VersionRecord }) => fn())(() => {\n      const now = Date.now();`,
      ),
      m(
        "live-flipped-first-outside-transaction",
        APPS,
        `return this.db.transaction(() => {\n      const now = Date.now();`,
        `const flipFirst = this.get(name);\n    if (flipFirst && !opts.draft) this.setLive(flipFirst.id, (this.versions(flipFirst.id)[0]?.number ?? 0) + 1);\n    return ((fn: () => { app: AppRecord; version: VersionRecord }) => fn())(() => {\n      const now = Date.now();`,
      ),
      m(
        "draft-goes-live",
        APPS,
        `if (!opts.draft) this.#makeLive(`,
        `if (opts.draft !== undefined || !opts.draft) this.#makeLive(`,
      ),
      m(
        "number-by-count",
        APPS,
        `"SELECT COALESCE(MAX(number), 0) + 1 AS n FROM versions WHERE app_id = ?"`,
        `"SELECT COUNT(*) + 1 AS n FROM versions WHERE app_id = ?"`,
      ),
      m(
        "no-pruning",
        APPS,
        `this.#prune(app.id, opts.keep);`,
        ``,
      ),
      m(
        "manifest-only-with-code",
        APPS,
        `if (opts.build || opts.manifest !== undefined) {`,
        `if (opts.build) {`,
      ),
      m(
        "files-unordered",
        APPS,
        `WHERE f.app_id = ? AND f.version = ? ORDER BY f.path`,
        `WHERE f.app_id = ? AND f.version = ? ORDER BY f.hash`,
      ),
      m(
        "bytes-not-summed",
        APPS,
        `else bytes += size;`,
        `else bytes = size;`,
      ),
      m(
        "keeps-one-more",
        APPS,
        `ORDER BY number DESC LIMIT 1 OFFSET ?`,
        `ORDER BY number DESC LIMIT 1 OFFSET ? + 1`,
      ),
      m(
        "prunes-live",
        APPS,
        `"DELETE FROM versions WHERE app_id = ? AND number <= ? AND number IS NOT ?"`,
        `"DELETE FROM versions WHERE app_id = ? AND number <= ? AND ? IS NOT -1"`,
      ),
      m(
        "drops-shared-content",
        APPS,
        `"DELETE FROM contents WHERE hash = ? AND NOT EXISTS (SELECT 1 FROM files WHERE hash = ?)"`,
        `"DELETE FROM contents WHERE hash = ? AND ? IS NOT NULL"`,
      ),
      m(
        "delete-leaves-orphans",
        APPS,
        `this.db.run("DELETE FROM apps WHERE id = ?", app.id);\n      this.#dropUnreferenced(hashes);`,
        `this.db.run("DELETE FROM apps WHERE id = ?", app.id);`,
      ),
      m(
        "everything-already-stored",
        APPS,
        `if (this.db.get("SELECT 1 FROM contents WHERE hash = ?", hash)) found.add(hash);`,
        `found.add(hash);`,
      ),
      m(
        "versions-oldest-first",
        APPS,
        "WHERE app_id = ? ORDER BY number DESC`",
        "WHERE app_id = ? ORDER BY number ASC`",
      ),
      m(
        "gzip-column-for-br",
        APPS,
        `{ identity: "data", gzip: "gzip", br: "br" }`,
        `{ identity: "data", gzip: "gzip", br: "gzip" }`,
      ),
      m(
        "set-live-ignores-number",
        APPS,
        `"UPDATE apps SET live_version = ?, updated_at = ? WHERE id = ?",\n      number,\n      now,`,
        `"UPDATE apps SET live_version = ?, updated_at = ? WHERE id = ?",\n      number - 1 || number,\n      now,`,
      ),
    ],
  },
];
