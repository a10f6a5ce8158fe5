// Discreet appointment reminders (issue 12, point 6).
//
// A reminder is a row of appointment_reminder written in the booking's own transaction: if the
// booking commits, its reminders exist; if it rolls back, they never did. The rows are the queue's
// durable outbox: the job queue (../jobs/) picks the due ones up and sends each exactly once by
// claiming its row (status 'prevu' → 'envoye') in the same transaction as the sending, so a
// cancellation that commits first wins, a concurrent worker finds nothing to claim, and a crash
// before the commit leaves the row 'prevu' for the next worker (after a restart or a kill -9).
//
// The text names no programme, motive or profession, nor the professional (a name can reveal a
// profession): the date, the time (Paris), the practice's address and a phone number to cancel.
import { sql } from 'kysely';
import type { Db } from '../db/index.ts';
import { audit, type AuditContext } from '../audit/audit.ts';
import { deliverMail } from '../mail/mailer.ts';
import { parisInstant, parisWallClock } from '../rcp/schedule.ts';
import { SMS_UNAVAILABLE_REASON, smsProvider } from './sms.ts';

export type ReminderChannel = 'email' | 'sms';
export type ReminderKind = 'j_moins_2' | 'matin';
export type ReminderStatus = 'prevu' | 'envoye' | 'annule' | 'non_envoye';

/** The morning reminder's Paris wall-clock time, the day of the appointment. */
export const MORNING_TIME = '08:00';
const TWO_DAYS_MS = 48 * 3600_000;
/** Attempts before a failing reminder is given up ('non_envoye' with the last error). */
export const MAX_ATTEMPTS = 5;

export interface ScheduledReminder {
	channel: ReminderChannel;
	kind: ReminderKind;
	dueAt: Date;
	status: ReminderStatus;
	reason: string | null;
}

/** When each kind of reminder falls for an appointment starting at `startsAt`. */
export function reminderTimes(startsAt: Date): { kind: ReminderKind; dueAt: Date }[] {
	const { date } = parisWallClock(startsAt);
	return [
		{ kind: 'j_moins_2', dueAt: new Date(startsAt.getTime() - TWO_DAYS_MS) },
		{ kind: 'matin', dueAt: parisInstant(date, MORNING_TIME) }
	];
}

/**
 * Writes the reminders of an appointment (call it inside the booking's or the move's transaction):
 * by e-mail if the patient agreed and an address is recorded, by SMS if they agreed and a phone is
 * recorded. Reminders already past (or not before the appointment) are skipped. Without an SMS
 * provider the SMS rows are written 'non_envoye' with the reason, so the screen can say so.
 * Idempotent: calling it twice writes nothing more.
 */
export async function scheduleReminders(trx: Db, appointmentId: string, now = new Date()): Promise<ScheduledReminder[]> {
	const row = await trx
		.selectFrom('appointment as a')
		.innerJoin('patient as p', 'p.id', 'a.patient_id')
		.select(['a.starts_at', 'a.status', 'p.reminder_email', 'p.reminder_sms', 'p.email', 'p.phone', 'p.anonymised_at'])
		.where('a.id', '=', appointmentId)
		.executeTakeFirst();
	if (!row || row.status !== 'prevu' || row.anonymised_at) return [];
	const channels: ReminderChannel[] = [];
	if (row.reminder_email && row.email?.trim()) channels.push('email');
	if (row.reminder_sms && row.phone?.trim()) channels.push('sms');
	const times = reminderTimes(row.starts_at).filter((t) => t.dueAt > now && t.dueAt < row.starts_at);
	if (channels.length === 0 || times.length === 0) return [];
	const sms = smsProvider() !== undefined;
	const planned: ScheduledReminder[] = [];
	for (const channel of channels)
		for (const { kind, dueAt } of times) {
			const unavailable = channel === 'sms' && !sms;
			planned.push({
				channel,
				kind,
				dueAt,
				status: unavailable ? 'non_envoye' : 'prevu',
				reason: unavailable ? SMS_UNAVAILABLE_REASON : null
			});
		}
	await trx
		.insertInto('appointment_reminder')
		.values(
			planned.map((r) => ({
				appointment_id: appointmentId,
				channel: r.channel,
				kind: r.kind,
				due_at: r.dueAt,
				status: r.status,
				last_error: r.reason
			}))
		)
		.onConflict((oc) => oc.columns(['appointment_id', 'channel', 'kind']).doNothing())
		.execute();
	return planned;
}

