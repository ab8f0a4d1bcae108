/**
 * Keeps planner statistics fresh when the server's autovacuum is off. Without statistics a
 * fresh table looks tiny, and Postgres plans a list as "fetch the whole tenant, then sort"
 * instead of walking the (tenant, created_at, id) index. With autovacuum on (the default) this
 * does nothing but one cheap check: the server already analyzes on its own.
 */

type Run = (query: { text: string; values?: unknown[] }) => Promise<Record<string, unknown>[]>;

export interface StatsKeeperOptions {
  /** Runs a statement on the driver's pool. */
  run: Run;
  /** Quoted schema, for ANALYZE. */
  quotedSchema: string;
  /** Bare schema, for the statistics views. */
  schema: string;
  /** Local writes between checks. Default 2,000. */
  checkEveryWrites?: number;
  /** Time between checks, ms. Default 60,000. */
  intervalMs?: number;
}

const TABLES = ["sessions", "items", "operations"];

export class PostgresStatsKeeper {
  readonly #o: Required<StatsKeeperOptions>;
  readonly #timer: NodeJS.Timeout;
  #writes = 0;
  #running = false;
  /** Set once the server is seen to run autovacuum: nothing left to do. */
  #autovacuum = false;

  constructor(options: StatsKeeperOptions) {
    this.#o = { checkEveryWrites: 2_000, intervalMs: 60_000, ...options };
    this.#timer = setInterval(() => void this.check(), this.#o.intervalMs);
    this.#timer.unref();
  }

  /** Counts writes; every `checkEveryWrites` of them triggers a check in the background. */
  noteWrites(count: number): void {
    if (this.#autovacuum) return;
    this.#writes += count;
    if (this.#writes >= this.#o.checkEveryWrites) {
      this.#writes = 0;
      void this.check();
    }
  }

  /** ANALYZEs each table changed by more than 1,000 rows + 10% since its last analysis. */
  async check(): Promise<string[]> {
    if (this.#running || this.#autovacuum) return [];
    this.#running = true;
    try {
      const [setting] = await this.#o.run({ text: "SELECT current_setting('autovacuum') = 'on' AS on" });
      if (setting?.on === true) {
        this.#autovacuum = true;
        clearInterval(this.#timer);
        return [];
      }
      const rows = await this.#o.run({
        text: `SELECT relname FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = ANY ($2)
          AND n_mod_since_analyze > 1000 + 0.1 * n_live_tup`,
        values: [this.#o.schema, TABLES],
      });
      const analyzed: string[] = [];
      for (const row of rows) {
        const table = String(row.relname);
        if (!TABLES.includes(table)) continue;
        await this.#o.run({ text: `ANALYZE ${this.#o.quotedSchema}.${table}` });
        analyzed.push(table);
      }
      return analyzed;
    } catch {
      // Best effort: statistics only steer plans; the next check tries again.
      return [];
    } finally {
      this.#running = false;
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
