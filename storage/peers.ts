import type { Database } from "./database.ts";

export interface Peer {
  name: string;
  url: string;
  token: string;
  is_default: boolean;
  last_seen_at: number | null;
  version: string | null;
  created_at: number;
}

type PeerRow = Omit<Peer, "is_default"> & { is_default: number };

function fromRow(row: PeerRow): Peer {
  return { ...row, is_default: row.is_default === 1 };
}

/** Other fazt nodes (and this one, as `local`) that the CLI can drive. */
export class PeerStore {
  constructor(private db: Database) {}

  list(): Peer[] {
    return this.db.all<PeerRow>("SELECT * FROM peers ORDER BY name").map(fromRow);
  }

  get(name: string): Peer | undefined {
    const row = this.db.get<PeerRow>("SELECT * FROM peers WHERE name = ?", name);
    return row && fromRow(row);
  }

  /** The default peer, or the only one when there is exactly one. */
  getDefault(): Peer | undefined {
    const peers = this.list();
    return peers.find((p) => p.is_default) ?? (peers.length === 1 ? peers[0] : undefined);
  }

  /** Adds or replaces a peer; the first peer becomes the default. */
  upsert(name: string, url: string, token: string): void {
    this.db.transaction(() => {
      const hasDefault = this.db.get("SELECT 1 FROM peers WHERE is_default = 1") !== undefined;
      this.db.run(
        `INSERT INTO peers (name, url, token, is_default, created_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET url = excluded.url, token = excluded.token`,
        name,
        url,
        token,
        hasDefault ? 0 : 1,
        Date.now(),
      );
    });
  }

  setDefault(name: string): boolean {
    return this.db.transaction(() => {
      if (!this.get(name)) return false;
      this.db.run("UPDATE peers SET is_default = (name = ?)", name);
      return true;
    });
  }

  remove(name: string): boolean {
    return this.db.run("DELETE FROM peers WHERE name = ?", name).changes > 0;
  }

  /** Records that a peer answered just now, and the version it runs. */
  markSeen(name: string, version: string): void {
    this.db.run(
      "UPDATE peers SET last_seen_at = ?, version = ? WHERE name = ?",
      Date.now(),
      version,
      name,
    );
  }
}
