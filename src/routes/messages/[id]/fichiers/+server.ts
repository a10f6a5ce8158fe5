import { getDb } from '$lib/server/db';
import { auditContext, requireActor } from '$lib/server/request';
import { uploadAttachment } from '$lib/server/messaging/attachments';

// Sending a file or a voice message into a conversation (multipart, same origin; JSON answer).
export async function POST(event) {
	const { actor } = requireActor(event);
	return uploadAttachment(getDb(), { ...auditContext(event), actorId: actor.userId }, actor, event.params.id, event.request, event.url);
}
