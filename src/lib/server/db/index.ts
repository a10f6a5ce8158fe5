// One database handle per process, shared between the SvelteKit bundle and the custom server
// (both load this module, so the handle lives on globalThis).
//
// With DATABASE_URL we talk to PostgreSQL through `pg`. Without it we boot PGlite (PostgreSQL in
// WebAssembly) persisted under DATA_DIR and expose it through pglite-socket, so the very same `pg`
// driver, type parsers and queries are used in both cases: there is no second code path.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { config } from '../config.ts';
import type { Database } from './schema.ts';

// Decided once for the whole app: int8/numeric stay strings (pg's default), timestamptz is a Date,
// and a SQL `date` stays a 'YYYY-MM-DD' string (pg would turn it into a local-midnight Date).
pg.types.setTypeParser(1082, (value: string) => value);

export type Db = Kysely<Database>;

/**
 * Runs `fn` in a transaction: the caller's when `db` already is one (so that a function usable on
 * its own can also be one step of a larger atomic change), a new one otherwise.
 */
export function inTransaction<T>(db: Db, fn: (trx: Db) => Promise<T>): Promise<T> {
	return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}

interface Embedded {
	pool: pg.Pool;
	close(): Promise<void>;
}

/** Boots PGlite behind a loopback socket. `dataDir` undefined means in memory (tests). */
export async function startEmbedded(dataDir: string | undefined): Promise<Embedded> {
	const { PGlite } = await import('@electric-sql/pglite');
	const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
	if (dataDir) mkdirSync(dataDir, { recursive: true });
	// btree_gist: the booking tables' exclusion constraints (a professional, a room held once at a time).
	// unaccent: French search of messages folds accents.
	const { btree_gist } = await import('@electric-sql/pglite/contrib/btree_gist');
	const { unaccent } = await import('@electric-sql/pglite/contrib/unaccent');
	const pglite = await PGlite.create(dataDir ? join(dataDir, 'pg') : undefined, { extensions: { btree_gist, unaccent } });
	// PGlite has a single backend: one connection avoids a second client blocking behind
	// another's transaction. The pool below therefore also holds one connection.
	const server = new PGLiteSocketServer({ db: pglite, host: '127.0.0.1', port: 0, maxConnections: 1 });
	await server.start();
	const [host, port] = server.getServerConn().split(':');
	const pool = new pg.Pool({
		host,
		port: Number(port),
		user: 'postgres',
		database: 'postgres',
		max: 1
	});
	return {
		pool,
		async close() {
			await pool.end().catch(() => {}); // already ended when Kysely was destroyed first
			await server.stop();
			await pglite.close();
		}
	};
}

export function createDb(pool: pg.Pool | (() => Promise<pg.Pool>)): Db {
	return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

interface Shared {
	db: Db;
	/** The pool under `db` (the job queue shares it: one connection on the embedded database). */
	pool?: () => Promise<pg.Pool>;
	close(): Promise<void>;
}

const KEY = Symbol.for('microstructures.db');
const g = globalThis as unknown as Record<symbol, Shared | undefined>;

/** The process-wide database. The embedded database boots lazily on the first query. */
export function getDb(): Db {
	let shared = g[KEY];
	if (!shared) {
		if (config.databaseUrl) {
			// Connections are kept for 5 minutes idle, not pg's 10 s: a new PostgreSQL backend pays
			// several milliseconds on its first statements (catalog caches, the French dictionary of
			// message search), which quiet moments would otherwise make every burst pay again.
			const pool = new pg.Pool({ connectionString: config.databaseUrl, max: config.databasePoolMax, idleTimeoutMillis: 5 * 60_000 });
			shared = { db: createDb(pool), pool: async () => pool, close: () => pool.end() };
		} else {
			let embedded: Promise<Embedded> | undefined;
			const boot = () => (embedded ??= startEmbedded(config.dataDir));
			shared = {
				db: createDb(async () => (await boot()).pool),
				pool: async () => (await boot()).pool,
				close: async () => {
					if (embedded) await (await embedded).close();
				}
			};
		}
		g[KEY] = shared;
	}
	return shared.db;
}

/** Makes `db` the process-wide database (tests give each file its own real database). */
export function useDb(db: Db, pool?: pg.Pool): void {
	g[KEY] = { db, pool: pool && (async () => pool), close: async () => {} };
}

/** The process-wide database's pool (for the job queue); undefined when only a Kysely handle was given. */
export async function getPool(): Promise<pg.Pool | undefined> {
	getDb();
	return g[KEY]?.pool?.();
}

export async function closeDb(): Promise<void> {
	const shared = g[KEY];
	g[KEY] = undefined;
	if (shared) {
		await shared.db.destroy().catch(() => {});
		await shared.close().catch(() => {});
	}
}

export function isEmbedded(): boolean {
	return !config.databaseUrl;
}
