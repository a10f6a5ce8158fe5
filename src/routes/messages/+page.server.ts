import { getDb } from '$lib/server/db';
import { listConversations } from '$lib/server/messaging/conversations';
import { requireActor } from '$lib/server/request';

export async function load(event) {
	const { actor } = requireActor(event);
	const conversations = await listConversations(getDb(), actor);
	return {
		conversations: conversations.map((c) => ({
			id: c.id,
			kind: c.kind,
			title: c.title,
			microstructureName: c.microstructureName,
			lastSeq: c.lastSeq,
			lastMessageAt: c.lastMessageAt?.toISOString() ?? null,
			unread: c.unread,
			lastSender: c.lastSender,
			lastExcerpt: c.lastExcerpt
		}))
	};
}
