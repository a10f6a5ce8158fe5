// Patients of a microstructure: the record, its pathway steps, its care team and its timeline.
// Every read and write of patient data goes through here and is written to the audit log.
import { sql } from 'kysely';
import { encodeBase32UpperCaseNoPadding } from '@oslojs/encoding';
import { executePrepared, inTransaction, type Db } from '../db/index.ts';
import type { InsStatus, Motif, OrientationOrigin, Patient, Programme } from '../db/schema.ts';
import { audit, type AuditContext } from '../audit/audit.ts';
import { can, type Actor, type MicrostructureRef } from '../access/policy.ts';
import { isUuid } from '../org/microstructures.ts';
import { addDays, applyAction, parisToday, startPathway, type Action } from './lifecycle.ts';
import { todoItems, FIRST_CONTACT_DAYS, RENEWAL_NOTICE_DAYS, type TodoRow } from './todo.ts';
import { noShowToFollowUp } from '../booking/no-shows.ts';
import { lockIdentity, matchingRecords, reportFor, type DuplicateReport } from './duplicates.ts';
import { writeNir, type NirKeys, type NirRow } from './nir.ts';
import { addReferred, afterReferral, planReferral, type ReferralPicks, type ReferralPlan } from './referral.ts';
import { fr } from '../../i18n/fr.ts';

export interface Identity {
	lastName: string;
	firstName: string;
	birthDate: string;
	sex: 'F' | 'M' | 'X' | null;
	phone: string | null;
	email: string | null;
}

export interface NewPatient {
	identity: Identity;
	programme: Programme;
	motif: Motif;
	orientationOrigin: OrientationOrigin | null;
	medecinTraitant: string | null;
	start: Parameters<typeof startPathway>[0];
}

/** How a patient is named on a page: the code alone once anonymised. */
export function patientLabel(p: Pick<Patient, 'code' | 'last_name' | 'first_name' | 'anonymised_at'>): string {
	return p.anonymised_at ? p.code : `${p.last_name?.toUpperCase() ?? ''} ${p.first_name ?? ''}`.trim();
}

/** Adds a dated, attributed fact to a patient's timeline. */
export async function recordEvent(db: Db, patientId: string, kind: string, occurredOn: string, by: string | null, details: Record<string, unknown> = {}): Promise<void> {
	await db.insertInto('patient_event').values({ patient_id: patientId, kind, occurred_on: occurredOn, recorded_by: by, details: JSON.stringify(details) }).execute();
}

/** Codes shown in lists that others may glance at: no name, no date of birth. */
export function generatePatientCode(): string {
	const raw = encodeBase32UpperCaseNoPadding(crypto.getRandomValues(new Uint8Array(5)));
	return `P-${raw.slice(0, 4)}-${raw.slice(4, 8)}`;
}


export interface CreateOptions {
	/** The professional chosen per profession when several could take the referral. */
	referTo?: ReferralPicks;
	/** "C'est un homonyme": the fingerprint of the matches the user was shown (duplicates.ts). */
	homonymOf?: string | null;
	/** A NIR typed at inclusion (administrative coordination), checked and sealed by nir.ts. */
	nir?: { row: NirRow; nir: string | null } | null;
	/** The NIR keys, to compare NIRs; only needed when a NIR was typed. */
	nirKeys?: NirKeys | null;
}

export type CreateResult =
	| { ok: true; id: string; code: string; referral: ReferralPlan; joined: string[] }
	| { ok: false; error: string; field?: string; duplicate?: DuplicateReport };

/**
 * Creates a patient, unless the same person is already recorded in the network (duplicates.ts):
 * then nothing is written and the matches come back, as the user may see them; confirming a
 * namesake (`homonymOf`, the matches' fingerprint) creates it anyway, audited. Inclusions of one
 * identity are serialised by an advisory lock held until the commit, so that two concurrent ones
 * cannot both pass the check. The care team (the person who includes, the professionals the
 * orientation refers to), their notifications and the NIR are written in the same transaction.
 */
