import type { Database } from "./database.ts";

/**
 * Numbered schema migrations. A migration is never edited once released:
 * append a new one instead, so every older database upgrades the same way.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: configuration, the owner, API tokens and known peers.
  `CREATE TABLE settings (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );
   CREATE TABLE owner (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     username TEXT NOT NULL,
     password_hash TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE tokens (
     id INTEGER PRIMARY KEY,
     name TEXT NOT NULL,
     scope TEXT NOT NULL CHECK (scope IN ('read', 'deploy', 'admin')),
     secret_hash TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     last_used_at INTEGER
   );
   CREATE TABLE peers (
     name TEXT PRIMARY KEY,
     url TEXT NOT NULL,
     token TEXT NOT NULL,
     is_default INTEGER NOT NULL DEFAULT 0,
     last_seen_at INTEGER,
     version TEXT,
     created_at INTEGER NOT NULL
   );`,
  // 2: apps, their immutable versions, and content-addressed files.
  // AUTOINCREMENT: an app id is never reused, so nothing cached under an old
  // id can be mistaken for a new app of the same name.
  `CREATE TABLE apps (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     name TEXT NOT NULL UNIQUE,
     live_version INTEGER,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE versions (
     app_id INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
     number INTEGER NOT NULL,
     file_count INTEGER NOT NULL,
     bytes INTEGER NOT NULL,
     deployed_by TEXT,
     created_at INTEGER NOT NULL,
     PRIMARY KEY (app_id, number)
   );
   CREATE TABLE contents (
     hash TEXT PRIMARY KEY,
     size INTEGER NOT NULL,
     data BLOB NOT NULL,
     gzip BLOB,
     br BLOB
   );
   CREATE TABLE files (
     app_id INTEGER NOT NULL,
     version INTEGER NOT NULL,
     path TEXT NOT NULL,
     hash TEXT NOT NULL REFERENCES contents (hash),
     PRIMARY KEY (app_id, version, path),
     FOREIGN KEY (app_id, version) REFERENCES versions (app_id, number)
       ON DELETE CASCADE
   );
   CREATE INDEX files_by_hash ON files (hash);`,
  // 3: storage scoped to one app for serverless code: key-value, documents,
  // blobs, owner-set secrets and logs. Every row names its app and goes with it.
  // Small-row tables are WITHOUT ROWID so the primary key is the only b-tree;
  // docs and blobs keep a rowid because their rows may be megabytes, and
  // blob bytes come last so metadata reads skip their overflow pages.
  `CREATE TABLE app_kv (
     app_id INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
     key TEXT NOT NULL,
     value TEXT NOT NULL,
     expires_at INTEGER,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (app_id, key)
   ) WITHOUT ROWID;
   CREATE INDEX app_kv_expiry ON app_kv (expires_at) WHERE expires_at IS NOT NULL;
   CREATE TABLE app_docs (
     app_id INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
     collection TEXT NOT NULL,
     id TEXT NOT NULL,
     doc TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (app_id, collection, id)
   );
   CREATE TABLE app_blobs (
     app_id INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
     key TEXT NOT NULL,
     size INTEGER NOT NULL,
     content_type TEXT NOT NULL,
     updated_at INTEGER NOT NULL,
     data BLOB NOT NULL,
     PRIMARY KEY (app_id, key)
   );
   CREATE TABLE app_env (
     app_id INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
     name TEXT NOT NULL,
     value TEXT NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (app_id, name)
   ) WITHOUT ROWID;
   CREATE TABLE app_logs (
     id INTEGER PRIMARY KEY,
     app_id INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
     level TEXT NOT NULL CHECK (level IN ('debug', 'info', 'warn', 'error')),
     message TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX app_logs_by_app ON app_logs (app_id, id);`,
  // 4: a version's compiled server code and its manifest, pruned with it.
  `CREATE TABLE builds (
     app_id INTEGER NOT NULL,
     version INTEGER NOT NULL,
     build TEXT,
     manifest TEXT,
     PRIMARY KEY (app_id, version),
     FOREIGN KEY (app_id, version) REFERENCES versions (app_id, number)
       ON DELETE CASCADE
   );`,
  // 5: the owner's dashboard sessions (only a hash of the cookie is kept)
  // and failed logins per client address, for the login rate limit.
  `CREATE TABLE sessions (
     id_hash TEXT PRIMARY KEY,
     created_at INTEGER NOT NULL,
     last_seen_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     user_agent TEXT
   ) WITHOUT ROWID;
   CREATE INDEX sessions_by_expiry ON sessions (expires_at);
   CREATE TABLE login_attempts (
     ip TEXT PRIMARY KEY,
     failures INTEGER NOT NULL,
     window_start INTEGER NOT NULL
   ) WITHOUT ROWID;`,
  // 6: analytics. Raw events (pruned after analytics_retention_days) are
  // kept one row per written batch: `events` is JSON {strings, events}, each
  // event [id - row id, app, name, source, path, referrer, browser, os,
  // device, visitor, tags, props] with the fields from app to device as
  // indexes into `strings` (query them with json_each); an event's id is its
  // time in ms * 1000 plus a sequence, so batches are id ranges. Events are keyed by
  // app name, not id, so a deleted app's numbers stay readable. Hourly and
  // daily rollups are kept for good. The visitor hashes a day has counted
  // (hour bitmask) keep visitor counts exact across batches; the day's salt
  // is the only one stored.
  `CREATE TABLE analytics_raw (
     id INTEGER PRIMARY KEY,
     last_id INTEGER NOT NULL,
     count INTEGER NOT NULL,
     events TEXT NOT NULL
   );
   CREATE TABLE analytics_counts (
     app TEXT NOT NULL,
     grain TEXT NOT NULL CHECK (grain IN ('hour', 'day')),
     bucket INTEGER NOT NULL,
     views INTEGER NOT NULL,
     visitors INTEGER NOT NULL,
     events INTEGER NOT NULL,
     PRIMARY KEY (app, grain, bucket)
   ) WITHOUT ROWID;
   CREATE TABLE analytics_top (
     app TEXT NOT NULL,
     dim TEXT NOT NULL,
     grain TEXT NOT NULL CHECK (grain IN ('hour', 'day')),
     bucket INTEGER NOT NULL,
     value TEXT NOT NULL,
     count INTEGER NOT NULL,
     PRIMARY KEY (app, dim, grain, bucket, value)
   ) WITHOUT ROWID;
   CREATE TABLE analytics_visitors (
     app TEXT NOT NULL,
     day INTEGER NOT NULL,
     visitor TEXT NOT NULL,
     hours INTEGER NOT NULL,
     PRIMARY KEY (app, day, visitor)
   ) WITHOUT ROWID;
   CREATE TABLE analytics_salts (
     day INTEGER PRIMARY KEY,
     salt TEXT NOT NULL
   );`,
  // 7: a file body over one chunk (1 MiB) is kept as numbered chunks, so no
  // deploy or request holds a large file whole: its `contents` row (written
  // last, once every chunk is in) has an empty `data` and the chunk count.
  // And the document fields each app version declares an index on, so the
  // index cap is per app and an index no kept version declares is dropped;
  // version NULL marks one declared outside a deploy. Filled from the
  // manifests already deployed.
  `ALTER TABLE contents ADD COLUMN chunks INTEGER NOT NULL DEFAULT 0;
   CREATE TABLE content_chunks (
     hash TEXT NOT NULL,
     seq INTEGER NOT NULL,
     data BLOB NOT NULL,
     PRIMARY KEY (hash, seq)
   );
   CREATE TABLE doc_indexes (
     app_id INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
     version INTEGER,
     path TEXT NOT NULL,
     FOREIGN KEY (app_id, version) REFERENCES versions (app_id, number)
       ON DELETE CASCADE
   );
   CREATE UNIQUE INDEX doc_indexes_key ON doc_indexes (app_id, path, ifnull(version, 0));
   INSERT OR IGNORE INTO doc_indexes (app_id, version, path)
     SELECT b.app_id, b.version, f.value
     FROM builds b,
       json_each(CASE WHEN json_valid(b.manifest) THEN b.manifest ELSE '{}' END, '$.indexes') c,
       json_each(CASE WHEN c.type = 'array' THEN c.value ELSE '[]' END) f
     WHERE f.type = 'text' AND f.value <> 'id';`,
  // 8: analytics at scale. (a) The daily cap on stored raw events: per app
  // (`*` for every domain this node does not host) and UTC day, raw events
  // stored and events over the cap (counted, never stored); kept for good,
  // the days before this migration starting from their rollups' counts.
  // (b) Rollups of every app together under the app name '' (days, weeks),
  // and weekly rollups (in tables of their own, so the existing ones need no
  // rebuild; added as each week ends), so long ranges and all-apps queries
  // read few rows. '' gets every day so far, each top list capped at 1,000
  // named values like every bucket (the most frequent kept).
  `CREATE TABLE analytics_quota (
     app TEXT NOT NULL,
     day INTEGER NOT NULL,
     stored INTEGER NOT NULL,
     overflow INTEGER NOT NULL,
     PRIMARY KEY (app, day)
   ) WITHOUT ROWID;
   INSERT INTO analytics_quota (app, day, stored, overflow)
     SELECT app, bucket, views + events, 0 FROM analytics_counts
     WHERE grain = 'day' AND app <> '';
   CREATE TABLE analytics_week_counts (
     app TEXT NOT NULL,
     grain TEXT NOT NULL CHECK (grain = 'week'),
     bucket INTEGER NOT NULL,
     views INTEGER NOT NULL,
     visitors INTEGER NOT NULL,
     events INTEGER NOT NULL,
     PRIMARY KEY (app, grain, bucket)
   ) WITHOUT ROWID;
   CREATE TABLE analytics_week_top (
     app TEXT NOT NULL,
     dim TEXT NOT NULL,
     grain TEXT NOT NULL CHECK (grain = 'week'),
     bucket INTEGER NOT NULL,
     value TEXT NOT NULL,
     count INTEGER NOT NULL,
     PRIMARY KEY (app, dim, grain, bucket, value)
   ) WITHOUT ROWID;
   INSERT OR IGNORE INTO analytics_counts (app, grain, bucket, views, visitors, events)
     SELECT '', 'day', bucket, SUM(views), SUM(visitors), SUM(events) FROM analytics_counts
     WHERE grain = 'day' AND app <> '' GROUP BY bucket;
   INSERT OR IGNORE INTO analytics_top (app, dim, grain, bucket, value, count)
     WITH sums AS (
       SELECT dim, bucket, value, SUM(count) AS n FROM analytics_top
       WHERE grain = 'day' AND app <> '' GROUP BY dim, bucket, value
     ), ranked AS (
       SELECT dim, bucket, value, n, ROW_NUMBER() OVER (
         PARTITION BY dim, bucket ORDER BY value = '(other)', n DESC, value) AS r
       FROM sums
     )
     SELECT '', dim, 'day', bucket,
       CASE WHEN r <= 1000 AND value <> '(other)' THEN value ELSE '(other)' END AS v, SUM(n)
     FROM ranked GROUP BY dim, bucket, v;`,
  // 9: HTTPS. Custom domains (ASCII, lower case), each serving one app and
  // gone with it. The ACME account key per directory, one certificate per
  // host name (chain and private key as PEM; keys never leave the node
  // through the API), and each name's issuance attempts, so failures back
  // off across restarts instead of hammering the CA.
  `CREATE TABLE custom_domains (
     name TEXT PRIMARY KEY,
     app_id INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
     created_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX custom_domains_by_app ON custom_domains (app_id);
   CREATE TABLE acme_accounts (
     directory TEXT PRIMARY KEY,
     key_pem TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE certificates (
     name TEXT PRIMARY KEY,
     cert_pem TEXT NOT NULL,
     key_pem TEXT NOT NULL,
     issuer TEXT NOT NULL,
     serial TEXT NOT NULL,
     not_before INTEGER NOT NULL,
     not_after INTEGER NOT NULL,
     directory TEXT NOT NULL,
     issued_at INTEGER NOT NULL
   );
   CREATE TABLE certificate_attempts (
     name TEXT PRIMARY KEY,
     failures INTEGER NOT NULL,
     last_error TEXT,
     last_attempt_at INTEGER NOT NULL,
     next_attempt_at INTEGER NOT NULL
   ) WITHOUT ROWID;`,
  // 10: a build's source map (JSON), kept apart from its code: read only to
  // map stack traces in app logs to the developer's files.
  `ALTER TABLE builds ADD COLUMN source_map TEXT;`,
  // 11: quotas. Bytes each app stores (KV keys and values, documents with
  // their collection and id, blobs with their key and type), kept by
  // triggers so a quota check inside a write transaction is one row read;
  // and the owner's per-app overrides of the node-wide limit settings
  // (`app_max_*`), one row per limit changed.
  `CREATE TABLE app_usage (
     app_id INTEGER PRIMARY KEY REFERENCES apps (id) ON DELETE CASCADE,
     kv_bytes INTEGER NOT NULL DEFAULT 0,
     docs_bytes INTEGER NOT NULL DEFAULT 0,
     blobs_bytes INTEGER NOT NULL DEFAULT 0
   );
   CREATE TABLE app_limits (
     app_id INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
     key TEXT NOT NULL,
     value INTEGER NOT NULL,
     PRIMARY KEY (app_id, key)
   ) WITHOUT ROWID;
   INSERT INTO app_usage (app_id, kv_bytes, docs_bytes, blobs_bytes)
     SELECT id,
       (SELECT coalesce(sum(octet_length(key) + octet_length(value)), 0)
          FROM app_kv WHERE app_id = apps.id),
       (SELECT coalesce(sum(octet_length(collection) + octet_length(id) + octet_length(doc)), 0)
          FROM app_docs WHERE app_id = apps.id),
       (SELECT coalesce(sum(octet_length(key) + size + octet_length(content_type)), 0)
          FROM app_blobs WHERE app_id = apps.id)
     FROM apps;
   CREATE TRIGGER app_kv_usage_insert AFTER INSERT ON app_kv BEGIN
     INSERT INTO app_usage (app_id, kv_bytes)
       VALUES (new.app_id, octet_length(new.key) + octet_length(new.value))
       ON CONFLICT (app_id) DO UPDATE SET kv_bytes = kv_bytes + excluded.kv_bytes;
   END;
   CREATE TRIGGER app_kv_usage_update AFTER UPDATE OF key, value ON app_kv BEGIN
     UPDATE app_usage SET kv_bytes = kv_bytes
       - octet_length(old.key) - octet_length(old.value)
       + octet_length(new.key) + octet_length(new.value)
       WHERE app_id = new.app_id;
   END;
   CREATE TRIGGER app_kv_usage_delete AFTER DELETE ON app_kv BEGIN
     UPDATE app_usage SET kv_bytes = kv_bytes - octet_length(old.key) - octet_length(old.value)
       WHERE app_id = old.app_id;
   END;
   CREATE TRIGGER app_docs_usage_insert AFTER INSERT ON app_docs BEGIN
     INSERT INTO app_usage (app_id, docs_bytes)
       VALUES (new.app_id, octet_length(new.collection) + octet_length(new.id) + octet_length(new.doc))
       ON CONFLICT (app_id) DO UPDATE SET docs_bytes = docs_bytes + excluded.docs_bytes;
   END;
   CREATE TRIGGER app_docs_usage_update AFTER UPDATE OF collection, id, doc ON app_docs BEGIN
     UPDATE app_usage SET docs_bytes = docs_bytes
       - octet_length(old.collection) - octet_length(old.id) - octet_length(old.doc)
       + octet_length(new.collection) + octet_length(new.id) + octet_length(new.doc)
       WHERE app_id = new.app_id;
   END;
   CREATE TRIGGER app_docs_usage_delete AFTER DELETE ON app_docs BEGIN
     UPDATE app_usage SET docs_bytes = docs_bytes
       - octet_length(old.collection) - octet_length(old.id) - octet_length(old.doc)
       WHERE app_id = old.app_id;
   END;
   CREATE TRIGGER app_blobs_usage_insert AFTER INSERT ON app_blobs BEGIN
     INSERT INTO app_usage (app_id, blobs_bytes)
       VALUES (new.app_id, octet_length(new.key) + new.size + octet_length(new.content_type))
       ON CONFLICT (app_id) DO UPDATE SET blobs_bytes = blobs_bytes + excluded.blobs_bytes;
   END;
   CREATE TRIGGER app_blobs_usage_update AFTER UPDATE OF key, size, content_type ON app_blobs
   BEGIN
     UPDATE app_usage SET blobs_bytes = blobs_bytes
       - octet_length(old.key) - old.size - octet_length(old.content_type)
       + octet_length(new.key) + new.size + octet_length(new.content_type)
       WHERE app_id = new.app_id;
   END;
   CREATE TRIGGER app_blobs_usage_delete AFTER DELETE ON app_blobs BEGIN
     UPDATE app_usage SET blobs_bytes = blobs_bytes
       - octet_length(old.key) - old.size - octet_length(old.content_type)
       WHERE app_id = old.app_id;
   END;`,
  // 12: Deno KV for apps (`Deno.openKv()`), counted in the app's kv_bytes
  // like its other data: keys in Deno KV's tuple
  // encoding, so BLOB order is key order; every commit takes the app's next
  // version, the versionstamp of what it wrote; queue messages apart.
  `CREATE TABLE app_denokv (
     app_id INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
     key BLOB NOT NULL,
     value BLOB NOT NULL,
     encoding INTEGER NOT NULL,
     version INTEGER NOT NULL,
     expires_at INTEGER,
     PRIMARY KEY (app_id, key)
   ) WITHOUT ROWID;
   CREATE INDEX app_denokv_expiry ON app_denokv (expires_at) WHERE expires_at IS NOT NULL;
   CREATE TABLE app_denokv_version (
     app_id INTEGER PRIMARY KEY REFERENCES apps (id) ON DELETE CASCADE,
     version INTEGER NOT NULL
   );
   CREATE TABLE app_denokv_queue (
     id INTEGER PRIMARY KEY,
     app_id INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
     payload BLOB NOT NULL,
     ready_at INTEGER NOT NULL,
     leased_until INTEGER,
     attempts INTEGER NOT NULL DEFAULT 0,
     backoff TEXT NOT NULL,
     undelivered TEXT NOT NULL
   );
   CREATE INDEX app_denokv_queue_due ON app_denokv_queue (app_id, ready_at);
   CREATE TRIGGER app_denokv_usage_insert AFTER INSERT ON app_denokv BEGIN
     INSERT INTO app_usage (app_id, kv_bytes)
       VALUES (new.app_id, octet_length(new.key) + octet_length(new.value))
       ON CONFLICT (app_id) DO UPDATE SET kv_bytes = kv_bytes + excluded.kv_bytes;
   END;
   CREATE TRIGGER app_denokv_usage_update AFTER UPDATE OF key, value ON app_denokv BEGIN
     UPDATE app_usage SET kv_bytes = kv_bytes
       - octet_length(old.key) - octet_length(old.value)
       + octet_length(new.key) + octet_length(new.value)
       WHERE app_id = new.app_id;
   END;
   CREATE TRIGGER app_denokv_usage_delete AFTER DELETE ON app_denokv BEGIN
     UPDATE app_usage SET kv_bytes = kv_bytes - octet_length(old.key) - octet_length(old.value)
       WHERE app_id = old.app_id;
   END;`,
  // 13: scheduled jobs. Each run of an app's job (start, duration, outcome,
  // the lines the app logged meanwhile), and the jobs a version registered
  // with `Deno.cron` in its code (known only once the code has loaded, so
  // kept for the scheduler after a restart).
  `CREATE TABLE cron_runs (
     id INTEGER PRIMARY KEY,
     app_id INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
     job TEXT NOT NULL,
     trigger TEXT NOT NULL,
     started_at INTEGER NOT NULL,
     duration_ms INTEGER,
     outcome TEXT NOT NULL,
     error TEXT,
     logs TEXT NOT NULL DEFAULT '[]'
   );
   CREATE INDEX cron_runs_by_job ON cron_runs (app_id, job, id);
   CREATE TABLE app_code_crons (
     app_id INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
     version INTEGER NOT NULL,
     name TEXT NOT NULL,
     schedule TEXT NOT NULL,
     PRIMARY KEY (app_id, version, name)
   ) WITHOUT ROWID;`,
  // 14: when each version was last live (from, until; until NULL while it is),
  // so the dashboard says what a version is instead of guessing from its
  // number. History before this migration is rebuilt from deploy order: the
  // live version from its app's last change, and each older version from its
  // deploy until the next deploy (a draft deployed before then counts as
  // having been live, as the dashboard assumed until now).
  `ALTER TABLE versions ADD COLUMN live_from INTEGER;
   ALTER TABLE versions ADD COLUMN live_until INTEGER;
   UPDATE versions SET live_from = (SELECT MAX(a.updated_at, versions.created_at) FROM apps a
     WHERE a.id = versions.app_id AND a.live_version = versions.number)
   WHERE EXISTS (SELECT 1 FROM apps a
     WHERE a.id = versions.app_id AND a.live_version = versions.number);
   UPDATE versions SET live_from = created_at,
     live_until = (SELECT MIN(n.created_at) FROM versions n
       WHERE n.app_id = versions.app_id AND n.number > versions.number)
   WHERE number < (SELECT a.live_version FROM apps a WHERE a.id = versions.app_id);`,
  // 15: monthly analytics rollups (calendar months, UTC), like the weekly
  // ones of migration 8: tables of their own, added as each month ends, so a
  // 90-day range reads two or three months' rows and a few weeks' and days'
  // instead of 13 weeks'. Every month before the newest day's is filled here
  // from the days (each app's and every app's), each top list capped at
  // 1,000 named values, the most frequent kept, the rest under '(other)'.
  // Week and month lists are also indexed by count (written as a week or
  // month ends, rarely after), so a top list reads their first values
  // without scanning them; day lists, written with every batch, are not.
  `CREATE TABLE analytics_month_counts (
     app TEXT NOT NULL,
     grain TEXT NOT NULL CHECK (grain = 'month'),
     bucket INTEGER NOT NULL,
     views INTEGER NOT NULL,
     visitors INTEGER NOT NULL,
     events INTEGER NOT NULL,
     PRIMARY KEY (app, grain, bucket)
   ) WITHOUT ROWID;
   CREATE TABLE analytics_month_top (
     app TEXT NOT NULL,
     dim TEXT NOT NULL,
     grain TEXT NOT NULL CHECK (grain = 'month'),
     bucket INTEGER NOT NULL,
     value TEXT NOT NULL,
     count INTEGER NOT NULL,
     PRIMARY KEY (app, dim, grain, bucket, value)
   ) WITHOUT ROWID;
   INSERT INTO analytics_month_counts (app, grain, bucket, views, visitors, events)
     WITH days AS (
       SELECT app, views, visitors, events,
         CAST(strftime('%s', bucket / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000
           AS month
       FROM analytics_counts WHERE grain = 'day'
     )
     SELECT app, 'month', month, SUM(views), SUM(visitors), SUM(events) FROM days
     WHERE month < (SELECT CAST(strftime('%s', MAX(bucket) / 1000, 'unixepoch', 'start of month')
         AS INTEGER) * 1000 FROM analytics_counts WHERE app = '' AND grain = 'day')
     GROUP BY app, month;
   INSERT INTO analytics_month_top (app, dim, grain, bucket, value, count)
     WITH days AS (
       SELECT app, dim, value, count,
         CAST(strftime('%s', bucket / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000
           AS month
       FROM analytics_top WHERE grain = 'day'
     ), sums AS (
       SELECT app, dim, month, value, SUM(count) AS n FROM days
       WHERE month < (SELECT MAX(bucket) FROM analytics_month_counts WHERE app = '') + 1
       GROUP BY app, dim, month, value
     ), ranked AS (
       SELECT app, dim, month, value, n, ROW_NUMBER() OVER (
         PARTITION BY app, dim, month ORDER BY value = '(other)', n DESC, value) AS r
       FROM sums
     )
     SELECT app, dim, 'month', month,
       CASE WHEN r <= 1000 AND value <> '(other)' THEN value ELSE '(other)' END AS v, SUM(n)
     FROM ranked GROUP BY app, dim, month, v;
   CREATE INDEX analytics_week_top_by_count ON analytics_week_top (app, dim, grain, bucket, count);
   CREATE INDEX analytics_month_top_by_count
     ON analytics_month_top (app, dim, grain, bucket, count);`,
  // 16: whether a version's code listens on its Deno KV queue (NULL: not
  // known until the code has loaded once), kept so the node starts a
  // stopped app when a message is due, after a restart too; and the leased
  // messages by lease end, so when the next one lapses is one index read.
  `ALTER TABLE builds ADD COLUMN listens_queue INTEGER;
   CREATE INDEX app_denokv_queue_leased ON app_denokv_queue (app_id, leased_until)
     WHERE leased_until IS NOT NULL;`,
  // 17: document inserts add their bytes to app_usage once per transaction
  // and app (storage/pending_usage.ts) instead of in a trigger per row.
  `DROP TRIGGER app_docs_usage_insert;`,
  // 18: Deno KV queue messages count in the app's kv_bytes while they wait
  // (payload and the keys written if undelivered), so `enqueue` is bound by
  // the storage quota like `set`; delivered or dropped, their bytes go. The
  // messages already waiting are counted here.
  `INSERT INTO app_usage (app_id, kv_bytes)
     SELECT app_id, sum(octet_length(payload) + octet_length(undelivered))
     FROM app_denokv_queue WHERE true GROUP BY app_id
     ON CONFLICT (app_id) DO UPDATE SET kv_bytes = kv_bytes + excluded.kv_bytes;
   CREATE TRIGGER app_denokv_queue_usage_insert AFTER INSERT ON app_denokv_queue BEGIN
     INSERT INTO app_usage (app_id, kv_bytes)
       VALUES (new.app_id, octet_length(new.payload) + octet_length(new.undelivered))
       ON CONFLICT (app_id) DO UPDATE SET kv_bytes = kv_bytes + excluded.kv_bytes;
   END;
   CREATE TRIGGER app_denokv_queue_usage_update AFTER UPDATE OF payload, undelivered
     ON app_denokv_queue BEGIN
     UPDATE app_usage SET kv_bytes = kv_bytes
       - octet_length(old.payload) - octet_length(old.undelivered)
       + octet_length(new.payload) + octet_length(new.undelivered)
       WHERE app_id = new.app_id;
   END;
   CREATE TRIGGER app_denokv_queue_usage_delete AFTER DELETE ON app_denokv_queue BEGIN
     UPDATE app_usage SET kv_bytes = kv_bytes
       - octet_length(old.payload) - octet_length(old.undelivered)
       WHERE app_id = old.app_id;
   END;`,
  // 19: the retries of a job a version registered in code (`Deno.cron`'s
  // `backoffSchedule`, a JSON list of waits in ms); NULL: none.
  `ALTER TABLE app_code_crons ADD COLUMN backoff TEXT;`,
];

/** The schema version a fully migrated database has. */
export const LATEST_MIGRATION = MIGRATIONS.length;

export function schemaVersion(db: Database): number {
  return db.get<{ user_version: number }>("PRAGMA user_version")!.user_version;
}

/** Applies every migration above the database's `user_version`, each atomically. */
export function migrate(db: Database, target = LATEST_MIGRATION): void {
  const current = schemaVersion(db);
  if (current > LATEST_MIGRATION) {
    // An older program must not write a schema it does not know (after a
    // downgrade or a rolled-back upgrade, restore the backup taken before it).
    throw new Error(
      `the database is from a newer fazt (schema ${current}; this program knows up to ` +
        `${LATEST_MIGRATION})`,
    );
  }
  for (let n = current + 1; n <= target; n++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[n - 1]);
      db.exec(`PRAGMA user_version = ${n}`);
    });
  }
}
