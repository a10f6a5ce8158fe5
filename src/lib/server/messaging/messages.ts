// Messages of a conversation: posted exactly once (the sender's client id is the idempotency key),
// ordered by a sequence the server assigns under the conversation's row lock, read positions that
// only move forward, corrections within 15 minutes with the original kept in the audit trail.
// Callers have opened the conversation through conversations.ts (the policy said yes).
import { randomUUID } from 'node:crypto';
import { sql, type RawBuilder } from 'kysely';
import { executePrepared, type Db } from '../db/index.ts';
import type { MessageLink } from '../db/schema.ts';
import { audit, auditFrom, type AuditContext, type AuditEntry } from '../audit/audit.ts';
import { isUuid } from '../org/microstructures.ts';
import { isCleanText } from '../input.ts';
import type { OpenedConversation } from './conversations.ts';

export const MAX_BODY = 4000;
export const EDIT_WINDOW_MS = 15 * 60_000;
const PAGE = 100;

export interface AttachmentInfo {
	id: string;
	kind: 'file' | 'image' | 'voice';
	filename: string;
	contentType: string;
	size: number;
	durationMs: number | null;
	hasThumbnail: boolean;
}

export interface MessagePayload {
	id: string;
	conversationId: string;
	seq: number;
	senderId: string;
	senderName: string;
	clientId: string;
	body: string;
	link: MessageLink | null;
	mentions: string[];
	createdAt: string;
	editedAt: string | null;
	deletedAt: string | null;
	attachments: AttachmentInfo[];
}

export type PostResult = { ok: true; message: MessagePayload; duplicate: boolean } | { ok: false; error: string };

export interface NewMessage {
	clientId: string;
	body: string;
	link?: MessageLink | null;
	mentions?: string[];
}

/** The audit entry of something done to a conversation: patient threads are patient data. */
export function conversationAudit(c: Pick<OpenedConversation, 'row' | 'microstructure'>, action: string, details: Record<string, unknown> = {}): AuditEntry {
	if (c.row.kind === 'patient') {
		return { action, targetType: 'patient', targetId: c.row.patient_id!, microstructureId: c.microstructure?.id, networkId: c.microstructure?.networkId, details: { conversation: c.row.id, ...details } };
	}
	return { action, targetType: 'conversation', targetId: c.row.id, microstructureId: c.microstructure?.id ?? null, networkId: c.microstructure?.networkId ?? null, details };
}

export function validateBody(body: unknown, allowEmpty = false): { ok: true; body: string } | { ok: false; error: string } {
	if (typeof body !== 'string') return { ok: false, error: 'Message invalide.' };
	const text = body.replace(/\r\n?/g, '\n').trim();
	if (!allowEmpty && text.length === 0) return { ok: false, error: 'Le message est vide.' };
	if (text.length > MAX_BODY) return { ok: false, error: `Le message dépasse ${MAX_BODY} caractères.` };
	if (!isCleanText(text)) return { ok: false, error: 'Le message contient des caractères non autorisés.' };
	return { ok: true, body: text };
}

const selectMessage = (db: Db) =>
	db
		.selectFrom('message as m')
		.innerJoin('app_user as u', 'u.id', 'm.sender_id')
		.select([
			'm.id',
			'm.conversation_id',
			'm.seq',
			'm.sender_id',
			'm.client_id',
			'm.body',
			'm.link',
			'm.mentions',
			'm.created_at',
			'm.edited_at',
			'm.deleted_at',
			sql<string>`u.first_name || ' ' || u.last_name`.as('sender_name'),
			sql<AttachmentInfo[]>`coalesce((select json_agg(json_build_object('id', a.id, 'kind', a.kind, 'filename', a.filename, 'contentType', a.content_type, 'size', a.size, 'durationMs', a.duration_ms, 'hasThumbnail', a.thumbnail is not null) order by a.created_at) from message_attachment a where a.message_id = m.id), '[]'::json)`.as(
				'attachments'
			)
		]);

type MessageRow = Awaited<ReturnType<ReturnType<typeof selectMessage>['executeTakeFirstOrThrow']>>;

function toPayload(r: MessageRow): MessagePayload {
	const deleted = r.deleted_at !== null;
	return {
		id: r.id,
		conversationId: r.conversation_id,
		seq: Number(r.seq),
		senderId: r.sender_id,
		senderName: r.sender_name,
		clientId: r.client_id,
		body: deleted ? '' : r.body,
		link: deleted ? null : r.link,
		mentions: r.mentions,
		createdAt: r.created_at.toISOString(),
		editedAt: r.edited_at?.toISOString() ?? null,
		deletedAt: r.deleted_at?.toISOString() ?? null,
		attachments: deleted ? [] : r.attachments
	};
}

export async function messageById(db: Db, id: string): Promise<MessagePayload | null> {
	const r = await selectMessage(db).where('m.id', '=', id).executeTakeFirst();
	return r ? toPayload(r) : null;
}

function isUniqueViolation(error: unknown): boolean {
	return typeof error === 'object' && error !== null && (error as { code?: string }).code === '23505';
}

