// The patient's reminders: the contact and the consent recorded on the record, whether SMS can be
// sent at all here, and the reminders of their planned appointments with what became of each.
import { z } from 'zod';
import { getDb } from '$lib/server/db';
import { can } from '$lib/server/access/policy';
import { patientOf } from '$lib/server/patients/guard';
import { setReminderConsent } from '$lib/server/booking/reminders';
import { smsAvailable } from '$lib/server/booking/sms';
import { cleanPhone } from '$lib/server/booking/rooms';
import { formError, optionalText, parseForm } from '$lib/server/forms';
import { withPlanning } from '$lib/i18n/planning';

export async function load(event) {
	const { actor, ref, patient } = await patientOf(event, 'reminders');
	const db = getDb();
	const reminders = await db
		.selectFrom('appointment_reminder as r')
		.innerJoin('appointment as a', 'a.id', 'r.appointment_id')
		.select(['r.id', 'r.channel', 'r.kind', 'r.due_at', 'r.status', 'r.sent_at', 'r.last_error', 'a.starts_at'])
		.where('a.patient_id', '=', patient.id)
		.where('a.status', '=', 'prevu')
		.where('a.starts_at', '>', new Date())
		.orderBy('r.due_at')
		.limit(100)
		.execute();
	return {
		patient: { id: patient.id, code: patient.code, email: patient.email ?? '', phone: patient.phone ?? '', reminderEmail: patient.reminder_email, reminderSms: patient.reminder_sms },
		canWrite: can(actor, 'patient.write', { microstructure: ref }),
		smsAvailable: smsAvailable(),
		reminders
	};
}

const consentSchema = z.object({
	email: optionalText(254).refine((v) => v === '' || z.email().safeParse(v).success, { error: 'errors.email' }),
	phone: optionalText(25).refine((v) => cleanPhone(v) !== null, { error: 'errors.phone' }),
	reminderEmail: z.enum(['on']).optional(),
	reminderSms: z.enum(['on']).optional()
});

export const actions = {
	consent: async (event) => {
		const { actor, ref, ctx, patient } = await patientOf(event, 'reminders');
		const t = withPlanning(event.locals.locale);
		if (!can(actor, 'patient.write', { microstructure: ref })) return formError(403, t.errors.forbidden);
		const parsed = parseForm(consentSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const d = parsed.data;
		const result = await setReminderConsent(getDb(), ctx, ref, patient.id, {
			email: d.email ? d.email.toLowerCase() : null,
			phone: d.phone ? cleanPhone(d.phone) : null,
			reminderEmail: d.reminderEmail === 'on',
			reminderSms: d.reminderSms === 'on'
		});
		if (!result.ok) return formError(400, result.error, { email: d.email, phone: d.phone });
		return { success: t.reminders.saved };
	}
};
