// Starts the production server for the end-to-end tests on a fresh database holding the demo:
// a new PostgreSQL database when DATABASE_URL is set, otherwise a fresh embedded one.
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import pg from 'pg';

const base = process.env.DATABASE_URL;
if (base) {
	const name = 'msh_e2e';
	const admin = new pg.Client({ connectionString: base });
	await admin.connect();
	await admin.query(`drop database if exists ${name} with (force)`);
	await admin.query(`create database ${name}`);
	await admin.end();
	const url = new URL(base);
	url.pathname = `/${name}`;
	process.env.DATABASE_URL = url.toString();
	// A real database needs an explicit NIR key; the test run makes a throwaway one.
	process.env.NIR_KEYS ??= `e2e:${(await import('node:crypto')).randomBytes(32).toString('base64')}`;
	const { getDb } = await import('../../src/lib/server/db/index.ts');
	const { migrateToLatest } = await import('../../src/lib/server/db/migrate.ts');
	const { seedDemo } = await import('../../src/lib/server/demo/seed.ts');
	await migrateToLatest(getDb());
	await seedDemo(getDb());
} else {
	process.env.DATA_DIR = resolve('.data-e2e');
	rmSync(process.env.DATA_DIR, { recursive: true, force: true });
}
await import('../../server/index.ts');
