import { redirect } from '@sveltejs/kit';
import { sql } from 'kysely';
import { z } from 'zod';
import { getDb } from '$lib/server/db';
import { can } from '$lib/server/access/policy';
import { listVisibleMicrostructures } from '$lib/server/org/microstructures';
import { patientOf } from '$lib/server/patients/guard';
import {
	accessLog,
	addConsentDocument,
	addPartner,
	anonymisePatient,
	applyPathwayAction,
	careTeam,
	removePartner,
	setCareTeam,
	timeline,
	updateRecord
} from '$lib/server/patients/patients';
import { ALLOWED_FROM, daysBetween, parisToday, RENEWAL_WINDOW_DAYS, type Action } from '$lib/server/patients/lifecycle';
import { consentMethodField, identityFields, isoDate, orNull, orientationField, readConsentFile, recordFields } from '$lib/server/patients/forms';
import { getNir, loadNirKeys, maskNir, setNir } from '$lib/server/patients/nir';
import { formError, id, optionalText, parseForm, text } from '$lib/server/forms';
import { messages } from '$lib/i18n';
import { evictDocument, notifyPatientChanged, reauthorizeDocument, reauthorizeUser } from '$lib/server/live';
import { ppsDocName } from '$lib/server/pps/pps';
import { flagPatient, openFlags, patientRcpHistory } from '$lib/server/rcp/sessions';
import { readPicks, referPatient, referralCandidates, referralStatus, REFERRAL_PROFESSIONS } from '$lib/server/patients/referral';
import { grantAccess, pendingAccessRequests } from '$lib/server/patients/requests';
import { fill } from '$lib/i18n';
import { patientAppointments } from '$lib/server/booking/appointments';
import { budgetFor } from '$lib/server/booking/budget';

