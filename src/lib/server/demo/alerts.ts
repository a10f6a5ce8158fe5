// The demo's drift alerts: the detection run on the seeded data (which always holds overdue
// renewals and included patients still waiting for a first contact, and whatever else the day's
// dates make drift), one alert already acknowledged by the Bas-Rhin's medical coordinator, and one
// resolved last week, so that every part of the Alertes page has content at the first sign-in.
// Called by seed.ts once the patients, RCPs and agenda exist.
import type { Db } from '../db/index.ts';
import { detectAlerts } from '../cockpit/alerts.ts';
import { addDays } from '../patients/lifecycle.ts';
import { parisInstant } from '../rcp/schedule.ts';

export async function seedDemoAlerts(
	db: Db,
	networks: Record<string, string>,
	microstructures: Record<string, string>,
	users: Record<string, string>,
	today: string,
	now: Date
): Promise<void> {
	await detectAlerts(db, { today, now });

	// Marc Weber took the Haguenau first contacts in hand yesterday (he called the psychologist).
	const acknowledged = await db
		.selectFrom('drift_alert')
		.select('id')
		.where('microstructure_id', '=', microstructures.haguenau)
		.where('kind', '=', 'first_contact_waiting')
		.where('resolved_at', 'is', null)
		.executeTakeFirst();
	if (acknowledged) {
		await db
			.updateTable('drift_alert')
			.set({ acknowledged_at: new Date(now.getTime() - 86_400_000), acknowledged_by: users['marc.weber'] })
			.where('id', '=', acknowledged.id)
			.execute();
	}

	// Last week Léa Fischer's absence left two appointments to move at Haguenau; they were moved.
	await db
		.insertInto('drift_alert')
		.values({
			microstructure_id: microstructures.haguenau,
			network_id: networks.est,
			kind: 'absence_uncovered',
			period_key: 'absence-demo',
			details: JSON.stringify({ subject: 'demo', absenceId: null, professional: 'Léa Fischer', profession: 'travailleur_social', from: addDays(today, -8), until: addDays(today, -6), appointments: 2 }),
			raised_at: parisInstant(addDays(today, -12), '06:00'),
			resolved_at: parisInstant(addDays(today, -5), '06:00')
		})
		.onConflict((oc) => oc.columns(['microstructure_id', 'kind', 'period_key']).doNothing())
		.execute();
}