/** Cancels the pending reminders of an appointment (inside the cancellation's or the move's transaction). */
export async function cancelReminders(trx: Db, appointmentId: string): Promise<number> {
	const result = await trx
		.updateTable('appointment_reminder')
		.set({ status: 'annule' })
		.where('appointment_id', '=', appointmentId)
		.where('status', '=', 'prevu')
		.executeTakeFirst();
	return Number(result.numUpdatedRows);
}

/** The reminders of an appointment, for the booking screen. */
export async function remindersOf(db: Db, appointmentId: string) {
	return db
		.selectFrom('appointment_reminder')
		.select(['id', 'channel', 'kind', 'due_at', 'status', 'sent_at', 'attempts', 'last_error'])
		.where('appointment_id', '=', appointmentId)
		.orderBy('due_at')
		.orderBy('channel')
		.execute();
}

/** Ids of the reminders due now (oldest first), for the queue's dispatcher. */
export async function dueReminderIds(db: Db, limit = 200, now = new Date()): Promise<string[]> {
	const rows = await db
		.selectFrom('appointment_reminder')
		.select('id')
		.where('status', '=', 'prevu')
		.where('due_at', '<=', now)
		.orderBy('due_at')
		.limit(limit)
		.execute();
	return rows.map((r) => r.id);
}

const frenchDate = new Intl.DateTimeFormat('fr-FR', { timeZone: 'Europe/Paris', weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });

export interface ReminderFacts {
	startsAt: Date;
	siteName: string;
	address: string;
	postalCode: string;
	city: string;
	phone: string;
}

/**
 * The reminder's text. Deliberately bare: a reminder may be read by someone else (a shared
 * mailbox, a phone on a table), so it names no programme, motive, profession or professional.
 */
export function reminderMessage(facts: ReminderFacts, channel: ReminderChannel): { subject: string; text: string } {
	const { time } = parisWallClock(facts.startsAt);
	const [h, m] = time.split(':');
	const when = `${frenchDate.format(facts.startsAt)} à ${Number(h)}\u00a0h\u00a0${m}`;
	// The address only: a practice's name could itself say what it treats.
	const place = [facts.address, [facts.postalCode, facts.city].filter(Boolean).join(' ')].filter((s) => s.trim()).join(', ') || facts.siteName || 'au cabinet';
	const cancel = facts.phone.trim()
		? `Pour annuler ou déplacer ce rendez-vous, appelez le ${facts.phone.trim()}.`
		: 'Pour annuler ou déplacer ce rendez-vous, appelez le cabinet.';
	if (channel === 'sms') return { subject: '', text: `Rappel : rendez-vous le ${when}, ${place}. ${cancel}` };
	return {
		subject: 'Rappel de rendez-vous',
		text: ['Bonjour,', '', `Nous vous rappelons votre rendez-vous le ${when}.`, '', `Adresse : ${place}`, '', cancel, '', 'Ce message est envoyé automatiquement, merci de ne pas y répondre.'].join('\n')
	};
}

export type SendOutcome = 'envoye' | 'deja_traite' | 'non_envoye';

