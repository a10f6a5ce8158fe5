// The demo's living agenda (issue 12, point 10): site phones, weekly and fortnightly permanences of
// the psychologists and social workers in their microstructures, and appointments of the patients
// whose care team they belong to — honoured ones over the past three weeks, a no-show, an excused one,
// cancellations (one late), the next two weeks with reminders for the patients who agreed, and a waiting
// list. Everything goes through the booking domain's own functions (createPermanence, book,
// markAttendance, cancel, addToWaitingList), each called with the instant it happened, so the
// database's invariants, the pathway (first contact, last contact) and the audit hold as in real use.
import type { Db } from '../db/index.ts';
import type { Profession } from '../db/schema.ts';
import { loadActor, type MicrostructureRef } from '../access/policy.ts';
import { addDays } from '../patients/lifecycle.ts';
import { FIRST_CONTACT_DAYS } from '../patients/todo.ts';
import { parisWallClock } from '../rcp/schedule.ts';
import { createPermanence } from '../booking/permanences.ts';
import { setSitePhone } from '../booking/rooms.ts';
import { freeSlots } from '../booking/slots.ts';
import { book, cancel, markAttendance, type Attendance } from '../booking/appointments.ts';
import { addToWaitingList } from '../booking/waiting-list.ts';

interface DemoSeries {
	login: string;
	ms: string;
	weekday: number;
	every: 1 | 2;
	start: string;
	end: string;
	/** Index of the room in the site's rooms (by name order). */
	room: number;
}

/** The numbers patients call to cancel, per microstructure. */
const SITE_PHONES: Record<string, string> = {
	tanneurs: '03 88 32 14 50',
	neuhof: '03 88 40 21 77',
	haguenau: '03 88 93 05 12',
	ilenantes: '02 40 12 34 56',
	herblain: '02 40 63 18 90',
	reze: '02 40 75 44 21'
};

const SERIES: DemoSeries[] = [
	{ login: 'camille.durand', ms: 'tanneurs', weekday: 2, every: 1, start: '09:00', end: '12:30', room: 0 },
	{ login: 'camille.durand', ms: 'neuhof', weekday: 4, every: 2, start: '14:00', end: '17:30', room: 0 },
	{ login: 'camille.durand', ms: 'haguenau', weekday: 5, every: 1, start: '09:00', end: '12:00', room: 0 },
	{ login: 'karim.mansouri', ms: 'tanneurs', weekday: 1, every: 1, start: '14:00', end: '17:00', room: 0 },
	{ login: 'karim.mansouri', ms: 'neuhof', weekday: 3, every: 2, start: '09:00', end: '12:00', room: 0 },
	{ login: 'lea.fischer', ms: 'haguenau', weekday: 4, every: 1, start: '09:00', end: '12:00', room: 0 },
	{ login: 'elodie.petit', ms: 'ilenantes', weekday: 2, every: 1, start: '14:00', end: '17:30', room: 0 },
	{ login: 'elodie.petit', ms: 'herblain', weekday: 1, every: 2, start: '09:00', end: '12:00', room: 0 },
	{ login: 'hugo.lambert', ms: 'ilenantes', weekday: 3, every: 1, start: '09:00', end: '12:00', room: 0 },
	{ login: 'hugo.lambert', ms: 'reze', weekday: 4, every: 2, start: '14:00', end: '17:00', room: 0 }
];

/** Weeks of history: the series started this long ago. */
const PAST_WEEKS = 3;
/** Future weeks that already hold appointments. */
const FUTURE_WEEKS = 2;
const HOUR = 3600_000;
const DAY = 24 * HOUR;

export interface DemoBookingSummary {
	permanences: number;
	appointments: number;
	waiting: number;
	refused: number;
}

/**
 * Seeds the agenda. `microstructures` and `users` map the demo's keys (microstructure key, login) to
 * ids; `now` is the seeding instant (the past is replayed at its own instants before it).
 */
