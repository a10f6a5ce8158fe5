import { sql, type Kysely } from 'kysely';

// Mentions in a busy conversation: one unread in-app notification per person and conversation,
// whatever the number of mentions before they read it (each new mention brings it back to the
// top). The unique index makes this hold under concurrent sends (INSERT … ON CONFLICT), not a
// check before the insert. Older duplicates, which the index would refuse, are marked read; the
// newest of each stays unread.
export async function up(db: Kysely<unknown>): Promise<void> {
	await sql`
	update notification n set read_at = now()
	where n.kind = 'message.mention' and n.read_at is null
		and exists (
			select 1 from notification newer
			where newer.user_id = n.user_id and newer.kind = n.kind and newer.link is not distinct from n.link
				and newer.read_at is null and (newer.created_at, newer.id) > (n.created_at, n.id)
		);
	create unique index notification_unread_once on notification(user_id, kind, link)
		where read_at is null and kind = 'message.mention';
	`.execute(db);
}
