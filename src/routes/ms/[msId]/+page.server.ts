import { getDb } from '$lib/server/db';
import { can, docDecision } from '$lib/server/access/policy';
import { listMicrostructureMembers } from '$lib/server/org/memberships';
import { microstructureFor } from '$lib/server/org/guard';
import { requireActor } from '$lib/server/request';

export async function load(event) {
	const { actor } = requireActor(event);
	const ms = await microstructureFor(actor, event.params.msId);
	const ref = { id: ms.id, networkId: ms.network_id };
	const docName = `ms-notes:${ms.id}`;
	const members = (await listMicrostructureMembers(getDb(), ms.id)).filter((m) => m.active);
	return {
		ms,
		members: members.map((m) => ({ userId: m.user_id, firstName: m.first_name, lastName: m.last_name, profession: m.profession, role: m.role })),
		// The decision says why the notes are read-only (the secretariat reads them), for the page to say.
		notes: { docName, ...(await docDecision(actor, docName, async () => ref)) },
		canManage: can(actor, 'microstructure.manage_members', { microstructure: ref }),
		canSeePatients: can(actor, 'patient.read', { microstructure: ref }),
		canSeeBooking: can(actor, 'booking.read', { microstructure: ref })
	};
}
