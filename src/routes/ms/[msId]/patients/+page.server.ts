import { z } from 'zod';
import { cleanString } from '$lib/server/input';
import { getDb } from '$lib/server/db';
import { listPatients } from '$lib/server/patients/patients';
import { patientsOf } from '$lib/server/patients/guard';
import { parisToday } from '$lib/server/patients/lifecycle';

const filterSchema = z.object({
	etat: z.enum(['actifs', 'oriente', 'inclus', 'en_suivi', 'sorti', 'transfere', 'tous']).optional().catch(undefined),
	programme: z.enum(['MSMA', 'MSPC']).optional().catch(undefined),
	renouvellement: z.literal('1').optional().catch(undefined),
	sans_contact: z.literal('1').optional().catch(undefined),
	equipe: z.literal('1').optional().catch(undefined),
	q: cleanString().trim().max(100).optional().catch(undefined)
});

export async function load(event) {
	const { user, ms, ref, ctx } = await patientsOf(event);
	const f = filterSchema.parse(Object.fromEntries(event.url.searchParams));
	const state = f.etat === 'tous' ? undefined : (f.etat ?? 'actifs');
	const db = getDb();
	const today = parisToday();
	// One round trip: the list, its audit row and the counts per state.
	const { patients, truncated, counts } = await listPatients(db, ctx, ref, { state, programme: f.programme, renewal: f.renouvellement === '1', noFirstContact: f.sans_contact === '1', q: f.q, teamOf: f.equipe === '1' ? user.id : undefined }, today);
	return {
		ms: { id: ms.id, name: ms.name, programmes: ms.programmes },
		patients,
		truncated,
		counts,
		filter: { etat: f.etat ?? 'actifs', programme: f.programme ?? '', renouvellement: f.renouvellement === '1', sans_contact: f.sans_contact === '1', equipe: f.equipe === '1', q: f.q ?? '' },
		today
	};
}
