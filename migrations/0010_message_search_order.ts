import { sql, type Kysely } from 'kysely';

// Search shows the newest matching messages first. For a rare word the GIN index on
// `message.search` finds the few candidates; for a common one (tens of thousands of matches) it is
// faster to walk the messages newest first and stop at the first page the reader may see: this
// index is that walk (deleted messages are never shown, so they are not in it).
export async function up(db: Kysely<unknown>): Promise<void> {
	await sql`create index message_recent on message (created_at desc, id desc) where deleted_at is null`.execute(db);
}
