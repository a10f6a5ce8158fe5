// ~200 demo patients across the demo microstructures, in every state of the pathway, with dates
// relative to today so that the "À faire" list and the file-active filters always have content.
// Built through the lifecycle functions, so the demo obeys the same rules as real data; each care
// team follows the orientation (care-team.ts): the GP who included, plus the professionals the
// patient is referred to.
import type { Db } from '../db/index.ts';
import type { Motif, Orientation, Programme } from '../db/schema.ts';
import { addDays, applyAction, parisToday, startPathway, type Pathway } from '../patients/lifecycle.ts';
import { applyPathwayAction, generatePatientCode } from '../patients/patients.ts';
import { encryptNir, loadNirKeys, nirKey, type NirKeys } from '../patients/nir.ts';
import { professionalsForOrientation } from '../patients/care-team.ts';
import { addReferred } from '../patients/referral.ts';
import { parisInstant } from '../rcp/schedule.ts';

const FIRST = {
	F: ['Marie', 'Nathalie', 'Isabelle', 'Sylvie', 'Sandrine', 'Céline', 'Aurélie', 'Julie', 'Fatima', 'Laetitia', 'Chantal', 'Mélanie', 'Karima', 'Estelle', 'Odile', 'Brigitte'],
	M: ['Jean', 'Philippe', 'Michel', 'Alain', 'Patrick', 'Nicolas', 'Christophe', 'Pierre', 'Mohamed', 'Stéphane', 'David', 'Frédéric', 'Yannick', 'Gérard', 'Mehdi', 'Loïc']
};
const LAST = ['Martin', 'Bernard', 'Dubois', 'Thomas', 'Robert', 'Richard', 'Petit', 'Durand', 'Leroy', 'Moreau', 'Simon', 'Laurent', 'Lefèvre', 'Michel', 'Garcia', 'David', 'Bertrand', 'Roux', 'Vincent', 'Fournier', 'Morel', 'Girard', 'André', 'Mercier', 'Dupont', 'Lambert', 'Bonnet', 'François', 'Martinez', 'Legrand', 'Garnier', 'Faure', 'Rousseau', 'Blanc', 'Guerin', 'Muller', 'Henry', 'Roussel', 'Nicolas', 'Perrin', 'Morin', 'Mathieu', 'Clement', 'Gauthier', 'Dumont', 'Lopez', 'Fontaine', 'Chevalier', 'Robin', 'Masson'];

/** A small deterministic generator: the same demo on every machine. */
export function prng(seed: number) {
	let s = seed >>> 0;
	return () => {
		s = (s * 1664525 + 1013904223) >>> 0;
		return s / 2 ** 32;
	};
}

/** When a step of a demo patient's history was recorded: that day, in the morning, never later than now. */
export function recordedOn(day: string, k = 0): Date {
	const at = new Date(parisInstant(day, '09:00').getTime() + k * 60_000);
	return at.getTime() > Date.now() ? new Date() : at;
}

type Scenario = 'oriente' | 'inclus_recent' | 'inclus_sans_contact' | 'en_suivi' | 'renouvellement_proche' | 'renouvellement_depasse' | 'perdu_de_vue' | 'sorti';
const SCENARIOS: [Scenario, number][] = [
	['oriente', 3],
	['inclus_recent', 4],
	['inclus_sans_contact', 2],
	['en_suivi', 13],
	['renouvellement_proche', 3],
	['renouvellement_depasse', 2],
	['perdu_de_vue', 2],
	['sorti', 5]
];

