// Starts the production server for the end-to-end tests on a fresh database holding the demo:
// a new PostgreSQL database when DATABASE_URL is set, otherwise a fresh embedded one. A real SMTP
// server runs in this process (SMTP_URL points the app at it); each mail it receives is written to
// the shared directory, where the test workers read codes and links (helpers.ts).
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { startMailbox } from '../helpers/mailbox.ts';
import { e2eSharedDir } from './shared-dir.ts';

// Before anything reads the configuration. Its own namespace in Redis: other runs and the test
// files' servers on the same Redis are not processes of this deployment.
process.env.REDIS_PREFIX ??= `e2e-${process.env.PORT ?? '4173'}`;
const shared = e2eSharedDir(process.env.PORT ?? '4173');
rmSync(shared, { recursive: true, force: true });
mkdirSync(join(shared, 'mail'), { recursive: true });
mkdirSync(join(shared, 'totp'), { recursive: true });
let received = 0;
const mailbox = await startMailbox((mail) => {
	const name = `${String(mail.at).padStart(15, '0')}-${String(++received).padStart(6, '0')}`;
	// Written aside then renamed: a worker never reads half a mail.
	writeFileSync(join(shared, `${name}.tmp`), JSON.stringify({ to: mail.to, subject: mail.subject, text: mail.text, at: mail.at }));
	renameSync(join(shared, `${name}.tmp`), join(shared, 'mail', `${name}.json`));
});
process.env.SMTP_URL = mailbox.url;

const base = process.env.DATABASE_URL;
// Runs on other ports (E2E_PORT) get their own database, so two runs on one machine do not collide.
const suffix = process.env.PORT && process.env.PORT !== '4173' ? `_${process.env.PORT}` : '';
if (base) {
	const name = `msh_e2e${suffix}`;
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
	process.env.DATA_DIR = resolve(`.data-e2e${suffix}`);
	rmSync(process.env.DATA_DIR, { recursive: true, force: true });
}

// The compiled server, as `npm run serve` runs it (npm run build made it).
await import(new URL('../../build/server.js', import.meta.url).href);
