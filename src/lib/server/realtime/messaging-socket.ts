// Messaging over socket.io: thin over messaging/service.ts. Every event is validated here (zod,
// sizes) and every answer is an acknowledgement; delivery goes to the readers' own rooms
// (`user:<id>`), so nobody has to join a conversation room and a care-team change takes effect on
// the next message without anything to leave.
import type { Socket } from 'socket.io';
import { z } from 'zod';
import { getDb } from '../db/index.ts';
import type { Actor } from '../access/policy.ts';
import { listConversations, unreadTotal, type KnownConversations } from '../messaging/conversations.ts';
import { correctMessage, messagesAfter, messagesBefore, readUpTo, sendMessage, typing, viewConversation } from '../messaging/service.ts';
import { MAX_BODY } from '../messaging/messages.ts';

type Handler = <T>(socket: Socket, event: string, schema: z.ZodType<T>, handler: (payload: T) => Promise<{ ok: true; [key: string]: unknown } | { ok: false; error: string }>) => void;

const conversation = z.object({ conversationId: z.uuid() }).strict();
const seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const send = z
	.object({
		conversationId: z.uuid(),
		clientId: z.uuid(),
		body: z.string().max(MAX_BODY * 2),
		link: z.object({ type: z.enum(['rcp_report', 'pps_version']), id: z.uuid() }).strict().nullable().optional(),
		mentions: z.array(z.uuid()).max(50).optional()
	})
	.strict();
const after = z.object({ conversationId: z.uuid(), afterSeq: seq }).strict();
const before = z.object({ conversationId: z.uuid(), beforeSeq: seq }).strict();
const read = z.object({ conversationId: z.uuid(), seq }).strict();
const edit = z.object({ conversationId: z.uuid(), messageId: z.uuid(), body: z.string().max(MAX_BODY * 2) }).strict();
const remove = z.object({ conversationId: z.uuid(), messageId: z.uuid() }).strict();
const empty = z.object({}).strict();

export const MESSAGING_EVENTS = ['msg:list', 'msg:open', 'msg:send', 'msg:after', 'msg:before', 'msg:read', 'msg:edit', 'msg:delete', 'msg:typing'];

/** At most one "is typing" per socket every 2 s. */
const TYPING_INTERVAL_MS = 2000;

export function registerMessagingHandlers(socket: Socket, on: Handler, actorOf: (userId: string) => Promise<Actor>, known?: KnownConversations): void {
	const user = (socket.data as { user: { id: string; name: string } }).user;
	const ctx = () => ({ actorId: user.id, ip: socket.handshake.address });
	const actor = () => actorOf(user.id);
	let lastTyping = 0;

	on(socket, 'msg:list', empty, async () => {
		const a = await actor();
		const [conversations, total] = await Promise.all([listConversations(getDb(), a), unreadTotal(getDb(), a)]);
		return { ok: true, conversations, total };
	});
	on(socket, 'msg:open', conversation, async ({ conversationId }) => {
		const view = await viewConversation(getDb(), ctx(), await actor(), conversationId);
		return view ? { ok: true, ...view } : { ok: false, error: 'Conversation introuvable.' };
	});
	on(socket, 'msg:send', send, async ({ conversationId, ...input }) => sendMessage(getDb(), ctx(), await actor(), conversationId, input, { known }));
	on(socket, 'msg:after', after, async ({ conversationId, afterSeq }) => messagesAfter(getDb(), await actor(), conversationId, afterSeq));
	on(socket, 'msg:before', before, async ({ conversationId, beforeSeq }) => messagesBefore(getDb(), await actor(), conversationId, beforeSeq));
	on(socket, 'msg:read', read, async ({ conversationId, seq }) => readUpTo(getDb(), await actor(), conversationId, seq, known));
	on(socket, 'msg:edit', edit, async ({ conversationId, messageId, body }) => correctMessage(getDb(), ctx(), await actor(), conversationId, messageId, body));
	on(socket, 'msg:delete', remove, async ({ conversationId, messageId }) => correctMessage(getDb(), ctx(), await actor(), conversationId, messageId, null));
	on(socket, 'msg:typing', conversation, async ({ conversationId }) => {
		const now = Date.now();
		if (now - lastTyping < TYPING_INTERVAL_MS) return { ok: true };
		lastTyping = now;
		return typing(getDb(), await actor(), user.name, conversationId, known);
	});
}