export async function seedDemoPatients(
	db: Db,
	/** `gps`: the microstructure's GPs, who include its patients. */
	microstructures: { id: string; networkId: string; programmes: Programme[]; department: string; gps: string[] }[],
	today = parisToday()
): Promise<number> {
	let keys: NirKeys | null = null;
	try {
		keys = loadNirKeys();
	} catch {
		keys = null; // no key configured for this database: statuses without numbers only
	}
	const rand = prng(20261124);
	const pick = <T>(list: readonly T[]) => list[Math.floor(rand() * list.length)];
	// The orientation rule, asked once per microstructure and orientation.
	const referred = new Map<string, Promise<string[]>>();
	const careTeam = (msId: string, includedBy: string, orientation: Orientation | null) => {
		if (!orientation) return Promise.resolve([includedBy]);
		const key = `${msId}:${orientation}`;
		if (!referred.has(key)) referred.set(key, professionalsForOrientation(db, msId, orientation, today).then((ps) => ps.map((p) => p.id)));
		return referred.get(key)!.then((ids) => [...new Set([includedBy, ...ids])]);
	};
	let count = 0;
	for (const ms of microstructures) {
		for (const [scenario, n] of SCENARIOS) {
			for (let i = 0; i < n; i++) {
				const sex = rand() < 0.38 ? 'F' : 'M';
				const birth = addDays('1950-01-01', Math.floor(rand() * 365 * 50));
				const motif: Motif = rand() < 0.7 ? 'addiction' : rand() < 0.6 ? 'precarite' : 'sante_mentale';
				const orientation: Orientation = pick(['psychologue', 'travailleur_social', 'les_deux', 'les_deux'] as const);
				const programme = ms.programmes.length > 1 && rand() < 0.35 ? ms.programmes[1] : ms.programmes[0];
				const author = pick(ms.gps);
				const events: { kind: string; occurred_on: string; details: Record<string, unknown> }[] = [];
				let p: Pathway;
				const step = (action: Parameters<typeof applyAction>[1]) => {
					const r = applyAction(p, action, today);
					if (!r.ok) throw new Error(`demo: ${r.error}`);
					p = { ...p, ...r.patch };
					events.push(r.event);
				};
				// How long ago the inclusion took place, per scenario (days).
				const ago: Record<Scenario, number> = {
					oriente: 5 + Math.floor(rand() * 20),
					inclus_recent: 2 + Math.floor(rand() * 20),
					inclus_sans_contact: 35 + Math.floor(rand() * 30),
					en_suivi: 60 + Math.floor(rand() * 250),
					renouvellement_proche: 340 + Math.floor(rand() * 20),
					renouvellement_depasse: 370 + Math.floor(rand() * 40),
					perdu_de_vue: 150 + Math.floor(rand() * 100),
					sorti: 200 + Math.floor(rand() * 300)
				};
				const includedOn = addDays(today, -ago[scenario]);
				const orientedOn = addDays(includedOn, -Math.floor(rand() * 10));
				const start = startPathway({ kind: 'orient', on: orientedOn }, today);
				if (!start.ok) throw new Error(start.error);
				p = start.pathway;
				events.push(start.event);
				if (scenario !== 'oriente') {
					const method = rand() < 0.75 ? 'oral_atteste' : 'formulaire_signe';
					step({ kind: 'include', on: includedOn, orientation, consent: { on: includedOn, method } });
					if (scenario !== 'inclus_recent' && scenario !== 'inclus_sans_contact') {
						const first = addDays(includedOn, 7 + Math.floor(rand() * 20));
						step({ kind: 'first_contact', on: first });
						// Sortis stopped coming well before today.
						const lastContact = scenario === 'perdu_de_vue' ? addDays(first, 10) : scenario === 'sorti' ? addDays(first, 60) : addDays(today, -Math.floor(rand() * 40));
						if (lastContact > first) step({ kind: 'contact', on: lastContact });
						if (scenario === 'sorti') {
							const reason = pick(['amelioration', 'amelioration', 'souhait_patient', 'reorientation', 'perdu_de_vue', 'demenagement'] as const);
							const exitOn = addDays(p.last_contact_on!, 15);
							step({ kind: 'exit', on: exitOn < today ? exitOn : today, reason });
						}
					}
				}
				const { id, code } = await db
					.insertInto('patient')
					.values({
						microstructure_id: ms.id,
						code: generatePatientCode(),
						last_name: pick(LAST),
						first_name: pick(FIRST[sex]),
						birth_date: birth,
						sex,
						phone: `06 ${String(Math.floor(rand() * 1e8)).padStart(8, '0').replace(/(\d{2})(?=\d)/g, '$1 ')}`,
						email: null,
						programme,
						motif,
						orientation_origin: pick(['medecin_ms', 'medecin_ms', 'medecin_ms', 'csapa', 'autre_medecin', 'hopital'] as const),
						medecin_traitant: null,
						...p!,
						consent_attested_by: p!.consent_on ? author : null,
						transferred_from: null,
						created_by: author,
						anonymised_at: null
					})
					.returning(['id', 'code'])
					.executeTakeFirstOrThrow();
				// The timeline as recordEvent writes it, in one statement, each step recorded on its day
				// (the home page's "recently changed" reads when things were recorded).
				await db
					.insertInto('patient_event')
					.values(events.map((e, k) => ({ patient_id: id, kind: e.kind, occurred_on: e.occurred_on, recorded_by: author, recorded_at: recordedOn(e.occurred_on, k), details: JSON.stringify(e.details) })))
					.execute();
				const team = await careTeam(ms.id, author, p!.orientation);
				if (scenario === 'inclus_recent') {
					// Included in the last weeks: the referral went through the real path, so the
					// psychologist and the social worker got their "Nouvelle orientation" (read after a week).
					await db.insertInto('patient_team_member').values({ patient_id: id, user_id: author }).execute();
					await addReferred(db, { id, code, microstructure_id: ms.id }, team.slice(1), author);
					const sent = recordedOn(includedOn, 10);
					await db
						.updateTable('notification')
						.set({ created_at: sent, read_at: includedOn < addDays(today, -7) ? new Date(sent.getTime() + 86400_000) : null })
						.where('kind', '=', 'orientation')
						.where('link', '=', `/ms/${ms.id}/patients/${id}`)
						.execute();
				} else {
					await db.insertInto('patient_team_member').values(team.map((user_id) => ({ patient_id: id, user_id }))).execute();
				}
				if (p!.state !== 'oriente') {
					const roll = rand();
					if (roll < 0.6 && keys) {
						const number = `${sex === 'F' ? 2 : 1}${birth.slice(2, 4)}${birth.slice(5, 7)}${ms.department}${String(Math.floor(rand() * 900) + 100)}${String(Math.floor(rand() * 900) + 100)}`;
						const nir = number + String(nirKey(number)).padStart(2, '0');
						const enc = encryptNir(nir, keys);
						await db.insertInto('patient_nir').values({ patient_id: id, status: 'fourni', ciphertext: enc.ciphertext, key_id: enc.keyId, updated_by: null }).execute();
					} else if (roll < 0.7) {
						await db.insertInto('patient_nir').values({ patient_id: id, status: 'refuse', ciphertext: null, key_id: null, updated_by: null }).execute();
					} else if (roll < 0.75) {
						await db.insertInto('patient_nir').values({ patient_id: id, status: 'regime_particulier', ciphertext: null, key_id: null, updated_by: null }).execute();
					}
				}
				count++;
			}
		}
	}
	// A few transfers between microstructures of the same network, so that every state is shown.
	for (const [from, to] of [[0, 1], [3, 4]] as const) {
		const source = microstructures[from];
		const target = microstructures[to];
		if (!source || !target || source.networkId !== target.networkId) continue;
		const patient = await db
			.selectFrom('patient')
			.selectAll()
			.where('microstructure_id', '=', source.id)
			.where('state', '=', 'en_suivi')
			.where('programme', 'in', target.programmes)
			.orderBy('code')
			.limit(1)
			.executeTakeFirst();
		if (!patient) continue;
		const on = patient.last_contact_on && patient.last_contact_on > addDays(today, -10) ? patient.last_contact_on : addDays(today, -10);
		const moved = await applyPathwayAction(
			db,
			{ actorId: source.gps[0] },
			{ id: source.id, networkId: source.networkId },
			patient,
			{ kind: 'transfer', on: on > today ? today : on, toMicrostructureId: target.id },
			today,
			{ id: target.id, networkId: target.networkId }
		);
		// The receiving microstructure's record starts with its own team: one of its GPs and the
		// professionals the orientation refers the patient to there.
		if (moved.ok && moved.newPatientId) {
			await db
				.updateTable('patient_event')
				.set({ recorded_at: recordedOn(on > today ? today : on, 30) })
				.where('patient_id', 'in', [patient.id, moved.newPatientId])
				.where('kind', 'in', ['transfer', 'transfer_in'])
				.execute();
			const team = await careTeam(target.id, target.gps[0], patient.orientation);
			await db.insertInto('patient_team_member').values(team.map((user_id) => ({ patient_id: moved.newPatientId!, user_id }))).execute();
		}
		count++;
	}
	return count;
}