export async function createPatient(
	db: Db,
	ctx: AuditContext & { actorId: string },
	ms: MicrostructureRef,
	input: NewPatient,
	today: string,
	options: CreateOptions = {}
): Promise<CreateResult> {
	const started = startPathway(input.start, today);
	if (!started.ok) return started;
	const code = generatePatientCode();
	const keys = options.nir?.nir ? (options.nirKeys ?? null) : null;
	if (options.nir?.nir && !keys) throw new Error('createPatient: a NIR needs the NIR keys');
	const probe = { lastName: input.identity.lastName, firstName: input.identity.firstName, birthDate: input.identity.birthDate, nir: options.nir?.nir ?? null };
	const outcome = await inTransaction(db, async (trx) => {
		await lockIdentity(trx, ms.networkId, probe, keys);
		const report = reportFor(ms, await matchingRecords(trx, ms.networkId, probe, keys));
		if (report) {
			const t = fr.duplicates;
			if (!options.homonymOf) return { ok: false as const, error: t.title, duplicate: report };
			if (options.homonymOf !== report.fingerprint) return { ok: false as const, error: t.changed, duplicate: report };
			if (report.byNir) return { ok: false as const, error: t.nirNoHomonym, duplicate: report };
		}
		let plan: ReferralPlan = { add: [], pending: [], missing: [] };
		if (input.start.kind === 'include') {
			const planned = await planReferral(trx, ms.id, input.start.orientation, options.referTo, [ctx.actorId]);
			if (!planned.ok) return { ok: false as const, error: fr.referral.invalid, field: `referTo_${planned.profession}` };
			plan = planned.plan;
		}
		const row = await trx
			.insertInto('patient')
			.values({
				microstructure_id: ms.id,
				code,
				last_name: input.identity.lastName,
				first_name: input.identity.firstName,
				birth_date: input.identity.birthDate,
				sex: input.identity.sex,
				phone: input.identity.phone,
				email: input.identity.email,
				programme: input.programme,
				motif: input.motif,
				orientation_origin: input.orientationOrigin,
				medecin_traitant: input.medecinTraitant,
				...started.pathway,
				consent_attested_by: started.pathway.consent_on ? ctx.actorId : null,
				transferred_from: null,
				created_by: ctx.actorId,
				anonymised_at: null
			})
			.returning('id')
			.executeTakeFirstOrThrow();
		await recordEvent(trx, row.id, started.event.kind, started.event.occurred_on, ctx.actorId, started.event.details);
		// Whoever includes a patient is in the patient's care team, with the professionals referred to.
		await trx.insertInto('patient_team_member').values({ patient_id: row.id, user_id: ctx.actorId }).execute();
		const joined = await addReferred(trx, { id: row.id, code, microstructure_id: ms.id }, plan.add, ctx.actorId);
		if (options.nir) await writeNir(trx, row.id, options.nir.row, ctx.actorId);
		return { ok: true as const, id: row.id, plan, joined, homonymOf: report ? report.here.length + report.elsewhere.count : 0 };
	});
	if (!outcome.ok) {
		if (outcome.duplicate) {
			const d = outcome.duplicate;
			await audit(db, ctx, { action: 'patient.duplicate_found', targetType: 'microstructure', targetId: ms.id, microstructureId: ms.id, networkId: ms.networkId, details: { here: d.here.length, elsewhere: d.elsewhere.count, byNir: d.byNir } });
		}
		return outcome;
	}
	const id = outcome.id;
	await audit(db, ctx, { action: 'patient.created', targetType: 'patient', targetId: id, microstructureId: ms.id, networkId: ms.networkId, details: { state: started.pathway.state, referred: outcome.joined.length } });
	if (outcome.homonymOf) {
		await audit(db, ctx, { action: 'patient.homonym_confirmed', targetType: 'patient', targetId: id, microstructureId: ms.id, networkId: ms.networkId, details: { matches: outcome.homonymOf } });
	}
	if (options.nir) await audit(db, ctx, { action: 'patient.nir_updated', targetType: 'patient', targetId: id, microstructureId: ms.id, networkId: ms.networkId, details: { status: options.nir.row.status } });
	await afterReferral(outcome.joined);
	return { ok: true, id, code, referral: outcome.plan, joined: outcome.joined };
}