export async function seedDemoBooking(
	db: Db,
	microstructures: Record<string, MicrostructureRef>,
	users: Record<string, string>,
	today: string,
	now = new Date()
): Promise<DemoBookingSummary> {
	const summary: DemoBookingSummary = { permanences: 0, appointments: 0, waiting: 0, refused: 0 };
	const coordination = users['sophie.klein'] ?? Object.values(users)[0];

	for (const [key, phone] of Object.entries(SITE_PHONES)) {
		const ms = microstructures[key];
		if (!ms) continue;
		const site = await db.selectFrom('site').select('id').where('microstructure_id', '=', ms.id).orderBy('name').executeTakeFirst();
		if (site) await setSitePhone(db, { actorId: coordination }, ms, site.id, phone);
	}

	// Reminders: a few patients per microstructure agreed (an address or a phone recorded with the consent).
	const followed = await db
		.selectFrom('patient')
		.select(['id', 'microstructure_id', 'first_name', 'last_name', 'code'])
		.where('state', 'in', ['inclus', 'en_suivi'])
		.where('anonymised_at', 'is', null)
		.orderBy('code')
		.execute();
	// One transaction: one commit for all of them.
	await db.transaction().execute(async (trx) => {
		const perMs = new Map<string, number>();
		for (const p of followed) {
			const n = perMs.get(p.microstructure_id) ?? 0;
			perMs.set(p.microstructure_id, n + 1);
			if (n % 3 !== 0) continue;
			const email = `${(p.first_name ?? 'patient').normalize('NFD').replace(/[^a-zA-Z]/g, '').toLowerCase()}.${p.code.toLowerCase().replace(/[^a-z0-9]/g, '')}@exemple.fr`;
			await trx
				.updateTable('patient')
				.set({ email, reminder_email: true, reminder_sms: n % 6 === 0, phone: n % 6 === 0 ? `06 12 ${String(10 + (n % 89)).padStart(2, '0')} 45 67` : undefined })
				.where('id', '=', p.id)
				.execute();
		}
	});

	const seriesStart = addDays(today, -7 * PAST_WEEKS);
	const noShowDone = new Set<string>();
	const excusedDone = new Set<string>();
	const cancelsDone = new Map<string, number>();
	const waitingMs = new Set<string>();

	for (const s of SERIES) {
		const ms = microstructures[s.ms];
		const professionalId = users[s.login];
		if (!ms || !professionalId) continue;
		const pro = await db.selectFrom('app_user').select('profession').where('id', '=', professionalId).executeTakeFirstOrThrow();
		const rooms = await db
			.selectFrom('room as r')
			.innerJoin('site as st', 'st.id', 'r.site_id')
			.select('r.id')
			.where('st.microstructure_id', '=', ms.id)
			.where('r.archived_at', 'is', null)
			.orderBy('r.name')
			.execute();
		const ctx = { actorId: professionalId };
		const created = await createPermanence(
			db,
			ctx,
			ms,
			{
				professionalId,
				roomId: rooms[s.room]?.id ?? null,
				weekday: s.weekday,
				everyWeeks: s.every,
				startsOn: seriesStart,
				endsOn: null,
				startTime: s.start,
				endTime: s.end,
				firstMinutes: 60,
				followupMinutes: pro.profession === 'psychologue' ? 45 : 40
			},
			seriesStart
		);
		if (!created.ok) throw new Error(`demo permanence ${s.login}@${s.ms}: ${created.error}`);
		summary.permanences += 1;

		// The patients this professional follows here, those who may book.
		// Not those still waiting for a first contact a month after inclusion: the demo shows them
		// waiting (À faire, alerts). Booked here, whether one came to a past appointment (and so got
		// a first contact) depended on the day and hour the demo was loaded.
		const waitingSince = addDays(today, -FIRST_CONTACT_DAYS);
		const patients = (
			await db
				.selectFrom('patient_team_member as t')
				.innerJoin('patient as p', 'p.id', 't.patient_id')
				.select(['p.id', 'p.state', 'p.first_contact_on', 'p.included_on'])
				.where('t.user_id', '=', professionalId)
				.where('p.microstructure_id', '=', ms.id)
				.where('p.state', 'in', ['inclus', 'en_suivi'])
				.where('p.anonymised_at', 'is', null)
				.orderBy('p.code')
				.execute()
		).filter((p) => !(p.state === 'inclus' && !p.first_contact_on && p.included_on !== null && p.included_on <= waitingSince));
		if (patients.length === 0) continue;
		const actor = await loadActor(db, professionalId);
		let next = 0;
		const seen = new Set<string>();

		const occurrences = await db
			.selectFrom('permanence_occurrence')
			.select(['id', 'starts_at', 'ends_at'])
			.where('permanence_id', '=', created.id)
			.where('cancelled_at', 'is', null)
			.where('starts_at', '<', new Date(now.getTime() + FUTURE_WEEKS * 7 * DAY))
			.orderBy('starts_at')
			.execute();
		for (const [index, occ] of occurrences.entries()) {
			const past = occ.ends_at < now;
			// Past occurrences were booked a week or two before; future ones are being booked now.
			const bookedAt = past ? new Date(occ.starts_at.getTime() - (8 + (index % 5)) * DAY) : now;
			// Kept small: every booking is its own commit, and the first start of the demo waits for them.
			const perOccurrence = 2;
			const onDate = parisWallClock(occ.starts_at).date;
			for (let i = 0; i < perOccurrence && next < patients.length * 3; i++) {
				// The next patient in turn who was already included on that day.
				let patient: (typeof patients)[number] | undefined;
				for (let tries = 0; tries < patients.length && !patient; tries++) {
					const candidate = patients[next % patients.length];
					next += 1;
					if (!candidate.included_on || candidate.included_on <= onDate) patient = candidate;
				}
				if (!patient) break;
				const kind = patient.state === 'inclus' && !patient.first_contact_on && !seen.has(patient.id) ? 'premier_contact' : 'suivi';
				const [slot] = await freeSlots(db, { microstructureId: ms.id, professionalIds: [professionalId], kind, from: occ.starts_at, to: occ.ends_at, occurrenceId: occ.id, now: bookedAt, limit: 1 });
				if (!slot) break;
				const booked = await book(db, ctx, ms, { patientId: patient.id, professionalId, occurrenceId: occ.id, startsAt: slot.startsAt, kind, requestKey: crypto.randomUUID() }, bookedAt);
				if (!booked.ok) {
					summary.refused += 1;
					continue;
				}
				summary.appointments += 1;
				seen.add(patient.id);
				const a = booked.appointment;
				const cancels = cancelsDone.get(professionalId) ?? 0;
				// Two cancellations per professional: one days ahead, one late (three hours before).
				if (i === 1 && cancels < 2 && (past || cancels === 0)) {
					const at = cancels === 0 ? new Date(a.starts_at.getTime() - 3 * DAY) : new Date(a.starts_at.getTime() - 3 * HOUR);
					if (at > bookedAt && at < now) {
						const done = await cancel(db, ctx, ms, a.id, { reason: 'patient', note: cancels === 0 ? 'Empêchement professionnel' : 'Prévenu le matin même' }, at);
						if (done.ok) {
							cancelsDone.set(professionalId, cancels + 1);
							continue;
						}
					}
				}
				if (!past) continue;
				// After the slot: mostly honoured; one no-show per professional (a clinical signal for
				// the next RCP) on the latest past week, and an excused absence now and then.
				const latestPast = !occurrences[index + 1] || occurrences[index + 1].ends_at >= now;
				let status: Attendance = 'venu';
				if (latestPast && i === 0 && !noShowDone.has(professionalId)) {
					status = 'absent';
					noShowDone.add(professionalId);
				} else if (!latestPast && i === 0 && index > 0 && !excusedDone.has(professionalId)) {
					status = 'excuse';
					excusedDone.add(professionalId);
				}
				const marked = await markAttendance(db, ctx, actor, ms, a.id, status, new Date(a.ends_at.getTime() + 20 * 60_000));
				if (!marked.ok) summary.refused += 1;
			}
		}

		// A waiting list: patients with no slot that suits yet (one list per microstructure and profession).
		const listKey = `${ms.id}:${pro.profession}`;
		if (!waitingMs.has(listKey)) {
			waitingMs.add(listKey);
			// Those still without an appointment here first.
			const waiting = [...patients.filter((p) => !seen.has(p.id)), ...patients.filter((p) => seen.has(p.id)).reverse()].slice(0, 2);
			for (const [i, p] of waiting.entries()) {
				const added = await addToWaitingList(db, ctx, ms, {
					patientId: p.id,
					profession: pro.profession as Extract<Profession, 'psychologue' | 'travailleur_social' | 'psychiatre'>,
					kind: 'suivi',
					weekdays: i === 0 ? [s.weekday] : [],
					periods: i === 0 ? [] : [Number(s.start.slice(0, 2)) < 12 ? 'matin' : 'apres_midi'],
					note: i === 0 ? 'Préfère ce jour-là (travail)' : ''
				});
				if (added.ok) summary.waiting += 1;
			}
		}
	}
	return summary;
}
