// One database handle per process, shared between the SvelteKit bundle and the custom server
// (both load this module, so the handle lives on globalThis).
//
// With DATABASE_URL we talk to PostgreSQL through `pg`. Without it we boot PGlite (PostgreSQL in
// WebAssembly) persisted under DATA_DIR and expose it through pglite-socket, so the very same `pg`
// driver, type parsers and queries are used in both cases: there is no second code path.
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, PostgresDialect, type CompiledQuery, type PostgresPool, type QueryResult } from 'kysely';
import pg from 'pg';
import { config } from '../config.ts';
import { log } from '../log.ts';
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
	return new Kysely<Database>({ dialect: new PostgresDialect({ pool: typeof pool === 'function' ? async () => preparing(await pool()) : preparing(pool) }) });
}

// Named prepared statements for the few statements on hot paths (a message's write, every page's
// session and navigation). PostgreSQL parses and plans a statement of several parts in about as
// long as it runs it (~0.3 ms of a ~0.8 ms message write); named, each connection does that once.
// Kysely has no notion of statement names, so `executePrepared` marks the SQL text with a leading
// comment and the pool's clients pass marked texts to pg as named statements (pg prepares a name
// once per connection). Only statements whose text never varies (values are all parameters) may
// be marked, so that the names stay few; past MAX_PREPARED distinct texts, marked statements run
// unnamed (and a warning says a caller marks a varying text).
const PREPARE_MARK = '/* prepared */ ';
const MAX_PREPARED = 64;
const statementNames = new Map<string, string>();
let warnedTooMany = false;

function statementName(text: string): string | undefined {
	let name = statementNames.get(text);
	if (name) return name;
	if (statementNames.size >= MAX_PREPARED) {
		if (!warnedTooMany) log('warn', 'db: too many prepared statements; a marked statement has a varying text', { max: MAX_PREPARED });
		warnedTooMany = true;
		return undefined;
	}
	name = `p_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
	statementNames.set(text, name);
	return name;
}

const PATCHED = Symbol('prepares marked statements');

/** The pool as Kysely sees it, whose clients run marked statements as named ones. */
function preparing(pool: pg.Pool): PostgresPool {
	return {
		async connect() {
			const client = (await pool.connect()) as pg.PoolClient & { [PATCHED]?: true };
			if (!client[PATCHED]) {
				client[PATCHED] = true;
				// The class's method, looked up on each call (whoever wraps pg.Client's query still sees every statement).
				const query = (...args: unknown[]) => (Object.getPrototypeOf(client).query as (...a: unknown[]) => unknown).apply(client, args);
				client.query = ((text: unknown, ...rest: unknown[]) => {
					const name = typeof text === 'string' && text.startsWith(PREPARE_MARK) ? statementName(text) : undefined;
					return name ? query({ name, text, values: rest[0] }) : query(text, ...rest);
				}) as typeof client.query;
			}
			return client;
		},
		end: () => pool.end()
	};
}

/**
 * Runs a query as a named prepared statement (see PREPARE_MARK): for statements on hot paths whose
 * text does not vary between calls.
 */
export function executePrepared<R>(db: Db, query: { compile(): CompiledQuery<R> } | { compile(db: Db): CompiledQuery<R> }): Promise<QueryResult<R>> {
	// Parenthesised, the method is still called on `query` (builders ignore the argument, raw SQL needs it).
	const compiled = (query.compile as (db: Db) => CompiledQuery<R>)(db);
	return db.executeQuery<R>({ ...compiled, sql: PREPARE_MARK + compiled.sql });
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