/**
 * Opens a patient record for an actor: undefined when it does not exist, belongs to another
 * microstructure, or the actor may not see it (the caller answers 404 in every case).
 * The read is audited.
 */
export async function openPatient(db: Db, ctx: AuditContext, actor: Actor, ms: MicrostructureRef, patientId: string, purpose = 'record') {
	if (!isUuid(patientId) || !can(actor, 'patient.read', { microstructure: ms })) return undefined;
	const patient = await db.selectFrom('patient').selectAll().where('id', '=', patientId).where('microstructure_id', '=', ms.id).executeTakeFirst();
	if (!patient) return undefined;
	await audit(db, ctx, { action: 'patient.read', targetType: 'patient', targetId: patient.id, microstructureId: ms.id, networkId: ms.networkId, details: { purpose } });
	return patient;
}

export type PatientFilter = {
	state?: Patient['state'] | 'actifs';
	programme?: Programme;
	renewal?: boolean;
	noFirstContact?: boolean;
	q?: string;
	/** Only the patients whose care team holds this person. */
	teamOf?: string;
};

// What the list shows, no more: every column is serialised into each row of the page.
const LIST_COLUMNS = ['id', 'code', 'last_name', 'first_name', 'programme', 'motif', 'state', 'included_on', 'renewal_due_on'] as const;
export type ListedPatient = Pick<Patient, (typeof LIST_COLUMNS)[number]>;

export async function listPatients(db: Db, ctx: AuditContext, ms: MicrostructureRef, filter: PatientFilter, today: string, limit = 200) {
	let q = db
		.selectFrom('patient')
		.select(LIST_COLUMNS)
		.where('microstructure_id', '=', ms.id);
	if (filter.state === 'actifs') q = q.where('state', 'in', ['inclus', 'en_suivi']);
	else if (filter.state) q = q.where('state', '=', filter.state);
	if (filter.programme) q = q.where('programme', '=', filter.programme);
	if (filter.renewal) q = q.where('state', 'in', ['inclus', 'en_suivi']).where('renewal_due_on', '<=', addDays(today, RENEWAL_NOTICE_DAYS));
	if (filter.noFirstContact) q = q.where('state', '=', 'inclus').where('included_on', '<=', addDays(today, -FIRST_CONTACT_DAYS));
	if (filter.teamOf) {
		const userId = filter.teamOf;
		q = q.where((eb) => eb.exists(eb.selectFrom('patient_team_member as t').select('t.user_id').whereRef('t.patient_id', '=', 'patient.id').where('t.user_id', '=', userId)));
	}
	const search = filter.q?.trim();
	if (search) {
		const escape = (v: string) => v.replace(/[\\%_]/g, (c) => `\\${c}`);
		const code = `%${escape(search.toLowerCase())}%`;
		// Names are compared folded, as the database keys them (patient_name_key): "lefevre" finds
		// "Lefèvre", "marie claire" finds "Marie-Claire", "dupont jean" finds DUPONT Jean.
		const { rows } = await sql<{ key: string | null }>`select patient_name_key(${search}) as key`.execute(db);
		const key = rows[0]?.key ?? '';
		const like = `%${escape(key)}%`;
		q = q.where((eb) =>
			eb.or([
				eb(sql`lower(code)`, 'like', code),
				...(key
					? [
							eb('last_name_key', 'like', like),
							eb('first_name_key', 'like', like),
							eb(sql`last_name_key || first_name_key`, 'like', like),
							eb(sql`first_name_key || last_name_key`, 'like', like)
						]
					: [])
			])
		);
	}
	// The read, its audit row and the microstructure's count per state in one statement (one round
	// trip, one commit): the data-modifying CTE always runs, and writes the same row audit() would,
	// counting what the list shows. The counts come as a column of the one row that always exists
	// (no patient listed: a single row of nulls beside them).
	const { rows } = await executePrepared(db, db
		.with('listed', () => q.orderBy(sql`lower(last_name)`).orderBy(sql`lower(first_name)`).limit(limit + 1))
		.with('audited', (w) =>
			w
				.insertInto('audit_event')
				.columns(['actor_id', 'ip', 'user_agent', 'action', 'target_type', 'target_id', 'microstructure_id', 'network_id', 'details'])
				.expression(
					w.selectFrom('listed').select([
						sql<string | null>`${ctx.actorId}::uuid`.as('actor_id'),
						sql<string | null>`${ctx.ip ?? null}::text`.as('ip'),
						sql<string | null>`${ctx.userAgent?.slice(0, 300) ?? null}::text`.as('user_agent'),
						sql<string>`'patient.list'`.as('action'),
						sql<string>`'microstructure'`.as('target_type'),
						sql<string>`${ms.id}::text`.as('target_id'),
						sql<string>`${ms.id}::uuid`.as('microstructure_id'),
						sql<string>`${ms.networkId}::uuid`.as('network_id'),
						sql<string>`jsonb_build_object('filter', ${JSON.stringify(filter)}::jsonb, 'count', least(count(*), ${limit}))`.as('details')
					])
				)
		)
		.with('by_state', (w) => w.selectFrom('patient').select(['state', (eb) => eb.fn.countAll<string>().as('n')]).where('microstructure_id', '=', ms.id).groupBy('state'))
		.selectFrom(
			sql<{ counts: Partial<Record<Patient['state'], number>>; microstructure: { name: string; programmes: Programme[] } | null }>`(select
				coalesce((select json_object_agg(state, n) from by_state), '{}'::json) as counts,
				(select json_build_object('name', name, 'programmes', programmes) from microstructure where id = ${ms.id} and archived_at is null) as microstructure)`.as('c')
		)
		.leftJoin('listed', (j) => j.onTrue())
		.selectAll('listed')
		.select(['c.counts', 'c.microstructure'])
		.orderBy(sql`lower(listed.last_name)`)
		.orderBy(sql`lower(listed.first_name)`));
	const counts = rows[0]?.counts ?? {};
	const patients = rows.flatMap(({ counts: _, microstructure: __, ...p }) => (p.id === null ? [] : [p as ListedPatient]));
	// The microstructure's name and programmes (null when archived), for a caller that did not read it.
	return { patients: patients.slice(0, limit), truncated: patients.length > limit, counts, microstructure: rows[0]?.microstructure ?? null };
}


