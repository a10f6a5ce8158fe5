// In-app notifications (RCP decisions today; messages and bookings later). Rows first, then a
// live nudge to the user's open tabs so the counter moves without a reload.
import type { Db } from '../db/index.ts';

export interface NewNotification {
	kind: string;
	title: string;
	body?: string;
	link?: string | null;
}

export async function notify(db: Db, userIds: string[], n: NewNotification): Promise<void> {
	const unique = [...new Set(userIds)];
	if (unique.length === 0) return;
	await db
		.insertInto('notification')
		.values(unique.map((user_id) => ({ user_id, kind: n.kind, title: n.title, body: n.body ?? '', link: n.link ?? null })))
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
