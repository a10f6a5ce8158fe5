// A patient for server-side tests that need one (a PPS to co-edit, a care team to check): included
// through the real domain function, with its care team set like the record page does.
import type { Db } from '../../src/lib/server/db/index.ts';
import type { MicrostructureRef } from '../../src/lib/server/access/policy.ts';
import { createPatient, setCareTeam } from '../../src/lib/server/patients/patients.ts';
import { addDays } from '../../src/lib/server/patients/lifecycle.ts';
import { ppsDocName } from '../../src/lib/server/pps/pps.ts';

let created = 0;

/**
 * Includes a patient in `ms` on behalf of `authorId` (who joins the care team), then sets the care
 * team to `teamIds`; returns the patient's id and PPS document name. Each gets its own birth date:
 * the same person twice would be refused as a duplicate.
 */
export async function includeTestPatient(db: Db, ms: MicrostructureRef, authorId: string, lastName: string, teamIds: string[]): Promise<{ id: string; docName: string }> {
	const ctx = { actorId: authorId };
	const r = await createPatient(
		db,
		ctx,
		ms,
		{
			identity: { lastName, firstName: 'Nadia', birthDate: addDays('1975-01-01', created++), sex: 'F', phone: null, email: null },
			programme: 'MSMA',
			motif: 'addiction',
			orientationOrigin: null,
			medecinTraitant: null,
			start: { kind: 'include', on: '2026-01-15', orientation: 'les_deux', consent: { on: '2026-01-15', method: 'oral_atteste' } }
		},
		'2026-11-24'
	);
	if (!r.ok) throw new Error(r.error);
	await setCareTeam(db, ctx, ms, r.id, teamIds);
	return { id: r.id, docName: ppsDocName(r.id) };
}