/**
 * Applies a pathway step. Refused steps come back as French errors; a concurrent change (another
 * tab, another professional) is detected and refused rather than overwritten.
 */
export async function applyPathwayAction(
	db: Db,
	ctx: AuditContext & { actorId: string },
	ms: MicrostructureRef,
	patient: Patient,
	action: Action,
	today: string,
	target?: MicrostructureRef,
	options: { referTo?: ReferralPicks } = {}
): Promise<{ ok: true; newPatientId?: string; referral?: ReferralPlan; joined?: string[] } | { ok: false; error: string; field?: string }> {
	const result = applyAction(patient, action, today);
	if (!result.ok) return result;
	if (action.kind === 'transfer' && (!target || target.id === ms.id)) return { ok: false, error: 'Choisissez une autre microstructure.' };
	const outcome = await inTransaction(db, async (trx) => {
		// An inclusion (again) sets the orientation: the professionals it refers to join the team,
		// with whoever includes, if they work here.
		let referral: { plan: ReferralPlan; members: string[] } | undefined;
		if (action.kind === 'include' || action.kind === 'reinclude') {
			const team = (await trx.selectFrom('patient_team_member').select('user_id').where('patient_id', '=', patient.id).execute()).map((r) => r.user_id);
			const planned = await planReferral(trx, ms.id, action.orientation, options.referTo, team);
			if (!planned.ok) return { refused: { ok: false as const, error: fr.referral.invalid, field: `referTo_${planned.profession}` } };
			const eligible = await eligibleTeamMembers(trx, ms.id);
			referral = { plan: planned.plan, members: [...(eligible.has(ctx.actorId) && !team.includes(ctx.actorId) ? [ctx.actorId] : []), ...planned.plan.add] };
		}
		const updated = await trx
			.updateTable('patient')
			.set((eb) => ({
				...result.patch,
				updated_at: new Date(),
				version: eb('version', '+', 1),
				...(action.kind === 'include' || action.kind === 'reinclude' ? { consent_attested_by: ctx.actorId } : {})
			}))
			.where('id', '=', patient.id)
			.where('version', '=', patient.version)
			.executeTakeFirst();
		if (Number(updated.numUpdatedRows) !== 1) return null;
		await recordEvent(trx, patient.id, result.event.kind, result.event.occurred_on, ctx.actorId, result.event.details);
		if (referral) {
			const joined = await addReferred(trx, { id: patient.id, code: patient.code, microstructure_id: ms.id }, referral.members, ctx.actorId);
			return { newPatientId: undefined, referral: referral.plan, joined };
		}
		if (action.kind !== 'transfer' || !target) return { newPatientId: undefined };
		// The receiving microstructure gets its own record, already included, linked to this one.
		const copy = await trx
			.insertInto('patient')
			.values({
				microstructure_id: target.id,
				code: generatePatientCode(),
				last_name: patient.last_name,
				first_name: patient.first_name,
				birth_date: patient.birth_date,
				sex: patient.sex,
				phone: patient.phone,
				email: patient.email,
				programme: patient.programme,
				motif: patient.motif,
				orientation_origin: patient.orientation_origin,
				orientation: patient.orientation,
				medecin_traitant: patient.medecin_traitant,
				state: 'inclus',
				oriented_on: action.on,
				included_on: action.on,
				renewal_due_on: patient.renewal_due_on,
				first_contact_on: null,
				last_contact_on: null,
				exited_on: null,
				exit_reason: null,
				consent_on: patient.consent_on,
				consent_method: patient.consent_method,
				consent_attested_by: patient.consent_attested_by,
				transferred_from: patient.id,
				created_by: ctx.actorId,
				anonymised_at: null
			})
			.returning('id')
			.executeTakeFirstOrThrow();
		await recordEvent(trx, copy.id, 'transfer_in', action.on, ctx.actorId, { from: ms.id });
		return { newPatientId: copy.id };
	});
	if (!outcome) return { ok: false, error: 'Le dossier a été modifié entre-temps : rechargez la page et recommencez.' };
	if ('refused' in outcome && outcome.refused) return outcome.refused;
	await audit(db, ctx, {
		action: `patient.${action.kind}`,
		targetType: 'patient',
		targetId: patient.id,
		microstructureId: ms.id,
		networkId: ms.networkId,
		details: { on: action.on, ...(outcome.newPatientId ? { newPatientId: outcome.newPatientId } : {}), ...(outcome.joined ? { referred: outcome.joined.length } : {}) }
	});
	if (outcome.joined) await afterReferral(outcome.joined);
	return { ok: true, newPatientId: outcome.newPatientId, referral: outcome.referral, joined: outcome.joined };
}

