import { z } from 'zod';
import { cleanString } from '$lib/server/input';
import { getDb } from '$lib/server/db';
import { listPatients } from '$lib/server/patients/patients';
import { patientsOf } from '$lib/server/patients/guard';
import { parisToday } from '$lib/server/patients/lifecycle';
import { error } from '@sveltejs/kit';
import { can } from '$lib/server/access/policy';
import { auditContext, requireActor } from '$lib/server/request';

const filterSchema = z.object({
	etat: z.enum(['actifs', 'oriente', 'inclus', 'en_suivi', 'sorti', 'transfere', 'tous']).optional().catch(undefined),
	programme: z.enum(['MSMA', 'MSPC']).optional().catch(undefined),
	renouvellement: z.literal('1').optional().catch(undefined),
	sans_contact: z.literal('1').optional().catch(undefined),
	equipe: z.literal('1').optional().catch(undefined),
	q: cleanString().trim().max(100).optional().catch(undefined)
});

/**
 * patientsOf, without its query for the actor's own microstructures: their network is known from
 * the actor (active memberships of microstructures not archived), so access is decided at once and
 * the name comes with the list. Anyone else (a network's coordination, the platform) goes through
 * patientsOf. Either way, a microstructure not visible is a 404.
 */
async function listedMicrostructure(event: Parameters<typeof patientsOf>[0]) {
	const { user, actor } = requireActor(event);
	const own = actor.microstructures.find((m) => m.id === event.params.msId);
	if (!own) return patientsOf(event);
	const ref = { id: own.id, networkId: own.networkId };
	if (!can(actor, 'patient.read', { microstructure: ref })) error(404, { message: 'Page introuvable' });
	return { user, ref, ms: null, ctx: { ...auditContext(event), actorId: user.id } };
}

export async function load(event) {
	const { user, ms: read, ref, ctx } = await listedMicrostructure(event);
	const f = filterSchema.parse(Object.fromEntries(event.url.searchParams));
	const state = f.etat === 'tous' ? undefined : (f.etat ?? 'actifs');
	const db = getDb();
	const today = parisToday();
	// One round trip: the list, its audit row, the counts per state (and the microstructure's name).
	const { patients, truncated, counts, microstructure } = await listPatients(db, ctx, ref, { state, programme: f.programme, renewal: f.renouvellement === '1', noFirstContact: f.sans_contact === '1', q: f.q, teamOf: f.equipe === '1' ? user.id : undefined }, today);
	const ms = read ?? (microstructure && { id: ref.id, ...microstructure });
	if (!ms) error(404, { message: 'Page introuvable' });
	return {
		ms: { id: ms.id, name: ms.name, programmes: ms.programmes },
		patients,
		truncated,
		counts,
		filter: { etat: f.etat ?? 'actifs', programme: f.programme ?? '', renouvellement: f.renouvellement === '1', sans_contact: f.sans_contact === '1', equipe: f.equipe === '1', q: f.q ?? '' },
		today
	};
}
