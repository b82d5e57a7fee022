import type { Database } from "./database.ts";

export interface Owner {
  username: string;
  password_hash: string;
  created_at: number;
}

/** The single owner account. */
export class OwnerStore {
  constructor(private db: Database) {}

  get(): Owner | undefined {
    return this.db.get<Owner>("SELECT username, password_hash, created_at FROM owner WHERE id = 1");
  }

  set(username: string, passwordHash: string): void {
    this.db.run(
      `INSERT INTO owner (id, username, password_hash, created_at) VALUES (1, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET username = excluded.username,
         password_hash = excluded.password_hash`,
      username,
      passwordHash,
      Date.now(),
    );
  }
}
