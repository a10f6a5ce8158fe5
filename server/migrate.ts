// `npm run migrate`: brings the configured database (DATABASE_URL, or the embedded one) up to date.
import { closeDb, getDb } from '../src/lib/server/db/index.ts';
import { migrateToLatest } from '../src/lib/server/db/migrate.ts';

const applied = await migrateToLatest(getDb());
console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'Database already up to date.');
await closeDb();
