import { error } from '@sveltejs/kit';
import { getDb } from '$lib/server/db';
import { viewConversation } from '$lib/server/messaging/service';
import { auditContext, requireActor } from '$lib/server/request';
import { isCleanText } from '$lib/server/input';
import { parseShareRequest, shareable } from '$lib/server/messaging/links';
import { config } from '$lib/server/config';

/** A draft handed by an entry point ("Écrire à l'équipe" from a decision): bounded, clean text only. */
const MAX_DRAFT = 500;

export async function load(event) {
	const { user, actor } = requireActor(event);
	// Missing and forbidden are the same answer (openConversation); reading a patient's thread is audited.
	// `?seq=` comes from a search result: open the conversation at that message.
	const seqParam = event.url.searchParams.get('seq') ?? '';
	const focusSeq = /^[1-9]\d{0,14}$/.test(seqParam) ? Number(seqParam) : null;
	const view = await viewConversation(getDb(), { ...auditContext(event), actorId: user.id }, actor, event.params.id, { aroundSeq: focusSeq ?? undefined });
	if (!view) error(404, { message: 'Page introuvable' });
	const draft = event.url.searchParams.get('brouillon') ?? '';
	// A PPS version or compte-rendu to share: only one of this thread's patient, and only where one may write.
	const request = parseShareRequest(event.url.searchParams.get('lien'));
	const { kind, patientId, access } = view.conversation;
	const share = request && kind === 'patient' && patientId && access === 'rw' ? await shareable(getDb(), patientId, request) : null;
	return {
		...view,
		share,
		focusSeq,
		// The composer refuses a larger file before sending it (a phone on mobile data would upload it for nothing).
		attachmentMaxBytes: config.messageAttachmentMaxBytes,
		draft: draft.length <= MAX_DRAFT && isCleanText(draft) ? draft : '',
		patientHref: view.conversation.kind === 'patient' ? `/ms/${view.conversation.microstructureId}/patients/${view.conversation.patientId}` : null
	};
}
