// Booking data for tests/e2e/booking.spec.ts, written into the end-to-end server's PostgreSQL
// database (run with tsx in a child process: `tsx tests/e2e/booking-seed.ts <command> [args]`,
// DATABASE_URL pointing at that database). Prints one JSON line.
//  - `permanences`: Camille Durand (psychologist) holds permanences at the Cabinet des Tanneurs on the
//    next days, through the domain's createPermanence (occurrences generated on the Paris wall clock).
//  - `past <patientId>`: a first appointment of that patient with Camille that has already started
//    (booking refuses the past, so the row is written as the booking would have written it earlier).
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { closeDb, getDb } from '../../src/lib/server/db/index.ts';
import { createPermanence } from '../../src/lib/server/booking/permanences.ts';
import { addDays, parisToday } from '../../src/lib/server/patients/lifecycle.ts';
import { parisWallClock } from '../../src/lib/server/rcp/schedule.ts';

const db = getDb();
const [command, arg] = process.argv.slice(2);

async function refs() {
	const ms = await db.selectFrom('microstructure').select(['id', 'network_id']).where('name', '=', 'Cabinet des Tanneurs').executeTakeFirstOrThrow();
	const camille = await db.selectFrom('app_user').select('id').where('email', '=', 'camille.durand@demo.microstructures.fr').executeTakeFirstOrThrow();
	return { ms: { id: ms.id, networkId: ms.network_id }, camille: camille.id };
}

const isoDay = (date: string) => ((new Date(`${date}T12:00:00Z`).getUTCDay() + 6) % 7) + 1;

async function permanences() {
	const { ms, camille } = await refs();
	const today = parisToday();
	const created: string[] = [];
	// The next three days, at hours the demo's own permanences may not use: the first that fits.
	for (const offset of [1, 2, 3]) {
		const day = addDays(today, offset);
		for (const [start, end] of [['07:00', '09:00'], ['19:00', '21:00'], ['06:00', '07:30'], ['21:00', '22:30']]) {
			const r = await createPermanence(db, { actorId: camille, ip: null, userAgent: 'e2e' }, ms, {
				professionalId: camille,
				roomId: null,
				weekday: isoDay(day),
				everyWeeks: 1,
				startsOn: day,
				endsOn: addDays(day, 21),
				startTime: start,
				endTime: end,
				firstMinutes: 60,
				followupMinutes: 45
			});
			if (r.ok) {
				created.push(r.id);
				break;
			}
		}
	}
	return { msId: ms.id, camille, permanences: created.length };
}

async function past(patientId: string) {
	const { ms, camille } = await refs();
	// Started at least two hours ago, on a free moment of Camille's (her occurrences may not overlap).
	for (let back = 3; back < 30; back++) {
		const start = new Date(Math.floor((Date.now() - back * 3600_000) / 300_000) * 300_000);
		const end = new Date(start.getTime() + 60 * 60_000);
		const { date, time } = parisWallClock(start);
		const endTime = parisWallClock(end).time;
		if (endTime <= time) continue; // across midnight: try another hour
		try {
			const id = await db.transaction().execute(async (trx) => {
				const permanence = await trx
					.insertInto('permanence')
					.values({ microstructure_id: ms.id, professional_id: camille, room_id: null, weekday: isoDay(date), every_weeks: 1, starts_on: date, ends_on: date, start_time: time, end_time: endTime, first_minutes: 60, followup_minutes: 45, created_by: camille })
					.returning('id')
					.executeTakeFirstOrThrow();
				const occurrence = await trx
					.insertInto('permanence_occurrence')
					.values({ permanence_id: permanence.id, microstructure_id: ms.id, professional_id: camille, room_id: null, on_date: date, starts_at: start, ends_at: end })
					.returning('id')
					.executeTakeFirstOrThrow();
				const appointment = await trx
					.insertInto('appointment')
					.values({
						microstructure_id: ms.id,
						patient_id: patientId,
						professional_id: camille,
						profession: 'psychologue',
						occurrence_id: occurrence.id,
						room_id: null,
						kind: 'premier_contact',
						starts_at: start,
						ends_at: end,
						booked_by: camille,
						booked_at: sql`${new Date(start.getTime() - 7 * 86_400_000)}::timestamptz`,
						request_key: randomUUID()
					})
					.returning('id')
					.executeTakeFirstOrThrow();
				return appointment.id;
			});
			return { appointmentId: id, date, time };
		} catch (error) {
			if ((error as { code?: string }).code !== '23P01') throw error;
		}
	}
	throw new Error('no free past hour for Camille');
}

const result = command === 'permanences' ? await permanences() : command === 'past' ? await past(arg) : null;
if (!result) throw new Error(`unknown command ${command}`);
console.log(JSON.stringify(result));
await closeDb();