export async function load(event) {
	const { actor, ms, ref, ctx, patient } = await patientOf(event);
	const db = getDb();
	const [events, team, members, documents, visible] = await Promise.all([
		timeline(db, patient.id),
		careTeam(db, patient.id),
		db
			.selectFrom('membership as m')
			.innerJoin('app_user as u', 'u.id', 'm.user_id')
			.select(['u.id', 'u.first_name', 'u.last_name', 'u.profession'])
			.where('m.microstructure_id', '=', ms.id)
			.where('m.role', 'in', ['soignant', 'coordination'])
			.where(sql<boolean>`m.starts_on <= current_date and (m.ends_on is null or m.ends_on > current_date)`)
			.orderBy('u.last_name')
			.execute(),
		db.selectFrom('consent_document').select(['id', 'filename', 'uploaded_at']).where('patient_id', '=', patient.id).orderBy('uploaded_at', 'desc').execute(),
		listVisibleMicrostructures(db, actor)
	]);
	const active = patient.state === 'inclus' || patient.state === 'en_suivi';
	const readsBooking = can(actor, 'booking.read', { microstructure: ref });
	const [rcpHistory, flags, referral, requests, appointments, budget] = await Promise.all([
		patientRcpHistory(db, patient.id),
		openFlags(db, patient.id),
		// Who the orientation refers the patient to, and whether someone still has to be chosen.
		active ? referralStatus(db, ms.id, patient.orientation, team.members.map((m) => m.id)) : Promise.resolve([]),
		pendingAccessRequests(db, patient.id),
		// The appointments and the yearly budget (booking pages: /ms/[msId]/rendez-vous/patient/[patientId]).
		readsBooking ? patientAppointments(db, ctx, ref, patient.id) : Promise.resolve([]),
		readsBooking ? budgetFor(db, patient.id) : Promise.resolve(null)
	]);
	// An inclusion from here (oriented, or exited and included again) asks who, where several could take it.
	const choices = patient.state === 'oriente' || patient.state === 'sorti' ? await referralCandidates(db, ms.id) : null;
	const canNir = can(actor, 'patient.nir', { microstructure: ref });
	const nir = canNir ? await getNir(db, patient.id, loadNirKeys()) : null;
	return {
		ms: { id: ms.id, name: ms.name, programmes: ms.programmes },
		patient,
		events,
		team,
		members,
		documents,
		// Offer only the steps that can succeed today (a renewal opens 60 days before its due date).
		allowed: Object.entries(ALLOWED_FROM)
			.filter(([kind, from]) => from.includes(patient.state) && (kind !== 'renew' || (patient.renewal_due_on !== null && daysBetween(parisToday(), patient.renewal_due_on) <= RENEWAL_WINDOW_DAYS)))
			.map(([kind]) => kind),
		transferTargets: visible
			.filter((m) => m.id !== ms.id && m.network_id === ms.network_id && m.programmes.includes(patient.programme) && can(actor, 'patient.write', { microstructure: { id: m.id, networkId: m.network_id } }))
			.map((m) => ({ id: m.id, name: m.name })),
		access: can(actor, 'patient.access_log', { microstructure: ref }) ? await accessLog(db, patient.id) : null,
		nir: canNir ? { status: nir?.status ?? null, masked: nir?.nir ? maskNir(nir.nir) : null } : undefined,
		canAnonymise: can(actor, 'patient.anonymise', { microstructure: ref }),
		rcpHistory,
		flags,
		referral: referral.map((r) => ({
			profession: r.profession,
			inTeam: r.inTeam.map((m) => ({ id: m.id, name: `${m.first_name} ${m.last_name}` })),
			candidates: r.candidates.map((c) => ({ id: c.id, name: `${c.first_name} ${c.last_name}` }))
		})),
		requests,
		referralChoices: choices
			? Object.entries(choices)
					.filter(([, people]) => people.length > 1)
					.map(([profession, people]) => ({ profession, people: people.map((p) => ({ id: p.id, name: `${p.first_name} ${p.last_name}` })) }))
			: [],
		requestedBy: event.url.searchParams.get('demande'),
		justCreated: event.url.searchParams.has('nouveau'),
		appointments,
		budget: budget?.lines ?? [],
		booking: readsBooking ? { href: `/ms/${ms.id}/rendez-vous/patient/${patient.id}`, canBook: can(actor, 'booking.book', { microstructure: ref }) && (patient.state === 'inclus' || patient.state === 'en_suivi') } : null,
		today: parisToday()
	};
}

const date = () => isoDate();
const pathwaySchemas = {
	first_contact: z.object({ on: date() }),
	contact: z.object({ on: date() }),
	renew: z.object({ on: date() }),
	exit: z.object({ on: date(), reason: z.enum(['amelioration', 'souhait_patient', 'reorientation', 'perdu_de_vue', 'demenagement', 'deces', 'autre'], { error: 'errors.choice' }), detail: optionalText(500) }),
	transfer: z.object({ on: date(), to: z.uuid({ error: 'errors.choice' }) }),
	include: z.object({ on: date(), orientation: orientationField, consentMethod: consentMethodField }),
	reinclude: z.object({ on: date(), orientation: orientationField, consentMethod: consentMethodField })
};

// Everyone unticked is a valid answer (no care team); an id that is not a member's is not.
const teamSchema = z.object({ member: z.array(id()).max(50, { error: 'errors.choice' }) });

const recordSchema = z.object({
	...identityFields,
	...recordFields,
	programme: z.enum(['MSMA', 'MSPC'], { error: 'errors.choice' }),
	insStatus: z.enum(['provisoire', 'recuperee', 'validee', 'qualifiee'], { error: 'errors.choice' })
});

