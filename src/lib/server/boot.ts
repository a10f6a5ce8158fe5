// Start-up: migrate, and on the first start of an empty embedded database, load the demo.
// A database given by DATABASE_URL is never seeded here (use `npm run seed`).
import { getDb, isEmbedded } from './db/index.ts';
import { migrateToLatest } from './db/migrate.ts';
import { log } from './log.ts';

export async function prepareDatabase(): Promise<void> {
	const db = getDb();
	const applied = await migrateToLatest(db);
	if (applied.length) log('info', 'migrations applied', { applied });
	if (!isEmbedded()) return;
	const anyUser = await db.selectFrom('app_user').select('id').limit(1).executeTakeFirst();
	if (!anyUser) {
		// Imported only here: a deployment on its own database never loads the demo.
		const { seedDemo, demoLoginsText } = await import('./demo/seed.ts');
		await seedDemo(db);
		console.log(`\n${demoLoginsText()}\n`);
	}
}
