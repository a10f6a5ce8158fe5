// The patients whose timeline moved last, for the home page. Callers pass only the microstructures
// whose patients the actor may read (the policy), and name them through names.ts (audited).
import type { Db } from '../db/index.ts';
import { can, type Actor, type MicrostructureRef } from '../access/policy.ts';

export interface RecentChange {
	patientId: string;
	microstructureId: string;
	/** The timeline event (patient_event.kind) recorded last. */
	kind: string;
	occurredOn: string;
	recordedAt: Date;
}

/** The `limit` patients of these microstructures whose latest timeline entry was recorded last. */
export async function recentlyChangedPatients(db: Db, actor: Actor, microstructures: MicrostructureRef[], limit = 6): Promise<RecentChange[]> {
	const visible = microstructures.filter((ms) => can(actor, 'patient.read', { microstructure: ms })).map((ms) => ms.id);
	if (visible.length === 0) return [];
	// One probe per patient into its own events (indexed by patient), rather than sorting every event
	// of every microstructure.
	const rows = await db
		.selectFrom('patient as p')
		.innerJoinLateral(
			(eb) =>
				eb
					.selectFrom('patient_event as e')
					.select(['e.kind', 'e.occurred_on', 'e.recorded_at'])
					.whereRef('e.patient_id', '=', 'p.id')
					.orderBy('e.recorded_at', 'desc')
					.limit(1)
					.as('last'),
			(join) => join.onTrue()
		)
		.select(['p.id', 'p.microstructure_id', 'last.kind', 'last.occurred_on', 'last.recorded_at'])
		.where('p.microstructure_id', 'in', visible)
		.orderBy('last.recorded_at', 'desc')
		.orderBy('p.id')
		.limit(limit)
		.execute();
	return rows.map((r) => ({ patientId: r.id, microstructureId: r.microstructure_id, kind: r.kind, occurredOn: r.occurred_on, recordedAt: r.recorded_at }));
}
