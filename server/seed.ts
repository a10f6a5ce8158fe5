// `npm run seed`: loads the demo into the configured database, explicitly. Refuses a database that
// already has users, so that it can never mix demo people into real data.
import { closeDb, getDb } from '../src/lib/server/db/index.ts';
import { migrateToLatest } from '../src/lib/server/db/migrate.ts';
import { demoLoginsText, seedDemo } from '../src/lib/server/demo/seed.ts';

const db = getDb();
await migrateToLatest(db);
const anyUser = await db.selectFrom('app_user').select('id').limit(1).executeTakeFirst();
if (anyUser) {
	console.error('This database already has users: the demo is only loaded into an empty database.');
	await closeDb();
	process.exit(1);
}
await seedDemo(db);
console.log(demoLoginsText());
await closeDb();
