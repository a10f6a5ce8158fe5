// The microstructure's team conversation, for its members and its network's coordinators.
import { error, redirect } from '@sveltejs/kit';
import { getDb } from '$lib/server/db';
import { conversationAccess } from '$lib/server/access/policy';
import { getMicrostructureRef } from '$lib/server/org/microstructures';
import { teamConversationId } from '$lib/server/messaging/conversations';
import { requireActor } from '$lib/server/request';

export async function load(event) {
	const { actor } = requireActor(event);
	const db = getDb();
	const ms = await getMicrostructureRef(db, event.params.msId);
	if (!ms || conversationAccess(actor, { kind: 'team', microstructure: ms }) === 'none') error(404, { message: 'Page introuvable' });
	redirect(303, `/messages/${await teamConversationId(db, ms.id)}`);
}