export const actions = {
	flag: async (event) => {
		const { ref, ctx, patient } = await patientOf(event, 'rcp_flag');
		const parsed = parseForm(z.object({ question: text(500) }), await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		if (patient.state !== 'inclus' && patient.state !== 'en_suivi') return formError(400, messages(event.locals.locale).errors.forbidden);
		await flagPatient(getDb(), ctx, ref, patient.id, parsed.data.question);
		return { success: messages(event.locals.locale).rcp.flag.saved };
	},
	pathway: async (event) => {
		const { actor, ms, ref, ctx, patient } = await patientOf(event, 'pathway');
		const t = messages(event.locals.locale);
		const form = await event.request.formData();
		// The step is looked up among the table's own keys: `kind=__proto__` is just unknown.
		const requested = form.get('kind');
		if (typeof requested !== 'string' || !Object.hasOwn(pathwaySchemas, requested)) return formError(400, t.errors.choice, {}, { kind: t.errors.choice });
		const kind = requested as keyof typeof pathwaySchemas;
		const parsed = parseForm(pathwaySchemas[kind] as z.ZodObject, form, event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const d = parsed.data as Record<string, string>;
		let action: Action;
		let target;
		switch (kind) {
			case 'exit':
				action = { kind, on: d.on, reason: d.reason as never, detail: d.detail };
				break;
			case 'transfer': {
				const visible = await listVisibleMicrostructures(getDb(), actor);
				const m = visible.find((x) => x.id === d.to);
				target = m ? { id: m.id, networkId: m.network_id } : undefined;
				if (!target || !can(actor, 'patient.write', { microstructure: target })) return formError(400, 'Microstructure introuvable.');
				action = { kind, on: d.on, toMicrostructureId: target.id };
				break;
			}
			case 'include':
			case 'reinclude':
				action = { kind, on: d.on, orientation: d.orientation as never, consent: { on: d.on, method: d.consentMethod as never } };
				break;
			default:
				action = { kind, on: d.on };
		}
		const picks = readPicks(form);
		if (!picks.ok) return formError(400, t.common.formErrors, { ...d, kind }, { [`referTo_${picks.profession}`]: t.referral.invalid });
		const result = await applyPathwayAction(getDb(), ctx, ref, patient, action, parisToday(), target, { referTo: picks.picks });
		// Keep the step open with what was typed, so the professional only corrects the date.
		if (!result.ok) return formError(400, result.error, { ...d, kind }, result.field ? { [result.field]: result.error } : {});
		notifyPatientChanged(patient.id, ctx.actorId);
		// A patient who leaves keeps a read-only plan: open editors become readers at once.
		if (action.kind === 'exit' || action.kind === 'transfer' || action.kind === 'reinclude' || action.kind === 'include') await reauthorizeDocument(ppsDocName(patient.id));
		if (result.newPatientId && target) redirect(303, `/ms/${target.id}/patients/${result.newPatientId}`);
		return { success: t.patients.record.done, ms: ms.id };
	},
	record: async (event) => {
		const { ref, ctx, patient } = await patientOf(event, 'update');
		const parsed = parseForm(recordSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const d = parsed.data;
		const result = await updateRecord(getDb(), ctx, ref, patient, {
			identity: { lastName: d.lastName, firstName: d.firstName, birthDate: d.birthDate, sex: d.sex as never, phone: orNull(d.phone), email: orNull(d.email) },
			motif: d.motif,
			orientationOrigin: d.orientationOrigin as never,
			medecinTraitant: orNull(d.medecinTraitant),
			insStatus: d.insStatus,
			programme: d.programme
		});
		if (!result.ok) return formError(400, result.error);
		notifyPatientChanged(patient.id, ctx.actorId);
		return { success: messages(event.locals.locale).patients.record.saved };
	},
	team: async (event) => {
		const { ref, ctx, patient } = await patientOf(event, 'team');
		const parsed = parseForm(teamSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const changed = await setCareTeam(getDb(), ctx, ref, patient.id, parsed.data.member);
		await Promise.all(changed.map((userId) => reauthorizeUser(userId)));
		notifyPatientChanged(patient.id, ctx.actorId);
		return { success: messages(event.locals.locale).patients.record.saved };
	},
	refer: async (event) => {
		const { ref, ctx, patient } = await patientOf(event, 'team');
		const t = messages(event.locals.locale);
		const parsed = parseForm(z.object({ profession: z.enum(REFERRAL_PROFESSIONS, { error: 'errors.choice' }), member: id() }), await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const result = await referPatient(getDb(), ctx, ref, patient, parsed.data.profession, parsed.data.member);
		if (!result.ok) return formError(400, result.error, {}, { [`refer_${parsed.data.profession}`]: result.error });
		notifyPatientChanged(patient.id, ctx.actorId);
		const people = await getDb().selectFrom('app_user').select(['first_name', 'last_name']).where('id', 'in', result.joined.length ? result.joined : [parsed.data.member]).execute();
		return { success: fill(t.referral.referred, { names: people.map((u) => `${u.first_name} ${u.last_name}`).join(', ') }) };
	},
	grantAccess: async (event) => {
		const { ref, ctx, patient } = await patientOf(event, 'team');
		const t = messages(event.locals.locale);
		const parsed = parseForm(z.object({ member: id() }), await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const result = await grantAccess(getDb(), ctx, ref, patient, parsed.data.member);
		// A second click (another tab, a colleague first) finds the person already there: that is the outcome wanted.
		if (!result.ok && result.reason === 'already_in') return { success: fill(t.readOnly.alreadyIn, { name: result.name ?? '' }) };
		if (!result.ok) return formError(400, t.readOnly.notEligible);
		notifyPatientChanged(patient.id, ctx.actorId);
		return { success: fill(t.readOnly.granted, { name: result.name }) };
	},
	partnerAdd: async (event) => {
		const { ref, ctx, patient } = await patientOf(event, 'team');
		const parsed = parseForm(z.object({ name: text(120), role: text(120), contact: optionalText(200) }), await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		await addPartner(getDb(), ctx, ref, patient.id, parsed.data);
		return { success: messages(event.locals.locale).patients.record.saved };
	},
	partnerRemove: async (event) => {
		const { ref, ctx, patient } = await patientOf(event, 'team');
		const parsed = parseForm(z.object({ id: id() }), await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		if (!(await removePartner(getDb(), ctx, ref, patient.id, parsed.data.id))) return formError(404, 'Partenaire introuvable.');
		return { success: messages(event.locals.locale).patients.record.saved };
	},
	consent: async (event) => {
		const { ref, ctx, patient } = await patientOf(event, 'consent');
		const file = await readConsentFile((await event.request.formData()).get('consentFile'));
		if (!file.ok) return formError(400, file.error, {}, { consentFile: file.error });
		if (!file.file) return formError(400, 'Choisissez un fichier.', {}, { consentFile: 'Choisissez un fichier.' });
		await addConsentDocument(getDb(), ctx, ref, patient.id, file.file);
		notifyPatientChanged(patient.id, ctx.actorId);
		return { success: messages(event.locals.locale).patients.record.saved };
	},
	nir: async (event) => {
		const { actor, ref, user, patient } = await patientOf(event, 'nir');
		const t = messages(event.locals.locale);
		if (!can(actor, 'patient.nir', { microstructure: ref })) return formError(404, t.common.notFound);
		const parsed = parseForm(z.object({ status: z.enum(['fourni', 'refuse', 'provisoire', 'regime_particulier'], { error: 'errors.choice' }), nir: optionalText(30) }), await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const result = await setNir(getDb(), patient.id, { status: parsed.data.status, nir: parsed.data.nir }, user.id, loadNirKeys());
		if (!result.ok) return formError(400, result.error, { status: parsed.data.status }, { nir: result.error });
		return { success: t.patients.record.nirSaved };
	},
	anonymise: async (event) => {
		const { actor, ref, ctx, patient } = await patientOf(event, 'anonymise');
		const t = messages(event.locals.locale);
		if (!can(actor, 'patient.anonymise', { microstructure: ref })) return formError(404, t.common.notFound);
		if (patient.state === 'sorti' || patient.state === 'transfere') await evictDocument(ppsDocName(patient.id));
		const result = await anonymisePatient(getDb(), ctx, ref, patient);
		if (!result.ok) return formError(400, result.error);
		notifyPatientChanged(patient.id, ctx.actorId);
		return { success: t.patients.record.anonymised };
	}
};
