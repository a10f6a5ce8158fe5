// In-app notifications (RCP decisions today; messages and bookings later). Rows first, then a
// live nudge to the user's open tabs so the counter moves without a reload.
import { sql } from 'kysely';
import type { Db } from '../db/index.ts';

export interface NewNotification {
	kind: string;
	title: string;
	body?: string;
	link?: string | null;
}

/**
 * Kinds kept to one unread notification per person and link: a new one brings the unread one back
 * to the top instead of piling up (ten mentions in a lively conversation are one thing to look
 * at). Mirrors the partial unique index `notification_unread_once` (migration 0013), which makes it
 * hold under concurrent sends.
 */
const ONE_UNREAD_PER_LINK = new Set(['message.mention']);

export async function notify(db: Db, userIds: string[], n: NewNotification): Promise<void> {
	const unique = [...new Set(userIds)];
	if (unique.length === 0) return;
	// Sorted: concurrent coalescing inserts take their row locks in the same order (no deadlock).
	const rows = unique.sort().map((user_id) => ({ user_id, kind: n.kind, title: n.title, body: n.body ?? '', link: n.link ?? null }));
	const insert = db.insertInto('notification').values(rows);
	if (!ONE_UNREAD_PER_LINK.has(n.kind)) return void (await insert.execute());
	await insert
		.onConflict((oc) =>
			oc
				.columns(['user_id', 'kind', 'link'])
				.where('read_at', 'is', null)
				// A literal: PostgreSQL must see that this is the index's predicate (a parameter would not do).
				.where('kind', '=', sql.lit(n.kind))
				.doUpdateSet((eb) => ({ created_at: sql`now()`, title: eb.ref('excluded.title'), body: eb.ref('excluded.body') }))
		)
		.execute();
}

export async function unreadCount(db: Db, userId: string): Promise<number> {
	const r = await unreadCountQuery(db, userId).executeTakeFirst();
	return Number(r?.n ?? 0);
}

/** unreadCount's query, for a caller that asks it together with others (the root layout: one round trip). */
export function unreadCountQuery(db: Db, userId: string) {
	return db.selectFrom('notification').select((eb) => eb.fn.countAll<string>().as('n')).where('user_id', '=', userId).where('read_at', 'is', null);
}

export function listNotifications(db: Db, userId: string, limit = 50) {
	return db.selectFrom('notification').select(['id', 'kind', 'title', 'body', 'link', 'created_at', 'read_at']).where('user_id', '=', userId).orderBy('created_at', 'desc').limit(limit).execute();
}

export async function markAllRead(db: Db, userId: string): Promise<void> {
	await db.updateTable('notification').set({ read_at: new Date() }).where('user_id', '=', userId).where('read_at', 'is', null).execute();
}
