// Yjs documents in PostgreSQL: an append-only list of updates per document, periodically
// compacted into a single update so that loading stays fast after thousands of edits.
import { performance } from 'node:perf_hooks';
import * as Y from 'yjs';
import type { Db } from '../db/index.ts';

/** The longest the writer keeps the event loop before letting other work run. */
const SLICE_MS = 1;

/** A document's stored rows in order, all of them or those after `afterId`. */
export async function loadUpdates(db: Db, docName: string, afterId: string | null = null): Promise<{ updates: Uint8Array[]; lastId: string | null }> {
	let query = db.selectFrom('yjs_update').select(['id', 'update']).where('doc_name', '=', docName);
	if (afterId !== null) query = query.where('id', '>', afterId);
	const rows = await query.orderBy('id').execute();
	return { updates: rows.map((r) => r.update), lastId: rows.at(-1)?.id ?? null };
}

/**
 * Several documents' stored rows in one round trip (loadUpdates of each), in the order asked: the
 * documents opened by a reconnect storm are read together (YjsServer).
 */
export async function loadManyUpdates(db: Db, docNames: string[]): Promise<{ updates: Uint8Array[]; lastId: string | null }[]> {
	const rows = await db.selectFrom('yjs_update').select(['doc_name', 'id', 'update']).where('doc_name', 'in', [...new Set(docNames)]).orderBy('doc_name').orderBy('id').execute();
	const byDoc = new Map<string, { updates: Uint8Array[]; lastId: string | null }>();
	for (const row of rows) {
		let doc = byDoc.get(row.doc_name);
		if (!doc) byDoc.set(row.doc_name, (doc = { updates: [], lastId: null }));
		doc.updates.push(row.update);
		doc.lastId = row.id;
	}
	return docNames.map((name) => byDoc.get(name) ?? { updates: [], lastId: null });
}

export async function appendUpdate(db: Db, docName: string, update: Uint8Array): Promise<void> {
	await db.insertInto('yjs_update').values({ doc_name: docName, update }).execute();
}

/** What a document hands to the writer when its turn comes: its waiting updates as one row. */
export interface PendingRow {
	docName: string;
	row: Uint8Array;
	/** Called once the row is committed. */
	stored(): void;
	/** Called when the INSERT failed: nothing of the row is stored. */
	failed(error: unknown): void;
}

/** A document with updates waiting to be stored. */
export interface DirtyDoc {
	/** Takes everything waiting (null when nothing is); called at flush time, synchronously. */
	takeRow(): PendingRow | null;
}

/**
 * One writer per server for every document's updates (group commit): documents with new updates
 * are marked dirty and, every `intervalMs`, each dirty document's updates go as one merged row into
 * one multi-row INSERT. A busy server thus commits a few times per second instead of once per
 * keystroke, and its PostgreSQL round trips stop competing with live sync for the CPU.
 */
export class UpdateWriter {
	private dirty = new Set<DirtyDoc>();
	private timer: NodeJS.Timeout | undefined;
	private inFlight: Promise<void> | null = null;
	private failures = 0;

	constructor(
		private readonly db: () => Db,
		private readonly intervalMs: number
	) {}

	markDirty(doc: DirtyDoc): void {
		this.dirty.add(doc);
		this.schedule();
	}

	private schedule(): void {
		if (this.timer || this.inFlight || this.dirty.size === 0) return;
		// After failures, wait longer: a database that is down is not hammered every interval.
		const delay = this.intervalMs * 2 ** Math.min(this.failures, 6);
		this.timer = setTimeout(() => void this.flush(), delay);
	}

	/** Stores everything marked dirty so far; resolves once that is committed (or has failed). */
	async flush(): Promise<void> {
		clearTimeout(this.timer);
		this.timer = undefined;
		while (this.inFlight) await this.inFlight;
		// One turn at a time, gathering included: two rows of one document in two INSERTs at once
		// could commit out of order, and the later one's acknowledgement would cover the other.
		const turn = this.takeAndWrite();
		this.inFlight = turn;
		try {
			await turn;
		} finally {
			this.inFlight = null;
			this.schedule();
		}
	}

	private async takeAndWrite(): Promise<void> {
		const docs = [...this.dirty];
		this.dirty.clear();
		const rows: PendingRow[] = [];
		let slice = performance.now();
		for (const doc of docs) {
			// Merging many documents' updates takes milliseconds: let live sync run in between.
			if (performance.now() - slice > SLICE_MS) {
				await new Promise((resolve) => setImmediate(resolve));
				slice = performance.now();
			}
			const row = doc.takeRow();
			if (row) rows.push(row);
		}
		if (rows.length > 0) await this.write(rows);
	}

	private async write(rows: PendingRow[]): Promise<void> {
		const error = await this.insert(rows);
		if (!error) {
			this.failures = 0;
			for (const r of rows) r.stored();
			return;
		}
		if (rows.length === 1) {
			this.failures++;
			rows[0].failed(error);
			return;
		}
		// One document's row may be what the database refused: it must not hold back the others.
		let anyStored = false;
		for (const r of rows) {
			const rowError = await this.insert([r]);
			if (rowError) r.failed(rowError);
			else {
				r.stored();
				anyStored = true;
			}
		}
		this.failures = anyStored ? 0 : this.failures + 1;
	}

	/** Inserts the rows in one statement; returns the error, if any. */
	private async insert(rows: PendingRow[]): Promise<Error | null> {
		try {
			await this.db()
				.insertInto('yjs_update')
				.values(rows.map((r) => ({ doc_name: r.docName, update: r.row })))
				.execute();
			return null;
		} catch (error) {
			return error instanceof Error ? error : new Error(String(error));
		}
	}
}

/**
 * Replaces the stored rows of a document by one row holding their merged state. It merges what is
 * stored, not what this process holds in memory, and deletes exactly the rows it read (locked
 * meanwhile): another process's row, committed or not yet, is never dropped unread.
 */
export async function compact(db: Db, docName: string): Promise<void> {
	await db.transaction().execute(async (trx) => {
		const rows = await trx
			.selectFrom('yjs_update')
			.select(['id', 'update'])
			.where('doc_name', '=', docName)
			.orderBy('id')
			.forUpdate()
			.execute();
		if (rows.length < 2) return;
		const doc = new Y.Doc({ gc: true });
		Y.transact(doc, () => {
			for (const r of rows) Y.applyUpdate(doc, r.update);
		});
		// Updates held back for a missing dependency are part of the encoded state: nothing is lost.
		const state = Y.encodeStateAsUpdate(doc);
		doc.destroy();
		await trx
			.deleteFrom('yjs_update')
			.where('id', 'in', rows.map((r) => r.id))
			.execute();
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