/**
 * Posts a message once. A client id already used by this sender returns the stored message
 * (duplicate: true) when it is the same conversation, and an error otherwise; the insert races of
 * two resends are settled by the unique constraint. `attach` runs inside the transaction (files).
 */
export async function postMessage(
	db: Db,
	ctx: AuditContext & { actorId: string },
	c: OpenedConversation,
	input: NewMessage,
	attach?: (trx: Db, messageId: string) => Promise<void>
): Promise<PostResult> {
	if (c.access !== 'rw') return { ok: false, error: 'Cette conversation est en lecture seule.' };
	if (typeof input.clientId !== 'string' || !isUuid(input.clientId)) return { ok: false, error: 'Message invalide.' };
	const checked = validateBody(input.body, attach !== undefined || (input.link ?? null) !== null);
	if (!checked.ok) return checked;
	// No lookup first: a resend is the rare case, and the unique (sender, client id) constraint
	// catches it (the failed transaction takes its sequence number back with it).
	const mentions = [...new Set(input.mentions ?? [])].filter((id) => isUuid(id)).slice(0, 50);
	const id = randomUUID();
	// One statement, so one round trip and one commit: the conversation's next number (its row lock
	// orders concurrent posts), the message, the sender's read position and the audit row.
	const write = (q: Db) =>
		executePrepared(q, sql<Omit<MessageRow, 'attachments'>>`
			with s as (
				update conversation set last_seq = last_seq + 1, last_message_at = now() where id = ${c.row.id} returning last_seq
			), m as (
				insert into message (id, conversation_id, seq, sender_id, client_id, body, link, mentions)
				select ${id}::uuid, ${c.row.id}::uuid, s.last_seq, ${ctx.actorId}::uuid, ${input.clientId}::uuid, ${checked.body}::text,
					${input.link ? JSON.stringify(input.link) : null}::jsonb, ${mentions}::uuid[]
				from s
				returning id, conversation_id, seq, sender_id, client_id, body, link, mentions, created_at, edited_at, deleted_at
			), r as (
				${upsertRead(sql`select conversation_id, sender_id, seq from m`)}
			), a as (
				${auditFrom('m', ctx, conversationAudit(c, 'message.posted', { message: id }))}
			)
			select m.*, (select u.first_name || ' ' || u.last_name from app_user u where u.id = m.sender_id) as sender_name from m`).then((r) => r.rows[0]);
	try {
		if (!attach) {
			const posted = await write(db);
			return posted ? { ok: true, message: toPayload({ ...posted, attachments: [] }), duplicate: false } : { ok: false, error: 'Conversation introuvable.' };
		}
		const posted = await db.transaction().execute(async (trx) => {
			const row = await write(trx);
			if (row) await attach(trx, row.id);
			return row;
		});
		// Attachments were written by `attach`: read them back with the message.
		return posted ? { ok: true, message: (await messageById(db, posted.id))!, duplicate: false } : { ok: false, error: 'Conversation introuvable.' };
	} catch (error) {
		if (!isUniqueViolation(error)) throw error;
		const again = await findByClientId(db, ctx.actorId, input.clientId, c.row.id);
		if (again) return again;
		throw error;
	}
}

async function findByClientId(db: Db, senderId: string, clientId: string, conversationId: string): Promise<PostResult | null> {
	const r = await selectMessage(db).where('m.sender_id', '=', senderId).where('m.client_id', '=', clientId).executeTakeFirst();
	if (!r) return null;
	if (r.conversation_id !== conversationId) return { ok: false, error: 'Ce message a déjà été envoyé ailleurs.' };
	return { ok: true, message: toPayload(r), duplicate: true };
}

/**
 * Messages in order: the latest page, those after `afterSeq` (catching up after a reconnection),
 * or those before `beforeSeq` (scrolling back).
 */
export async function listMessages(db: Db, conversationId: string, opts: { afterSeq?: number; beforeSeq?: number; limit?: number } = {}): Promise<MessagePayload[]> {
	const limit = Math.min(Math.max(opts.limit ?? PAGE, 1), 500);
	let q = selectMessage(db).where('m.conversation_id', '=', conversationId);
	if (opts.afterSeq !== undefined) {
		const rows = await q.where('m.seq', '>', String(opts.afterSeq)).orderBy('m.seq', 'asc').limit(limit).execute();
		return rows.map(toPayload);
	}
	if (opts.beforeSeq !== undefined) q = q.where('m.seq', '<', String(opts.beforeSeq));
	const rows = await q.orderBy('m.seq', 'desc').limit(limit).execute();
	return rows.reverse().map(toPayload);
}

/** Moves read positions forward only, never back: the rows of `rows`, a SELECT or VALUES of (conversation, user, seq). */
function upsertRead(rows: RawBuilder<unknown>) {
	return sql`insert into conversation_read (conversation_id, user_id, last_read_seq) ${rows}
		on conflict (conversation_id, user_id) do update set
			last_read_seq = greatest(conversation_read.last_read_seq, excluded.last_read_seq),
			read_at = case when excluded.last_read_seq > conversation_read.last_read_seq then now() else conversation_read.read_at end`;
}