export interface RecordUpdate {
	identity: Identity;
	motif: Motif;
	orientationOrigin: OrientationOrigin | null;
	medecinTraitant: string | null;
	insStatus: InsStatus;
	programme: Programme;
}

export async function updateRecord(db: Db, ctx: AuditContext, ms: MicrostructureRef, patient: Patient, u: RecordUpdate): Promise<{ ok: true } | { ok: false; error: string }> {
	if (u.programme !== patient.programme && (patient.state === 'sorti' || patient.state === 'transfere')) {
		return { ok: false, error: "Le programme d'un patient sorti ne peut plus changer." };
	}
	const r = await db
		.updateTable('patient')
		.set({
			last_name: u.identity.lastName,
			first_name: u.identity.firstName,
			birth_date: u.identity.birthDate,
			sex: u.identity.sex,
			phone: u.identity.phone,
			email: u.identity.email,
			motif: u.motif,
			orientation_origin: u.orientationOrigin,
			medecin_traitant: u.medecinTraitant,
			ins_status: u.insStatus,
			programme: u.programme,
			updated_at: new Date(),
			version: sql<number>`version + 1`
		})
		.where('id', '=', patient.id)
		.where('version', '=', patient.version)
		.executeTakeFirst();
	if (Number(r.numUpdatedRows) !== 1) return { ok: false, error: 'Le dossier a été modifié entre-temps : rechargez la page et recommencez.' };
	if (u.programme !== patient.programme) {
		await recordEvent(db, patient.id, 'programme_change', parisToday(), ctx.actorId, { from: patient.programme, to: u.programme });
	}
	await audit(db, ctx, { action: 'patient.updated', targetType: 'patient', targetId: patient.id, microstructureId: ms.id, networkId: ms.networkId });
	return { ok: true };
}