/**
 * Sends one reminder, exactly once: the row is claimed ('prevu' → 'envoye') and the message sent in
 * one transaction. A cancellation committed first leaves nothing to claim; one arriving meanwhile
 * waits on the row lock and then finds it sent. A failed send rolls the claim back, records the
 * attempt and throws (the queue retries); after MAX_ATTEMPTS the reminder is given up.
 * A reminder whose appointment is no longer planned, already begun, or whose patient withdrew the
 * consent or the contact, is not sent ('non_envoye' with the reason).
 */
export async function sendReminder(db: Db, reminderId: string, now = new Date()): Promise<SendOutcome> {
	try {
		return await db.transaction().execute(async (trx) => {
			const target = await trx.selectFrom('appointment_reminder').select('appointment_id').where('id', '=', reminderId).executeTakeFirst();
			if (!target) return 'deja_traite' as const;
			// Lock order as in a cancellation (the appointment, then its reminders), so that the two
			// never deadlock; a cancellation under way is waited for and then seen.
			const appointment = await trx
				.selectFrom('appointment')
				.select(['starts_at', 'status', 'microstructure_id', 'patient_id', 'room_id', 'occurrence_id'])
				.where('id', '=', target.appointment_id)
				.forShare()
				.executeTakeFirstOrThrow();
			const claimed = await trx
				.updateTable('appointment_reminder')
				.set({ status: 'envoye', sent_at: now, attempts: sql<number>`attempts + 1`, last_error: null })
				.where('id', '=', reminderId)
				.where('status', '=', 'prevu')
				.returning(['channel'])
				.executeTakeFirst();
			if (!claimed) return 'deja_traite' as const;
			const patient = await trx
				.selectFrom('patient')
				.select(['email', 'phone', 'reminder_email', 'reminder_sms', 'anonymised_at'])
				.where('id', '=', appointment.patient_id)
				.executeTakeFirstOrThrow();
			const siteColumns = ['s.name', 's.address', 's.postal_code', 's.city', 's.phone'] as const;
			// The room's site gives the address and the phone; without a room, the microstructure's first site.
			const site =
				(appointment.room_id
					? await trx.selectFrom('room as r').innerJoin('site as s', 's.id', 'r.site_id').select(siteColumns).where('r.id', '=', appointment.room_id).executeTakeFirst()
					: undefined) ??
				(await trx.selectFrom('site as s').select(siteColumns).where('s.microstructure_id', '=', appointment.microstructure_id).orderBy('s.name').executeTakeFirst()) ?? {
					name: '',
					address: '',
					postal_code: '',
					city: '',
					phone: ''
				};
			const refuse = async (reason: string) => {
				await trx.updateTable('appointment_reminder').set({ status: 'non_envoye', sent_at: null, last_error: reason }).where('id', '=', reminderId).execute();
				return 'non_envoye' as const;
			};
			if (appointment.status !== 'prevu') return refuse('Rendez-vous plus prévu.');
			if (appointment.starts_at <= now) return refuse('Rendez-vous déjà commencé.');
			// An absence (or an ended series) cancelled the date: the appointment is to be moved, not confirmed.
			const occurrence = await trx.selectFrom('permanence_occurrence').select('cancelled_at').where('id', '=', appointment.occurrence_id).executeTakeFirst();
			if (!occurrence || occurrence.cancelled_at) return refuse('Date de permanence annulée : rendez-vous à déplacer.');
			if (patient.anonymised_at) return refuse('Dossier anonymisé.');
			const message = reminderMessage(
				{ startsAt: appointment.starts_at, siteName: site.name, address: site.address, postalCode: site.postal_code, city: site.city, phone: site.phone },
				claimed.channel
			);
			if (claimed.channel === 'email') {
				if (!patient.reminder_email || !patient.email?.trim()) return refuse('Consentement ou adresse e-mail retirés.');
				const channel = await deliverMail({ to: patient.email.trim(), subject: message.subject, text: message.text });
				if (channel === 'none') return refuse('Aucun serveur d’envoi d’e-mails configuré.');
			} else {
				if (!patient.reminder_sms || !patient.phone?.trim()) return refuse('Consentement ou téléphone retirés.');
				const provider = smsProvider();
				if (!provider) return refuse(SMS_UNAVAILABLE_REASON);
				await provider.send(patient.phone.trim(), message.text);
			}
			return 'envoye' as const;
		});
	} catch (error) {
		// The claim rolled back: the row is 'prevu' again. Record the attempt outside it.
		const message = error instanceof Error ? error.message : String(error);
		const row = await db
			.updateTable('appointment_reminder')
			.set({ attempts: sql<number>`attempts + 1`, last_error: message.slice(0, 500) })
			.where('id', '=', reminderId)
			.where('status', '=', 'prevu')
			.returning('attempts')
			.executeTakeFirst();
		if (row && row.attempts >= MAX_ATTEMPTS) {
			await db.updateTable('appointment_reminder').set({ status: 'non_envoye' }).where('id', '=', reminderId).where('status', '=', 'prevu').execute();
			return 'non_envoye';
		}
		throw error;
	}
}

