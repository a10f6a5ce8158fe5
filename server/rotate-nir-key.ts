// `npm run nir:rotate`: re-encrypts every NIR with the current key (the first of NIR_KEYS, or of the
// embedded database's .data/nir-keys.json), so that older keys can then be removed.
// With the embedded database, stop the application first: PGlite allows a single process.
import { closeDb, getDb } from '../src/lib/server/db/index.ts';
import { loadNirKeys, rotateNirKeys } from '../src/lib/server/patients/nir.ts';

try {
	const keys = loadNirKeys();
	const count = await rotateNirKeys(getDb(), keys);
	console.log(
		count
			? `Re-encrypted ${count} NIR(s) with key '${keys.current.id}'.`
			: `Every NIR already uses key '${keys.current.id}'.`
	);
} catch (e) {
	console.error(`NIR key rotation failed: ${(e as Error).message}`);
	process.exitCode = 1;
} finally {
	await closeDb();
}
// The embedded database's socket server may outlive closeDb(); everything is committed by now.
process.exit();