export async function timeline(db: Db, patientId: string) {
	return db
		.selectFrom('patient_event as e')
		.leftJoin('app_user as u', 'u.id', 'e.recorded_by')
		.select(['e.id', 'e.kind', 'e.occurred_on', 'e.recorded_at', 'e.details', 'u.first_name', 'u.last_name', 'u.profession'])
		.where('e.patient_id', '=', patientId)
		.orderBy('e.occurred_on', 'desc')
		.orderBy('e.recorded_at', 'desc')
		.execute();
}

export async function careTeam(db: Db, patientId: string) {
	const [members, partners] = await Promise.all([
		db
			.selectFrom('patient_team_member as t')
			.innerJoin('app_user as u', 'u.id', 't.user_id')
			.select(['u.id', 'u.first_name', 'u.last_name', 'u.profession'])
			.where('t.patient_id', '=', patientId)
			.orderBy('u.last_name')
			.execute(),
		db.selectFrom('patient_partner').select(['id', 'name', 'role', 'contact']).where('patient_id', '=', patientId).orderBy('name').execute()
	]);
	return { members, partners };
}

/** Who may be in a microstructure's care teams: its active clinicians and coordination. */
export async function eligibleTeamMembers(db: Db, msId: string): Promise<Set<string>> {
	const eligible = await db
		.selectFrom('membership')
		.select('user_id')
		.where('microstructure_id', '=', msId)
		.where('role', 'in', ['soignant', 'coordination'])
		.where(sql<boolean>`starts_on <= current_date and (ends_on is null or ends_on > current_date)`)
		.execute();
	return new Set(eligible.map((e) => e.user_id));
}

/**
 * Sets the care team to these members of the microstructure (others are ignored). Returns who
 * joined or left, so that their live access to the patient's PPS can be re-checked at once.
 */
export async function setCareTeam(db: Db, ctx: AuditContext, ms: MicrostructureRef, patientId: string, userIds: string[]): Promise<string[]> {
	const before = (await db.selectFrom('patient_team_member').select('user_id').where('patient_id', '=', patientId).execute()).map((r) => r.user_id);
	const allowed = await eligibleTeamMembers(db, ms.id);
	const chosen = [...new Set(userIds)].filter((id) => allowed.has(id));
	await db.transaction().execute(async (trx) => {
		await trx.deleteFrom('patient_team_member').where('patient_id', '=', patientId).execute();
		if (chosen.length) await trx.insertInto('patient_team_member').values(chosen.map((user_id) => ({ patient_id: patientId, user_id }))).execute();
	});
	await audit(db, ctx, { action: 'patient.team_changed', targetType: 'patient', targetId: patientId, microstructureId: ms.id, networkId: ms.networkId, details: { members: chosen.length } });
	return [...before.filter((id) => !chosen.includes(id)), ...chosen.filter((id) => !before.includes(id))];
}

export async function addPartner(db: Db, ctx: AuditContext, ms: MicrostructureRef, patientId: string, p: { name: string; role: string; contact: string }) {
	await db.insertInto('patient_partner').values({ patient_id: patientId, name: p.name, role: p.role, contact: p.contact }).execute();
	await audit(db, ctx, { action: 'patient.partner_added', targetType: 'patient', targetId: patientId, microstructureId: ms.id, networkId: ms.networkId });
}