/** Moves the reader's position forward (never back, never past the last message); returns it. */
export async function markRead(db: Db, userId: string, c: OpenedConversation, seq: unknown): Promise<number | null> {
	if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return null;
	// Never past the last message: the conversation's own counter caps it in the same statement.
	const { rows } = await sql<{ last_read_seq: string }>`${upsertRead(
		sql`select id, ${userId}::uuid, least(${seq}::bigint, last_seq) from conversation where id = ${c.row.id}`
	)} returning last_read_seq`.execute(db);
	return rows[0] ? Number(rows[0].last_read_seq) : null;
}

/** Where each reader of a conversation is (read receipts: a message is read by those at or past its seq). */
export async function readPositions(db: Db, conversationId: string, readers: string[]) {
	if (readers.length === 0) return [];
	const rows = await db
		.selectFrom('app_user as u')
		.leftJoin('conversation_read as r', (j) => j.onRef('r.user_id', '=', 'u.id').on('r.conversation_id', '=', conversationId))
		.select(['u.id', 'u.first_name', 'u.last_name', sql<string>`coalesce(r.last_read_seq, 0)`.as('seq'), 'r.read_at'])
		.where('u.id', 'in', readers)
		.orderBy('u.last_name')
		.execute();
	return rows.map((r) => ({ userId: r.id, name: `${r.first_name} ${r.last_name}`, seq: Number(r.seq), readAt: r.read_at?.toISOString() ?? null }));
}

type Correction = { ok: true; message: MessagePayload } | { ok: false; error: string };

async function ownRecentMessage(db: Db, userId: string, c: OpenedConversation, messageId: unknown) {
	if (typeof messageId !== 'string' || !isUuid(messageId)) return { error: 'Message introuvable.' } as const;
	const m = await db
		.selectFrom('message')
		.select(['id', 'sender_id', 'body', 'created_at', 'deleted_at'])
		.where('id', '=', messageId)
		.where('conversation_id', '=', c.row.id)
		.forUpdate()
		.executeTakeFirst();
	if (!m) return { error: 'Message introuvable.' } as const;
	if (m.sender_id !== userId) return { error: 'Vous ne pouvez corriger que vos propres messages.' } as const;
	if (m.deleted_at) return { error: 'Ce message a été supprimé.' } as const;
	if (Date.now() - m.created_at.getTime() > EDIT_WINDOW_MS) return { error: 'Un message se corrige dans les 15 minutes après son envoi.' } as const;
	return { message: m } as const;
}

/** Edits one's own message within 15 minutes; the previous text goes to the audit trail. */
export async function editMessage(db: Db, ctx: AuditContext & { actorId: string }, c: OpenedConversation, messageId: unknown, body: unknown): Promise<Correction> {
	if (c.access !== 'rw') return { ok: false, error: 'Cette conversation est en lecture seule.' };
	const checked = validateBody(body);
	if (!checked.ok) return checked;
	const result = await db.transaction().execute(async (trx) => {
		const found = await ownRecentMessage(trx, ctx.actorId, c, messageId);
		if ('error' in found) return { ok: false as const, error: found.error! };
		if (found.message.body === checked.body) return { ok: true as const, id: found.message.id };
		await trx.updateTable('message').set({ body: checked.body, edited_at: sql`now()` }).where('id', '=', found.message.id).execute();
		await audit(trx, ctx, conversationAudit(c, 'message.edited', { message: found.message.id, previous: found.message.body }));
		return { ok: true as const, id: found.message.id };
	});
	if (!result.ok) return result;
	return { ok: true, message: (await messageById(db, result.id))! };
}

/** Deletes one's own message within 15 minutes: marked "supprimé" for all, the text kept in the audit trail. */
export async function deleteMessage(db: Db, ctx: AuditContext & { actorId: string }, c: OpenedConversation, messageId: unknown): Promise<Correction> {
	if (c.access !== 'rw') return { ok: false, error: 'Cette conversation est en lecture seule.' };
	const result = await db.transaction().execute(async (trx) => {
		const found = await ownRecentMessage(trx, ctx.actorId, c, messageId);
		if ('error' in found) return { ok: false as const, error: found.error! };
		const files = await trx.selectFrom('message_attachment').select(['filename']).where('message_id', '=', found.message.id).execute();
		await trx.updateTable('message').set({ deleted_at: sql`now()`, body: '', link: null }).where('id', '=', found.message.id).execute();
		await trx.deleteFrom('message_attachment').where('message_id', '=', found.message.id).execute();
		await audit(trx, ctx, conversationAudit(c, 'message.deleted', { message: found.message.id, previous: found.message.body, attachments: files.map((f) => f.filename) }));
		return { ok: true as const, id: found.message.id };
	});
	if (!result.ok) return result;
	return { ok: true, message: (await messageById(db, result.id))! };
}
