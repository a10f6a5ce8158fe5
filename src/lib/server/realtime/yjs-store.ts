// Yjs documents in PostgreSQL: an append-only list of updates per document, periodically
// compacted into a single update so that loading stays fast after thousands of edits.
import * as Y from 'yjs';
import type { Db } from '../db/index.ts';

export const COMPACT_EVERY = 200;

export async function loadUpdates(db: Db, docName: string): Promise<{ updates: Uint8Array[]; lastId: string | null }> {
	const rows = await db
		.selectFrom('yjs_update')
		.select(['id', 'update'])
		.where('doc_name', '=', docName)
		.orderBy('id')
		.execute();
	return { updates: rows.map((r) => r.update), lastId: rows.at(-1)?.id ?? null };
}

export async function appendUpdate(db: Db, docName: string, update: Uint8Array): Promise<void> {
	await db.insertInto('yjs_update').values({ doc_name: docName, update }).execute();
}

/**
 * One writer per server for every document's updates: rows that arrive while an INSERT is in
 * flight go together into the next one, so a busy server sends one multi-row INSERT per round trip
 * instead of one per document. Each row's promise settles when its own INSERT has committed.
 */
export class UpdateWriter {
	private pending: { docName: string; update: Uint8Array; resolve: () => void; reject: (e: unknown) => void }[] = [];
	private writing = false;

	constructor(private readonly db: () => Db) {}

	write(docName: string, update: Uint8Array): Promise<void> {
		return new Promise((resolve, reject) => {
			this.pending.push({ docName, update, resolve, reject });
			if (!this.writing) void this.drain();
		});
	}

	private async drain(): Promise<void> {
		this.writing = true;
		while (this.pending.length) {
			const rows = this.pending;
			this.pending = [];
			try {
				await this.db()
					.insertInto('yjs_update')
					.values(rows.map((r) => ({ doc_name: r.docName, update: r.update })))
					.execute();
				for (const r of rows) r.resolve();
			} catch (error) {
				for (const r of rows) r.reject(error);
			}
		}
		this.writing = false;
	}
}

/** Replaces every stored update of the document up to now by one update holding `state`. */
export async function compact(db: Db, docName: string, state: Uint8Array): Promise<void> {
	await db.transaction().execute(async (trx) => {
		const last = await trx
			.selectFrom('yjs_update')
			.select((eb) => eb.fn.max('id').as('id'))
			.where('doc_name', '=', docName)
			.executeTakeFirst();
		if (!last?.id) return;
		await trx.deleteFrom('yjs_update').where('doc_name', '=', docName).where('id', '<=', last.id).execute();
		await trx.insertInto('yjs_update').values({ doc_name: docName, update: state }).execute();
	});
}

export async function countUpdates(db: Db, docName: string): Promise<number> {
	const row = await db
		.selectFrom('yjs_update')
		.select((eb) => eb.fn.countAll<string>().as('n'))
		.where('doc_name', '=', docName)
		.executeTakeFirstOrThrow();
	return Number(row.n);
}

/** Builds the document from storage (used by the server and by read-only projections). */
export async function loadDoc(db: Db, docName: string): Promise<Y.Doc> {
	const doc = new Y.Doc();
	const { updates } = await loadUpdates(db, docName);
	Y.transact(doc, () => {
		for (const u of updates) Y.applyUpdate(doc, u);
	});
	return doc;
}