export async function removePartner(db: Db, ctx: AuditContext, ms: MicrostructureRef, patientId: string, partnerId: string): Promise<boolean> {
	const r = await db.deleteFrom('patient_partner').where('id', '=', partnerId).where('patient_id', '=', patientId).executeTakeFirst();
	if (Number(r.numDeletedRows) !== 1) return false;
	await audit(db, ctx, { action: 'patient.partner_removed', targetType: 'patient', targetId: patientId, microstructureId: ms.id, networkId: ms.networkId });
	return true;
}

/** "Consulté par": who opened this record, most recent first. */
export function accessLog(db: Db, patientId: string, limit = 50) {
	return db
		.selectFrom('audit_event as a')
		.leftJoin('app_user as u', 'u.id', 'a.actor_id')
		.select(['a.id', 'a.at', 'a.action', 'u.first_name', 'u.last_name', 'u.profession'])
		.where('a.target_type', '=', 'patient')
		.where('a.target_id', '=', patientId)
		.orderBy('a.at', 'desc')
		.limit(limit)
		.execute();
}

/** The "À faire" list of an actor across the microstructures whose patients they may see. */
export async function todoForActor(db: Db, actor: Actor, microstructures: MicrostructureRef[], today: string) {
	const visible = microstructures.filter((ms) => can(actor, 'patient.read', { microstructure: ms }));
	if (visible.length === 0) return [];
	const rows = await db
		.selectFrom('patient as p')
		.leftJoin('patient_nir as n', 'n.patient_id', 'p.id')
		.select([
			'p.id',
			'p.code',
			'p.microstructure_id',
			'p.state',
			'p.included_on',
			'p.renewal_due_on',
			'p.last_contact_on',
			'p.consent_method',
			'n.status as nir_status',
			(eb) => eb.exists(eb.selectFrom('consent_document as d').select('d.id').whereRef('d.patient_id', '=', 'p.id')).as('has_consent_document'),
			noShowToFollowUp('p.id').as('no_show_on')
		])
		.where('p.microstructure_id', 'in', visible.map((m) => m.id))
		.where('p.state', 'in', ['inclus', 'en_suivi'])
		.execute();
	const billing = new Set(visible.filter((ms) => can(actor, 'patient.nir', { microstructure: ms })).map((m) => m.id));
	return todoItems(rows as TodoRow[], today, { billing: (id) => billing.has(id) });
}

/** Everything we hold about a patient, for a right-of-access request (the NIR is excluded). */
export async function exportPatient(db: Db, patient: Patient) {
	const [events, team, nir, documents, thread] = await Promise.all([
		timeline(db, patient.id),
		careTeam(db, patient.id),
		db.selectFrom('patient_nir').select(['status', 'updated_at']).where('patient_id', '=', patient.id).executeTakeFirst(),
		db.selectFrom('consent_document').select(['filename', 'content_type', 'uploaded_at']).where('patient_id', '=', patient.id).execute(),
		threadForExport(db, patient.id)
	]);
	return {
		exported_at: new Date().toISOString(),
		patient,
		nir: nir ? { status: nir.status, note: 'Le NIR lui-même est communiqué sur demande auprès de la coordination administrative.' } : null,
		consent_documents: documents,
		care_team: team,
		timeline: events.map((e) => ({ kind: e.kind, occurred_on: e.occurred_on, recorded_at: e.recorded_at, recorded_by: e.first_name ? `${e.first_name} ${e.last_name}` : null, details: e.details })),
		messages: thread
	};
}

/**
 * The patient's thread, in order, for the RGPD export: who wrote, when, the text, whether it was
 * corrected or deleted (a deleted message's text is gone from the thread, kept only in the audit
 * trail), and the names of the files attached (the files themselves on request).
 */
