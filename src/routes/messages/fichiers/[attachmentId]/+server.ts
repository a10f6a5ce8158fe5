import { getDb } from '$lib/server/db';
import { auditContext, requireActor } from '$lib/server/request';
import { downloadAttachment } from '$lib/server/messaging/attachments';

// A message's file, or its image's thumbnail (?miniature=1), after the policy check; audited.
export async function GET(event) {
	const { actor } = requireActor(event);
	return downloadAttachment(getDb(), { ...auditContext(event), actorId: actor.userId }, actor, event.params.attachmentId, {
		thumbnail: event.url.searchParams.get('miniature') === '1',
		range: event.request.headers.get('range')
	});
}
