// `npm run migrate`: brings the configured database (DATABASE_URL, or the embedded one) up to date.
const { getDb, closeDb } = await import('../src/lib/server/db/index.ts');
const { migrateToLatest } = await import('../src/lib/server/db/migrate.ts');

const applied = await migrateToLatest(getDb());
console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'Database already up to date.');
await closeDb();