async function threadForExport(db: Db, patientId: string) {
	const rows = await db
		.selectFrom('message as m')
		.innerJoin('conversation as c', 'c.id', 'm.conversation_id')
		.innerJoin('app_user as u', 'u.id', 'm.sender_id')
		.select([
			'm.seq',
			'm.created_at',
			'm.body',
			'm.link',
			'm.edited_at',
			'm.deleted_at',
			'u.first_name',
			'u.last_name',
			sql<string[]>`coalesce((select array_agg(a.filename order by a.created_at) from message_attachment a where a.message_id = m.id), '{}')`.as('attachments')
		])
		.where('c.kind', '=', 'patient')
		.where('c.patient_id', '=', patientId)
		.orderBy('m.seq')
		.execute();
	return rows.map((m) => ({
		sent_at: m.created_at,
		sender: `${m.first_name} ${m.last_name}`,
		text: m.deleted_at ? '' : m.body,
		shared_link: m.deleted_at ? null : m.link,
		edited_at: m.edited_at,
		deleted_at: m.deleted_at,
		attachments: m.attachments
	}));
}

/**
 * RGPD erasure within legal retention: the medical record must be kept (20 years in France), so a
 * patient who has left is anonymised instead — identity, contact details, NIR and consent scans
 * removed, the pseudonymous code, dates and pathway kept for indicators and billing history. The
 * patient's message thread is erased (the audit keeps that it was, and how many messages).
 */
export async function anonymisePatient(db: Db, ctx: AuditContext, ms: MicrostructureRef, patient: Patient): Promise<{ ok: true } | { ok: false; error: string }> {
	if (patient.state !== 'sorti' && patient.state !== 'transfere') return { ok: false, error: "Seul le dossier d'un patient sorti peut être anonymisé." };
	if (patient.anonymised_at) return { ok: false, error: 'Ce dossier est déjà anonymisé.' };
	let messagesErased = 0;
	await db.transaction().execute(async (trx) => {
		await trx
			.updateTable('patient')
			.set({
				last_name: null,
				first_name: null,
				birth_date: patient.birth_date ? `${patient.birth_date.slice(0, 4)}-01-01` : null,
				phone: null,
				email: null,
				medecin_traitant: null,
				anonymised_at: new Date(),
				updated_at: new Date(),
				version: sql<number>`version + 1`
			})
			.where('id', '=', patient.id)
			.execute();
		await trx.deleteFrom('patient_nir').where('patient_id', '=', patient.id).execute();
		await trx.deleteFrom('consent_document').where('patient_id', '=', patient.id).execute();
		await trx.deleteFrom('patient_partner').where('patient_id', '=', patient.id).execute();
		// The care plan is free text about the person: its live document and versions go too.
		await trx.deleteFrom('pps_version').where('patient_id', '=', patient.id).execute();
		await trx.deleteFrom('pps').where('patient_id', '=', patient.id).execute();
		await trx.deleteFrom('yjs_update').where('doc_name', '=', `pps:${patient.id}`).execute();
		// The patient's thread speaks of the person by name throughout: the conversation goes, and
		// with it (on delete cascade) its messages, attachments and read positions.
		const thread = await trx.selectFrom('conversation').select('id').where('kind', '=', 'patient').where('patient_id', '=', patient.id).executeTakeFirst();
		if (thread) {
			const counted = await trx.selectFrom('message').select(sql<string>`count(*)`.as('n')).where('conversation_id', '=', thread.id).executeTakeFirstOrThrow();
			messagesErased = Number(counted.n);
			await trx.deleteFrom('conversation').where('id', '=', thread.id).execute();
		}
		await recordEvent(trx, patient.id, 'anonymised', parisToday(), ctx.actorId);
	});
	await audit(db, ctx, { action: 'patient.anonymised', targetType: 'patient', targetId: patient.id, microstructureId: ms.id, networkId: ms.networkId, details: { messagesErased } });
	return { ok: true };
}

export async function addConsentDocument(db: Db, ctx: AuditContext, ms: MicrostructureRef, patientId: string, file: { name: string; type: string; bytes: Uint8Array }) {
	await db.insertInto('consent_document').values({ patient_id: patientId, filename: file.name.slice(0, 200), content_type: file.type, content: file.bytes, uploaded_by: ctx.actorId }).execute();
	await recordEvent(db, patientId, 'consent_document', parisToday(), ctx.actorId, { filename: file.name.slice(0, 200) });
	await audit(db, ctx, { action: 'patient.consent_uploaded', targetType: 'patient', targetId: patientId, microstructureId: ms.id, networkId: ms.networkId });
}
