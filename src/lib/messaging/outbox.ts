// The browser's outbox (IndexedDB): a message is written here, with the client id the server uses
// as its idempotency key, BEFORE it is sent, and removed only once the server acknowledged it
// after its commit. So a message written offline, or in flight when the connection or the tab
// died, is sent again — and the server, seeing the same client id, never stores it twice.
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { MessageLink } from './types';

export interface OutboxEntry {
	clientId: string;
	/** Whose message (a shared computer: one person's outbox is never sent by another's session). */
	userId: string;
	conversationId: string;
	body: string;
	/** A compte-rendu or PPS version shared with the message (absent in entries written before links). */
	link?: MessageLink | null;
	/** The people the message names with @ (absent in entries written before mentions). */
	mentions?: string[];
	/** Local order: messages are sent in the order they were written. */
	createdAt: number;
	/** The server's refusal (French), shown with "Réessayer" / "Supprimer"; null while it waits. */
	error: string | null;
}

interface OutboxDb extends DBSchema {
	outbox: { key: string; value: OutboxEntry; indexes: { byUser: string } };
}

let dbPromise: Promise<IDBPDatabase<OutboxDb>> | undefined;

function db() {
	dbPromise ??= openDB<OutboxDb>('microstructures-messages', 1, {
		upgrade(database) {
			const store = database.createObjectStore('outbox', { keyPath: 'clientId' });
			store.createIndex('byUser', 'userId');
		}
	});
	return dbPromise;
}

export async function putEntry(entry: OutboxEntry): Promise<void> {
	await (await db()).put('outbox', entry);
}

export async function removeEntry(clientId: string): Promise<void> {
	await (await db()).delete('outbox', clientId);
}

/** This person's waiting messages, oldest first. */
export async function entriesOf(userId: string): Promise<OutboxEntry[]> {
	const all = await (await db()).getAllFromIndex('outbox', 'byUser', userId);
	return all.sort((a, b) => a.createdAt - b.createdAt);
}