export interface ConsentInput {
	email: string | null;
	phone: string | null;
	reminderEmail: boolean;
	reminderSms: boolean;
}

/**
 * Records the patient's contact and consent to reminders (the caller checked patient.write), and
 * brings the planned appointments in line in the same transaction: reminders written for a consent
 * given, withdrawn for one taken back. Returns a French error for a consent without its contact.
 */
export async function setReminderConsent(
	db: Db,
	ctx: AuditContext,
	ms: { id: string; networkId: string },
	patientId: string,
	input: ConsentInput,
	now = new Date()
): Promise<{ ok: true } | { ok: false; error: string }> {
	if (input.reminderEmail && !input.email) return { ok: false, error: 'Une adresse e-mail est nécessaire pour les rappels par e-mail.' };
	if (input.reminderSms && !input.phone) return { ok: false, error: 'Un numéro de téléphone est nécessaire pour les rappels par SMS.' };
	return db.transaction().execute(async (trx) => {
		const before = await trx
			.selectFrom('patient')
			.select(['reminder_email', 'reminder_sms', 'email', 'phone'])
			.where('id', '=', patientId)
			.where('microstructure_id', '=', ms.id)
			.forUpdate()
			.executeTakeFirst();
		if (!before) return { ok: false as const, error: 'Patient introuvable.' };
		await trx
			.updateTable('patient')
			.set({ email: input.email, phone: input.phone, reminder_email: input.reminderEmail, reminder_sms: input.reminderSms, updated_at: now })
			.where('id', '=', patientId)
			.execute();
		const planned = await trx
			.selectFrom('appointment')
			.select('id')
			.where('patient_id', '=', patientId)
			.where('status', '=', 'prevu')
			.where('starts_at', '>', now)
			.execute();
		for (const a of planned) {
			// Withdrawn channels (or a changed contact): pending reminders go; the others are written afresh.
			const drop: ReminderChannel[] = [];
			if (!input.reminderEmail || input.email !== before.email) drop.push('email');
			if (!input.reminderSms || input.phone !== before.phone) drop.push('sms');
			// Pending rows of those channels go (a sender holding one finishes first, and the row, then
			// sent, stays); scheduleReminders writes what the consent now allows.
			if (drop.length)
				await trx.deleteFrom('appointment_reminder').where('appointment_id', '=', a.id).where('channel', 'in', drop).where('status', 'in', ['prevu', 'non_envoye']).execute();
			await scheduleReminders(trx, a.id, now);
		}
		await audit(trx, ctx, {
			action: 'patient.reminder_consent',
			targetType: 'patient',
			targetId: patientId,
			microstructureId: ms.id,
			networkId: ms.networkId,
			details: { email: input.reminderEmail, sms: input.reminderSms, appointments: planned.length }
		});
		return { ok: true as const };
	});
}
