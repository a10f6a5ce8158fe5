import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTestDb, type TestDb } from '../helpers/db.ts';

let t: TestDb;
beforeAll(async () => {
	t = await createTestDb();
});
afterAll(async () => {
	await t?.close();
});

test('the audit log refuses updates and deletes', async () => {
	await t.db.insertInto('audit_event').values({ action: 'test.event' }).execute();
	await expect(t.db.deleteFrom('audit_event').execute()).rejects.toThrow(/append-only/);
	await expect(t.db.updateTable('audit_event').set({ action: 'x' }).execute()).rejects.toThrow(/append-only/);
	const rows = await t.db.selectFrom('audit_event').select('action').execute();
	expect(rows).toEqual([{ action: 'test.event' }]);
});
