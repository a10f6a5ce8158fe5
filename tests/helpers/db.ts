// A real, migrated, empty database for one test file: a copy of the template on PostgreSQL
// (DATABASE_URL), or an in-memory PGlite.
import pg from 'pg';
import { inject } from 'vitest';
import { createDb, startEmbedded, useDb, type Db } from '../../src/lib/server/db/index.ts';
import { migrateToLatest } from '../../src/lib/server/db/migrate.ts';
import { databaseUrlFor } from './global-setup.ts';

export interface TestDb {
	db: Db;
	/** The pool under `db` (the job queue runs on it). */
	pool: pg.Pool;
	close(): Promise<void>;
}

export async function createTestDb(): Promise<TestDb> {
	const base = process.env.DATABASE_URL;
	const template = inject('templateDb');
	if (base && template) {
		const name = `msh_t_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
		const admin = new pg.Client({ connectionString: base });
		await admin.connect();
		await admin.query(`create database ${name} template ${template}`);
		const pool = new pg.Pool({ connectionString: databaseUrlFor(base, name), max: 5 });
		const db = createDb(pool);
		return {
			db,
			pool,
			async close() {
				await db.destroy();
				// pg's Pool.end() resolves before its clients have disconnected: wait for the server
				// to see them gone, or the forced drop kills a closing client (an uncaught error).
				const deadline = Date.now() + 10_000;
				while (Date.now() < deadline) {
					const r = await admin.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where datname = $1', [name]);
					if (r.rows[0].n === 0) break;
					await new Promise((resolve) => setTimeout(resolve, 20));
				}
				await admin.query(`drop database if exists ${name} with (force)`);
				await admin.end();
			}
		};
	}
	const embedded = await startEmbedded(undefined);
	const db = createDb(embedded.pool);
	await migrateToLatest(db);
	return {
		db,
		pool: embedded.pool,
		async close() {
			await embedded.close();
		}
	};
}

/** A test database that is also the process-wide one (for code that calls getDb()). */
export async function createSharedTestDb(): Promise<TestDb> {
	const testDb = await createTestDb();
	useDb(testDb.db, testDb.pool);
	return testDb;
}
