import { getDb } from '$lib/server/db';
import { listMicrostructureMembers } from '$lib/server/org/memberships';
import { listPendingInvitations } from '$lib/server/org/invitations';
import { microstructureFor } from '$lib/server/org/guard';
import { endMembershipAction, inviteAction, revokeInvitationAction, type Place } from '$lib/server/org/member-actions';
import { requireActor } from '$lib/server/request';
import { MICROSTRUCTURE_ROLES } from '$lib/professions';
import type { RequestEvent } from './$types';

async function placeFor(event: RequestEvent) {
	const { actor } = requireActor(event);
	const ms = await microstructureFor(actor, event.params.msId, 'microstructure.manage_members');
	const place: Place = { name: ms.name, networkId: ms.network_id, microstructureId: ms.id };
	return { actor, ms, place };
}

export async function load(event) {
	const { ms } = await placeFor(event);
	const db = getDb();
	const [members, invitations] = await Promise.all([listMicrostructureMembers(db, ms.id), listPendingInvitations(db, { microstructureId: ms.id })]);
	return { ms: { id: ms.id, name: ms.name }, members, invitations };
}

export const actions = {
	invite: async (event) => {
		const { actor, place } = await placeFor(event);
		return inviteAction(event, actor.userId, place, MICROSTRUCTURE_ROLES);
	},
	end: async (event) => {
		const { actor, place } = await placeFor(event);
		return endMembershipAction(event, actor.userId, place);
	},
	revoke: async (event) => {
		const { place } = await placeFor(event);
		return revokeInvitationAction(event, place);
	}
};
