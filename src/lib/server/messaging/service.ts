// What people do with messages, for every entry point (socket events, form actions, uploads):
// open a conversation (audited for patient threads), send, read, correct, type. Each delivers what
// changed to exactly the people who may read the conversation now, through the live layer (no
// transport imported here), and hands new messages to the notifications.
import type { Db } from '../db/index.ts';
import type { Actor } from '../access/policy.ts';
import { audit, type AuditContext } from '../audit/audit.ts';
import { emitToUsers } from '../live.ts';
import { audience, conversationTitle, openConversation, unreadTotal, type KnownConversations, type OpenedConversation } from './conversations.ts';
import {
	conversationAudit,
	deleteMessage,
	editMessage,
	listMessages,
	markRead,
	postMessage,
	readPositions,
	type MessagePayload,
	type NewMessage,
	type PostResult
} from './messages.ts';
import { messageNotifications } from './notify.ts';
import { linkProblem } from './links.ts';

export type Ctx = AuditContext & { actorId: string };
export const NOT_FOUND = { ok: false as const, error: 'Conversation introuvable.' };

/** A conversation as a page shows it: title, access, the latest messages (or those around `aroundSeq`), who has read what. Audited for patient threads. */
export async function viewConversation(db: Db, ctx: Ctx, actor: Actor, conversationId: unknown, opts: { aroundSeq?: number } = {}) {
	const c = await openConversation(db, actor, conversationId);
	if (!c) return null;
	if (c.row.kind === 'patient') await audit(db, ctx, conversationAudit(c, 'patient.read', { purpose: 'messages' }));
	const [title, messages, readers] = await Promise.all([
		conversationTitle(db, actor, c),
		// From a search result: a page starting a little before that message (the client catches up after).
		listMessages(db, c.row.id, opts.aroundSeq ? { afterSeq: Math.max(0, opts.aroundSeq - 20) } : {}),
		audience(db, c).then((ids) => readPositions(db, c.row.id, ids))
	]);
	return {
		conversation: { id: c.row.id, kind: c.row.kind, title, access: c.access, patientId: c.row.patient_id, microstructureId: c.row.microstructure_id },
		messages,
		readers
	};
}

/** Posts, then tells the readers; a resend of an acknowledged message is answered again without a second delivery. */
export async function sendMessage(
	db: Db,
	ctx: Ctx,
	actor: Actor,
	conversationId: unknown,
	input: NewMessage,
	opts: { attach?: (trx: Db, messageId: string) => Promise<void>; known?: KnownConversations } = {}
): Promise<PostResult> {
	const { attach, known } = opts;
	const c = await openConversation(db, actor, conversationId, known);
	if (!c) return NOT_FOUND;
	// Who reads the conversation is looked up while the message is written (another connection of
	// the pool), unless mentions must be checked against it first.
	const reading = audience(db, c, known);
	reading.catch(() => {});
	const mentions = input.mentions?.length ? await reading : null;
	const wrongLink = input.link ? await linkProblem(db, c, input.link) : null;
	if (wrongLink) return { ok: false, error: wrongLink };
	// A mention names someone who reads the conversation; anything else is dropped.
	const posted = await postMessage(db, ctx, c, { ...input, mentions: mentions ? (input.mentions ?? []).filter((id) => mentions.includes(id) && id !== actor.userId) : [] }, attach);
	if (!posted.ok || posted.duplicate) return posted;
	const readers = await reading;
	deliver(readers, 'msg:new', posted.message);
	messageNotifications(db, c, posted.message, readers);
	return posted;
}

export function deliver(readers: string[], event: string, payload: unknown): void {
	emitToUsers(readers, event, payload);
}

/** Moves the reader's position; their other devices get the new counts, the others the receipt. */
export async function readUpTo(db: Db, actor: Actor, conversationId: unknown, seq: unknown, known?: KnownConversations) {
	const c = await openConversation(db, actor, conversationId, known);
	if (!c) return NOT_FOUND;
	const position = await markRead(db, actor.userId, c, seq);
	if (position === null) return { ok: false as const, error: 'Requête invalide.' };
	const readers = await audience(db, c, known);
	deliver(readers, 'msg:read', { conversationId: c.row.id, userId: actor.userId, seq: position });
	await unreadChanged(db, actor, c.row.id);
	return { ok: true as const, seq: position };
}

/** The reader's own tabs: this conversation's unread count and the total for the badge. */
export async function unreadChanged(db: Db, actor: Actor, conversationId: string): Promise<void> {
	const total = await unreadTotal(db, actor);
	emitToUsers([actor.userId], 'msg:unread', { conversationId, total });
}

export async function correctMessage(db: Db, ctx: Ctx, actor: Actor, conversationId: unknown, messageId: unknown, body: string | null) {
	const c = await openConversation(db, actor, conversationId);
	if (!c) return NOT_FOUND;
	const result = body === null ? await deleteMessage(db, ctx, c, messageId) : await editMessage(db, ctx, c, messageId, body);
	if (!result.ok) return result;
	deliver(await audience(db, c), 'msg:updated', result.message);
	return result;
}

/** Catching up after a reconnection: what came after the last message seen, in order. */
export async function messagesAfter(db: Db, actor: Actor, conversationId: unknown, afterSeq: number): Promise<{ ok: true; messages: MessagePayload[] } | typeof NOT_FOUND> {
	const c = await openConversation(db, actor, conversationId);
	if (!c) return NOT_FOUND;
	return { ok: true, messages: await listMessages(db, c.row.id, { afterSeq, limit: 500 }) };
}

export async function messagesBefore(db: Db, actor: Actor, conversationId: unknown, beforeSeq: number) {
	const c = await openConversation(db, actor, conversationId);
	if (!c) return NOT_FOUND;
	return { ok: true as const, messages: await listMessages(db, c.row.id, { beforeSeq }) };
}

/** "Is typing…": ephemeral, to the other readers only. */
export async function typing(db: Db, actor: Actor, name: string, conversationId: unknown, known?: KnownConversations) {
	const c: OpenedConversation | null = await openConversation(db, actor, conversationId, known);
	if (!c || c.access !== 'rw') return NOT_FOUND;
	deliver((await audience(db, c, known)).filter((id) => id !== actor.userId), 'msg:typing', { conversationId: c.row.id, userId: actor.userId, name });
	return { ok: true as const };
}
