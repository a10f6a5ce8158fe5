// Demo RCPs: each network's template (the Loire-Atlantique one adapted), a monthly series per
// microstructure, two closed sessions in the past per microstructure (so the agenda rules have
// history to work on), and, in the Bas-Rhin network, two RCPs at the same time next Monday noon
// (the coordinator sees the clash).
import type { Db } from '../db/index.ts';
import type { MicrostructureRef } from '../access/policy.ts';
import type { RcpDecision } from '../db/schema.ts';
import { addDays, parisToday } from '../patients/lifecycle.ts';
import { DEFAULT_TEMPLATE, saveTemplate } from '../rcp/templates.ts';
import { createSeries, createSession } from '../rcp/sessions.ts';
import { parisInstant, toRrule } from '../rcp/schedule.ts';
import { recordEvent } from '../patients/patients.ts';

const DECISIONS: RcpDecision[] = ['poursuite', 'poursuite', 'adaptation_pps', 'poursuite', 'a_revoir'];

export async function seedDemoRcp(db: Db, networks: Record<string, string>, microstructures: Record<string, MicrostructureRef & { network: string }>, creatorId: string, today = parisToday()): Promise<void> {
	const ctx = { actorId: creatorId };
	await saveTemplate(db, ctx, { networkId: networks.est }, DEFAULT_TEMPLATE);
	await saveTemplate(db, ctx, { networkId: networks.ouest }, {
		...DEFAULT_TEMPLATE,
		name: 'Trame Loire-Atlantique',
		targetMinutes: 60,
		minutesPerCase: 8,
		quorumProfessions: ['medecin_generaliste', 'psychologue'],
		minFrequency: 'mensuelle'
	});

	for (const [key, ms] of Object.entries(microstructures)) {
		const room = await db
			.selectFrom('room as r')
			.innerJoin('site as s', 's.id', 'r.site_id')
			.select('r.id')
			.where('s.microstructure_id', '=', ms.id)
			.orderBy('r.name')
			.executeTakeFirst();
		await createSeries(db, ctx, ms, {
			title: 'RCP mensuelle',
			rrule: toRrule({ pattern: 'mensuel', nth: key === 'neuhof' ? 3 : 1, weekday: key === 'haguenau' ? 'TH' : 'TU' }),
			startsOn: addDays(today, -200),
			untilOn: null,
			startTime: '12:30',
			endTime: '14:00',
			roomId: room?.id ?? null,
			visioUrl: ms.network === 'ouest' ? 'https://visio.sante.fr/rcp-demo' : null,
			programme: null
		});
		for (const daysAgo of [118, 41]) await seedClosedSession(db, ms, addDays(today, -daysAgo), room?.id ?? null, creatorId);
	}

	// Two RCPs next Monday at noon in the Bas-Rhin network: Marc Weber coordinates both.
	let monday = addDays(today, 1);
	while (new Date(`${monday}T12:00:00Z`).getUTCDay() !== 1) monday = addDays(monday, 1);
	for (const key of ['tanneurs', 'neuhof']) {
		const ms = microstructures[key];
		if (ms) await createSession(db, ctx, ms, { title: 'RCP exceptionnelle', date: monday, startTime: '12:00', endTime: '13:30', roomId: null, visioUrl: null, programme: null });
	}
}

/** A session held on `day`: five cases discussed with decisions, everyone present but one. */
async function seedClosedSession(db: Db, ms: MicrostructureRef, day: string, roomId: string | null, by: string): Promise<void> {
	const patients = await db
		.selectFrom('patient')
		.select('id')
		.where('microstructure_id', '=', ms.id)
		.where('state', '=', 'en_suivi')
		.where('included_on', '<', day)
		.orderBy('code')
		.limit(12)
		.execute();
	const chosen = patients.filter((_, i) => (day.charCodeAt(9) + i) % 2 === 0).slice(0, 5);
	const startsAt = parisInstant(day, '12:30');
	const session = await db
		.insertInto('rcp_session')
		.values({
			microstructure_id: ms.id,
			title: 'RCP mensuelle',
			starts_at: startsAt,
			ends_at: parisInstant(day, '14:00'),
			room_id: roomId,
			status: 'cloturee',
			template: JSON.stringify(DEFAULT_TEMPLATE),
			agenda_built_at: startsAt,
			animator_id: by,
			started_at: startsAt,
			closed_at: parisInstant(day, '13:55'),
			closed_by: by,
			created_by: by
		})
		.returning('id')
		.executeTakeFirstOrThrow();
	const members = await db
		.selectFrom('membership')
		.select('user_id')
		.distinct()
		.where('microstructure_id', '=', ms.id)
		.where('role', 'in', ['soignant', 'coordination'])
		.execute();
	if (members.length) {
		await db
			.insertInto('rcp_participant')
			.values(members.map((m, i) => ({ session_id: session.id, user_id: m.user_id, rsvp: 'oui' as const, attendance: i === members.length - 1 ? ('excuse' as const) : ('present' as const) })))
			.execute();
	}
	for (const [i, p] of chosen.entries()) {
		const decision = DECISIONS[i % DECISIONS.length];
		await db
			.insertInto('rcp_item')
			.values({
				session_id: session.id,
				kind: 'cas',
				patient_id: p.id,
				reasons: JSON.stringify([{ code: 'not_discussed_90', date: addDays(day, -100) }]),
				position: i + 1,
				discussed_seconds: 420 + i * 60,
				decision,
				decision_details: JSON.stringify({ final: false }),
				decided_by: by,
				decided_at: startsAt,
				minutes_notes: 'Point sur le suivi : adhésion correcte, à poursuivre.'
			})
			.execute();
		await db.insertInto('rcp_passage').values({ patient_id: p.id, session_id: session.id, on_date: day, decision }).execute();
		await recordEvent(db, p.id, 'rcp', day, by, { sessionId: session.id, decision });
	}
}
