// How lists name patients: "NOM Prénom" beside the pseudonymous code for whoever the policy lets
// read the patient, the code alone for everyone else (the secretariat, a guest, an administrator).
// A list of names is a read of patient data, audited the way the patient list is: one `patient.list`
// row per microstructure whose names were shown, with what the list was for.
import type { Db } from '../db/index.ts';
import { can, type Actor } from '../access/policy.ts';
import { auditAll, type AuditContext } from '../audit/audit.ts';
import { isUuid } from '../org/microstructures.ts';
import { patientLabel } from './patients.ts';

export interface NamedPatient {
	id: string;
	code: string;
	/** Null when the actor may not see who it is, or once the record is anonymised. */
	name: string | null;
	microstructureId: string;
}

/**
 * The patients among `ids` (unknown ids are left out), named for this actor; the names shown are
 * audited under `purpose`. One query and at most one insert, whatever the number of patients.
 */
export async function namePatients(db: Db, ctx: AuditContext, actor: Actor, ids: Iterable<string>, purpose: string): Promise<Map<string, NamedPatient>> {
	const wanted = [...new Set(ids)].filter(isUuid);
	if (wanted.length === 0) return new Map();
	const rows = await db
		.selectFrom('patient as p')
		.innerJoin('microstructure as ms', 'ms.id', 'p.microstructure_id')
		.select(['p.id', 'p.code', 'p.last_name', 'p.first_name', 'p.anonymised_at', 'p.microstructure_id', 'ms.network_id'])
		.where('p.id', 'in', wanted)
		.execute();
	const named = new Map<string, NamedPatient>();
	const shown = new Map<string, { networkId: string; count: number }>();
	for (const r of rows) {
		const readable = can(actor, 'patient.read', { microstructure: { id: r.microstructure_id, networkId: r.network_id } });
		const name = readable && !r.anonymised_at ? patientLabel(r) : null;
		named.set(r.id, { id: r.id, code: r.code, name: name || null, microstructureId: r.microstructure_id });
		if (name) {
			const seen = shown.get(r.microstructure_id) ?? { networkId: r.network_id, count: 0 };
			seen.count++;
			shown.set(r.microstructure_id, seen);
		}
	}
	await auditAll(
		db,
		ctx,
		[...shown].map(([microstructureId, { networkId, count }]) => ({
			action: 'patient.list',
			targetType: 'microstructure',
			targetId: microstructureId,
			microstructureId,
			networkId,
			details: { purpose, count }
		}))
	);
	return named;
}
