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
import { formError, optionalText, parseForm, text } from '$lib/server/forms';
import { messages } from '$lib/i18n';
import { evictDocument, notifyPatientChanged, reauthorizeDocument, reauthorizeUser } from '$lib/server/realtime/attach';
import { ppsDocName } from '$lib/server/pps/pps';
import { flagPatient, openFlags, patientRcpHistory } from '$lib/server/rcp/sessions';

export async function load(event) {
	const { actor, ms, ref, patient } = await patientOf(event);
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
	const [rcpHistory, flags] = await Promise.all([patientRcpHistory(db, patient.id), openFlags(db, patient.id)]);
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
		justCreated: event.url.searchParams.has('nouveau'),
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
	reinclude: z.object({ on: date(), orientation: orientationField, consentMethod: consentMethodField })
};

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
		const kind = String(form.get('kind') ?? '') as keyof typeof pathwaySchemas;
		const schema = pathwaySchemas[kind];
		if (!schema) return formError(400, t.errors.choice);
		const parsed = parseForm(schema as z.ZodObject, form, event.locals.locale);
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
			case 'reinclude':
				action = { kind, on: d.on, orientation: d.orientation as never, consent: { on: d.on, method: d.consentMethod as never } };
				break;
			default:
				action = { kind, on: d.on };
		}
		const result = await applyPathwayAction(getDb(), ctx, ref, patient, action, parisToday(), target);
		// Keep the step open with what was typed, so the professional only corrects the date.
		if (!result.ok) return formError(400, result.error, { ...d, kind });
		notifyPatientChanged(patient.id, ctx.actorId);
		// A patient who leaves keeps a read-only plan: open editors become readers at once.
		if (action.kind === 'exit' || action.kind === 'transfer' || action.kind === 'reinclude') await reauthorizeDocument(ppsDocName(patient.id));
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
		const form = await event.request.formData();
		const ids = form.getAll('member').filter((v): v is string => typeof v === 'string').slice(0, 50);
		const changed = await setCareTeam(getDb(), ctx, ref, patient.id, ids);
		await Promise.all(changed.map((userId) => reauthorizeUser(userId)));
		notifyPatientChanged(patient.id, ctx.actorId);
		return { success: messages(event.locals.locale).patients.record.saved };
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
		const parsed = parseForm(z.object({ id: z.uuid() }), await event.request.formData(), event.locals.locale);
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
