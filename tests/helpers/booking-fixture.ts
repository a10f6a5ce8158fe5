// Minimal booking data written straight into a real database for the reminder and calendar tests:
// a microstructure with a site (address, phone) and a room, and on demand a professional with a
// permanence occurrence and one appointment of a patient inside it (the database's constraints
// still hold: the appointment lies in a live occurrence of its professional).
import { randomUUID } from 'node:crypto';
import type { Db } from '../../src/lib/server/db/index.ts';
import type { Profession } from '../../src/lib/server/db/schema.ts';
import { parisWallClock } from '../../src/lib/server/rcp/schedule.ts';

export interface Practice {
	networkId: string;
	microstructureId: string;
	siteId: string;
	roomId: string;
}

export const SITE = { name: 'Maison de santé du Canal', address: '12 rue des Tanneurs', postal_code: '67000', city: 'Strasbourg', phone: '03 88 00 11 22' };

export async function createPractice(db: Db, tag = randomUUID().slice(0, 8)): Promise<Practice> {
	const network = await db.insertInto('network').values({ name: `Réseau ${tag}` }).returning('id').executeTakeFirstOrThrow();
	const ms = await db
		.insertInto('microstructure')
		.values({ network_id: network.id, name: `Microstructure addictions ${tag}`, programmes: ['MSMA'] })
		.returning('id')
		.executeTakeFirstOrThrow();
	const site = await db
		.insertInto('site')
		.values({ microstructure_id: ms.id, ...SITE })
		.returning('id')
		.executeTakeFirstOrThrow();
	const room = await db.insertInto('room').values({ site_id: site.id, name: `Bureau ${tag}`, archived_at: null }).returning('id').executeTakeFirstOrThrow();
	return { networkId: network.id, microstructureId: ms.id, siteId: site.id, roomId: room.id };
}

export async function createUser(db: Db, profession: Profession, lastName: string, firstName = 'Camille') {
	return db
		.insertInto('app_user')
		.values({
			email: `${randomUUID()}@example.test`,
			first_name: firstName,
			last_name: lastName,
			profession,
			rpps: null,
			adeli: null,
			password_hash: 'x',
			totp_key: null,
			totp_last_step: null,
			disabled_at: null
		})
		.returning(['id', 'first_name', 'last_name'])
		.executeTakeFirstOrThrow();
}

export interface PatientOptions {
	email?: string | null;
	phone?: string | null;
	reminderEmail?: boolean;
	reminderSms?: boolean;
	lastName?: string;
	firstName?: string;
}

export async function createPatient(db: Db, practice: Practice, opts: PatientOptions = {}) {
	return db
		.insertInto('patient')
		.values({
			microstructure_id: practice.microstructureId,
			code: `T-${randomUUID().slice(0, 10)}`,
			last_name: opts.lastName ?? 'Durandal',
			first_name: opts.firstName ?? 'Josiane',
			birth_date: '1970-01-01',
			sex: 'F',
			phone: opts.phone ?? null,
			email: opts.email ?? null,
			programme: 'MSMA',
			motif: 'addiction',
			orientation_origin: null,
			orientation: 'psychologue',
			medecin_traitant: null,
			state: 'inclus',
			oriented_on: null,
			included_on: '2026-01-05',
			renewal_due_on: null,
			first_contact_on: null,
			last_contact_on: null,
			exited_on: null,
			exit_reason: null,
			consent_on: null,
			consent_method: null,
			consent_attested_by: null,
			transferred_from: null,
			created_by: null,
			anonymised_at: null,
			reminder_email: opts.reminderEmail ?? false,
			reminder_sms: opts.reminderSms ?? false
		})
		.returning(['id', 'code', 'last_name', 'first_name'])
		.executeTakeFirstOrThrow();
}

const ISO_DOW = (date: string) => {
	const d = new Date(`${date}T12:00:00Z`).getUTCDay();
	return d === 0 ? 7 : d;
};

/**
 * A one-off occurrence of a weekly permanence of `professionalId` around `startsAt` (from 30 min
 * before to 90 min after), and an appointment of `patientId` at `startsAt` for `minutes`.
 */
export async function createAppointment(
	db: Db,
	practice: Practice,
	professionalId: string,
	patientId: string,
	startsAt: Date,
	opts: { minutes?: number; profession?: Profession; kind?: 'premier_contact' | 'suivi'; roomId?: string } = {}
) {
	const minutes = opts.minutes ?? 45;
	// A room of its own unless told (rooms are held once at a time, like professionals).
	const roomId =
		opts.roomId ??
		(await db.insertInto('room').values({ site_id: practice.siteId, name: `Salle ${randomUUID().slice(0, 8)}`, archived_at: null }).returning('id').executeTakeFirstOrThrow()).id;
	const { date } = parisWallClock(startsAt);
	const occStart = new Date(startsAt.getTime() - 30 * 60_000);
	const occEnd = new Date(startsAt.getTime() + 90 * 60_000);
	const permanence = await db
		.insertInto('permanence')
		.values({
			microstructure_id: practice.microstructureId,
			professional_id: professionalId,
			room_id: roomId,
			weekday: ISO_DOW(date),
			every_weeks: 1,
			starts_on: date,
			ends_on: date,
			start_time: parisWallClock(occStart).time,
			end_time: parisWallClock(occEnd).time > parisWallClock(occStart).time ? parisWallClock(occEnd).time : '23:59',
			first_minutes: 60,
			followup_minutes: 45,
			previous_id: null,
			created_by: null
		})
		.returning('id')
		.executeTakeFirstOrThrow();
	const occurrence = await db
		.insertInto('permanence_occurrence')
		.values({
			permanence_id: permanence.id,
			microstructure_id: practice.microstructureId,
			professional_id: professionalId,
			room_id: roomId,
			on_date: date,
			starts_at: occStart,
			ends_at: occEnd,
			cancelled_at: null,
			cancel_reason: null,
			absence_id: null
		})
		.returning('id')
		.executeTakeFirstOrThrow();
	return db
		.insertInto('appointment')
		.values({
			microstructure_id: practice.microstructureId,
			patient_id: patientId,
			professional_id: professionalId,
			profession: opts.profession ?? 'psychologue',
			occurrence_id: occurrence.id,
			room_id: roomId,
			kind: opts.kind ?? 'suivi',
			starts_at: startsAt,
			ends_at: new Date(startsAt.getTime() + minutes * 60_000),
			booked_by: professionalId,
			request_key: randomUUID(),
			refills_id: null,
			moved_to: null,
			cancelled_at: null,
			cancelled_by: null,
			cancel_reason: null,
			attendance_marked_at: null,
			attendance_marked_by: null
		})
		.returning(['id', 'starts_at', 'occurrence_id'])
		.executeTakeFirstOrThrow();
}

/** Cancels an appointment the way the booking module does: the status and its reminders in one transaction. */
export async function cancelAppointment(db: Db, appointmentId: string, byUserId: string, cancelReminders: (trx: Db, id: string) => Promise<unknown>) {
	await db.transaction().execute(async (trx) => {
		await trx
			.updateTable('appointment')
			.set({ status: 'annule', cancelled_at: new Date(), cancelled_by: byUserId, cancel_reason: 'patient' })
			.where('id', '=', appointmentId)
			.execute();
		await cancelReminders(trx, appointmentId);
	});
}
