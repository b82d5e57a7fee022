/**
 * How far a replica has got, read from Litestream's JSON log lines (debug
 * level) and the node's own writes.
 *
 * Litestream works in two loops. Every second it copies the database's new
 * WAL frames into its shadow WAL (`sync` … `sync: ok`); every sync interval
 * it ships the shadow WAL to the replica (`replica sync` names the shadow's
 * position, then `wal segment written` lines carry the replica forward).
 * So once the replica reaches the position a `replica sync` named, it holds
 * every commit made before the start of the shadow copy that ended last
 * before that line: that time is `replicatedThrough`. A write the node made
 * after it is not yet safe; `lagMs` is how long the oldest such write has
 * been waiting (0 when there is none): what losing the machine now would
 * lose at most.
 * @module
 */

/** A place in Litestream's WAL: generation, WAL index, byte offset. */
export interface WalPosition {
  generation: string;
  index: number;
  offset: number;
}

/** One log line of Litestream's that matters here. */
export interface LitestreamLine {
  /** ms since the epoch, from the line's own `time`. */
  time: number;
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

/** `784dd68e825b8a4d/00000001:4152` */
export function parsePosition(text: unknown): WalPosition | undefined {
  if (typeof text !== "string") return undefined;
  const m = /^([0-9a-f]{1,64})\/([0-9a-f]{1,16}):(\d{1,18})$/.exec(text);
  return m ? { generation: m[1], index: parseInt(m[2], 16), offset: Number(m[3]) } : undefined;
}

export function formatPosition(p: WalPosition): string {
  return `${p.generation}/${p.index.toString(16).padStart(8, "0")}:${p.offset}`;
}

/** Whether `a` is at or past `b` (never, across generations). */
export function atOrPast(a: WalPosition, b: WalPosition): boolean {
  if (a.generation !== b.generation) return false;
  return a.index > b.index || (a.index === b.index && a.offset >= b.offset);
}

/**
 * A JSON line of Litestream's, or `undefined` for anything else and for the
 * per-commit `copy-shadow` chatter (skipped before parsing: under load there
 * is one per commit). Each shadow copy's last line, `copy-shadow: break`,
 * is kept: it says where the copy ended.
 */
export function parseLitestreamLine(line: string): LitestreamLine | undefined {
  if (!line.startsWith("{")) return undefined;
  if (line.includes('"msg":"copy-shadow"') || line.includes('"msg":"copy-shadow: ok"')) {
    return undefined;
  }
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof raw !== "object" || raw === null || typeof raw.msg !== "string") return undefined;
  const { time, level, msg, ...fields } = raw;
  const at = typeof time === "string" ? Date.parse(time) : NaN;
  return {
    time: Number.isFinite(at) ? at : Date.now(),
    level: typeof level === "string" ? level : "INFO",
    msg,
    fields,
  };
}

/** Messages that report a failure (Litestream keeps running after each). */
const ERRORS = new Set([
  "sync error",
  "monitor error",
  "snapshotter error",
  "retainer error",
  "validation error",
  "failed to run",
  "cannot start metrics server",
]);

export class ReplicaProgress {
  /** Where Litestream's shadow copy of the database is (as of its last replica sync). */
  localPosition: WalPosition | null = null;
  /** How far the replica holds that copy. */
  replicaPosition: WalPosition | null = null;
  /** Every commit before this time (ms) is on the replica. */
  replicatedThrough: number | null = null;
  /** The last time something was written to the replica. */
  syncedAt: number | null = null;
  lastError: { at: number; message: string } | null = null;
  lastWriteAt: number | null = null;
  #pendingSince: number | null = null;
  #shadowStart: number | null = null;
  #shadowEnd: WalPosition | null = null;
  #shadowDone: number | null = null;
  #target: { position: WalPosition; through: number | null } | null = null;

  /** The node wrote (committed) at `at`. */
  noteWrite(at: number): void {
    this.lastWriteAt = at;
    this.#pendingSince ??= at;
  }

  /** A new Litestream process: positions are unknown until it says. */
  restarted(): void {
    this.localPosition = null;
    this.replicaPosition = null;
    this.#shadowStart = null;
    this.#shadowEnd = null;
    this.#shadowDone = null;
    this.#target = null;
  }

  /** How long the oldest write not yet on the replica has waited (ms); 0 when none. */
  lagMs(now: number): number {
    return this.#pendingSince === null ? 0 : Math.max(0, now - this.#pendingSince);
  }

  /** Takes one parsed line into account. */
  feed(line: LitestreamLine): void {
    const { msg, fields, time } = line;
    if (ERRORS.has(msg) || line.level === "ERROR") {
      const detail = typeof fields.error === "string" ? `: ${fields.error}` : "";
      this.lastError = { at: time, message: `${msg}${detail}` };
      // A failed replica sync forgets its position (Litestream recomputes it).
      if (msg === "monitor error") this.replicaPosition = null;
      return;
    }
    switch (msg) {
      case "sync":
        this.#shadowStart = time;
        this.#shadowEnd = null;
        return;
      case "copy-shadow: break": {
        const m = /generations\/([0-9a-f]+)\/wal\/([0-9a-f]+)\.wal$/.exec(String(fields.filename));
        const offset = Number(fields.offset);
        if (m && Number.isFinite(offset)) {
          this.#shadowEnd = { generation: m[1], index: parseInt(m[2], 16), offset };
        }
        return;
      }
      case "sync: ok": {
        this.#shadowDone = this.#shadowStart;
        // Nothing new since the replica's last write: the replica already
        // holds every commit made before this copy began.
        const end = this.#shadowEnd;
        if (end) this.localPosition = end;
        if (end && this.replicaPosition && atOrPast(this.replicaPosition, end)) {
          this.#advance(this.#shadowDone);
        }
        return;
      }
      case "replica sync": {
        const position = parsePosition(fields.position);
        if (!position) return;
        this.localPosition = position;
        this.#target = { position, through: this.#shadowDone };
        this.#check();
        return;
      }
      case "replica sync: calc new pos": {
        this.replicaPosition = parsePosition(fields.position) ?? null;
        this.#check();
        return;
      }
      case "snapshot written":
        this.syncedAt = time;
        return;
      case "wal segment written": {
        const start = parsePosition(fields.position);
        const size = Number(fields.sz);
        if (!start || !Number.isFinite(size)) return;
        this.replicaPosition = { ...start, offset: start.offset + size };
        this.syncedAt = time;
        this.#check();
        return;
      }
    }
  }

  /** The replica reached the position its last sync aimed at: move `replicatedThrough`. */
  #check(): void {
    const target = this.#target;
    if (!target || !this.replicaPosition || !atOrPast(this.replicaPosition, target.position)) {
      return;
    }
    this.#target = null;
    this.#advance(target.through);
  }

  #advance(through: number | null): void {
    if (through === null) return;
    this.replicatedThrough = Math.max(this.replicatedThrough ?? 0, through);
    if (this.lastWriteAt === null || this.lastWriteAt <= through) this.#pendingSince = null;
    else if (this.#pendingSince !== null && this.#pendingSince < through) {
      this.#pendingSince = through;
    }
  }
}
